import type { Padding2d } from '../model/index.ts';

/** An inclusive index range [start, end] along one axis; empty when end < start. */
export interface Range {
  readonly start: number;
  readonly end: number;
}

/** A rectangle of rows × columns of a feature map, both inclusive. */
export interface Rect {
  readonly rows: Range;
  readonly cols: Range;
}

/** The input range an output range needs along one axis, clamped to the map, plus border padding. */
export interface AxisProjection {
  /** Rows (or columns) of the real input, clamped to [0, inputSize − 1]; may be empty. */
  readonly range: Range;
  /** Padding cells before `range`: they lie outside the map, at its true border. */
  readonly padBefore: number;
  /** Padding cells after `range`. */
  readonly padAfter: number;
}

/** Window parameters along one axis: kernel taps, stride, dilation and leading padding (elements). */
export interface AxisWindow {
  readonly kernel: number;
  readonly stride: number;
  readonly dilation: number;
  readonly padBefore: number;
}

export function rangeLength(range: Range): number {
  return Math.max(0, range.end - range.start + 1);
}

export function rectArea(rect: Rect): number {
  return rangeLength(rect.rows) * rangeLength(rect.cols);
}

/** The smallest range containing both (an empty range is the identity). */
export function rangeHull(a: Range, b: Range): Range {
  if (rangeLength(a) === 0) return b;
  if (rangeLength(b) === 0) return a;
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

export function rectHull(a: Rect, b: Rect): Rect {
  if (rectArea(a) === 0) return b;
  if (rectArea(b) === 0) return a;
  return { rows: rangeHull(a.rows, b.rows), cols: rangeHull(a.cols, b.cols) };
}

/**
 * Back-projects an output range through a window op (ALGORITHMS.md §3):
 * i1 = o1·S − p, i2 = o2·S − p + D·(K − 1), then clamps to [0, inputSize − 1]; what falls outside
 * is the true border padding of this slice. An empty output range needs nothing.
 */
export function backProjectAxis(output: Range, window: AxisWindow, inputSize: number): AxisProjection {
  if (rangeLength(output) === 0) return { range: { start: 0, end: -1 }, padBefore: 0, padAfter: 0 };
  const first = output.start * window.stride - window.padBefore;
  const last = output.end * window.stride - window.padBefore + window.dilation * (window.kernel - 1);
  if (last < 0 || first > inputSize - 1) {
    // The whole window lies in the padding (possible only for zero-padding layers).
    const span = last - first + 1;
    return last < 0
      ? { range: { start: 0, end: -1 }, padBefore: span, padAfter: 0 }
      : { range: { start: inputSize, end: inputSize - 1 }, padBefore: 0, padAfter: span };
  }
  const start = Math.max(0, first);
  const end = Math.min(inputSize - 1, last);
  return { range: { start, end }, padBefore: start - first, padAfter: last - end };
}

/** Padding of a slice from its two axis projections. */
export function sliceBorderPadding(rows: AxisProjection, cols: AxisProjection): Padding2d {
  return { top: rows.padBefore, bottom: rows.padAfter, left: cols.padBefore, right: cols.padAfter };
}
