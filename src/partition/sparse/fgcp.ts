import type { CsrMatrix } from '../../model/index.ts';
import { csrNnz } from '../../model/index.ts';
import type { FcWorkerSlice } from './fcSlice.ts';
import { minimumVertexCover } from './vertexCover.ts';

/** FGCP's result: the worker slices and what the cross entries cost. */
export interface FgcpResult {
  readonly workers: FcWorkerSlice[];
  /** Nonzeros whose input and output belong to different devices. */
  readonly crossCount: number;
  /** Values sent beyond each device's own inputs and outputs: Σ over ordered pairs of the minimum cover. */
  readonly extraValues: number;
  /** Minimum cover size per ordered pair "a→b" with cross entries. */
  readonly coverByPair: ReadonlyMap<string, number>;
}

interface Entry {
  readonly row: number;
  readonly col: number;
  readonly value: number;
}

/**
 * FGCP — Fine-Grain Cross Partition (ALGORITHMS.md §6, [ours]). Given row and column owners, every
 * cross nonzero (input i of device a, output j of device b ≠ a) is covered either by sending x_i
 * to b, or by a returning a partial sum for output j. For each ordered pair (a, b) the cheapest
 * choice is a minimum vertex cover of its cross edges (König, Hopcroft–Karp). Each nonzero is then
 * computed exactly once: by a when its output is in a's cover, else by b.
 *
 * @param rowOwner device per input row (−1 for rows without nonzeros).
 * @param colOwner device per output column.
 */
export function fgcp(matrix: CsrMatrix, rowOwner: Int32Array, colOwner: Int32Array, devices: number): FgcpResult {
  const crossByPair = new Map<number, Entry[]>();
  const computedBy: Entry[][] = Array.from({ length: devices }, () => []);
  let crossCount = 0;
  for (let r = 0; r < matrix.rows; r++) {
    for (let t = matrix.rowPtr[r] as number; t < (matrix.rowPtr[r + 1] as number); t++) {
      const entry = { row: r, col: matrix.colIdx[t] as number, value: matrix.values[t] as number };
      const a = rowOwner[r] as number;
      const b = colOwner[entry.col] as number;
      if (a === b) {
        computedBy[b]?.push(entry);
        continue;
      }
      crossCount++;
      const key = a * devices + b;
      const list = crossByPair.get(key);
      if (list === undefined) crossByPair.set(key, [entry]);
      else list.push(entry);
    }
  }

  let extraValues = 0;
  const coverByPair = new Map<string, number>();
  for (const key of [...crossByPair.keys()].sort((x, y) => x - y)) {
    const entries = crossByPair.get(key) as Entry[];
    const a = Math.floor(key / devices);
    const b = key % devices;
    const leftIds = new Map<number, number>();
    const rightIds = new Map<number, number>();
    for (const { row, col } of entries) {
      if (!leftIds.has(row)) leftIds.set(row, leftIds.size);
      if (!rightIds.has(col)) rightIds.set(col, rightIds.size);
    }
    const adjacency: number[][] = Array.from({ length: leftIds.size }, () => []);
    for (const { row, col } of entries) adjacency[leftIds.get(row) as number]?.push(rightIds.get(col) as number);
    const cover = minimumVertexCover({ leftCount: leftIds.size, rightCount: rightIds.size, adjacency });
    extraValues += cover.size;
    coverByPair.set(`${a}→${b}`, cover.size);
    for (const entry of entries) {
      // Output in the cover: a returns a partial sum for it. Otherwise x_i (in the cover) goes to b.
      const partialByA = cover.right[rightIds.get(entry.col) as number] === 1;
      computedBy[partialByA ? a : b]?.push(entry);
    }
  }
  const workers = computedBy.map((entries, device) => localSlice(device, entries));
  return { workers, crossCount, extraValues, coverByPair };
}

/** Packs a device's entries into a local CSR over its own sorted input and output index lists. */
export function localSlice(device: number, entries: readonly Entry[]): FcWorkerSlice {
  const inputIndex = Int32Array.from(new Set(entries.map((e) => e.row))).sort();
  const outputIndex = Int32Array.from(new Set(entries.map((e) => e.col))).sort();
  const localRow = new Map<number, number>();
  inputIndex.forEach((row, i) => localRow.set(row, i));
  const localCol = new Map<number, number>();
  outputIndex.forEach((col, j) => localCol.set(col, j));
  const sorted = entries
    .map((e) => ({ row: localRow.get(e.row) as number, col: localCol.get(e.col) as number, value: e.value }))
    .sort((x, y) => x.row - y.row || x.col - y.col);
  const rowPtr = new Int32Array(inputIndex.length + 1);
  for (const e of sorted) rowPtr[e.row + 1] = (rowPtr[e.row + 1] as number) + 1;
  for (let r = 0; r < inputIndex.length; r++) rowPtr[r + 1] = (rowPtr[r + 1] as number) + (rowPtr[r] as number);
  return {
    device,
    inputIndex,
    outputIndex,
    weights: {
      rows: inputIndex.length,
      cols: outputIndex.length,
      rowPtr,
      colIdx: Int32Array.from(sorted, (e) => e.col),
      values: Float32Array.from(sorted, (e) => e.value),
    },
  };
}

/** Every nonzero of `matrix` as an entry (row-major). */
export function entriesOf(matrix: CsrMatrix): Entry[] {
  const entries: Entry[] = [];
  for (let r = 0; r < matrix.rows; r++) {
    for (let t = matrix.rowPtr[r] as number; t < (matrix.rowPtr[r + 1] as number); t++) {
      entries.push({ row: r, col: matrix.colIdx[t] as number, value: matrix.values[t] as number });
    }
  }
  return entries.length === csrNnz(matrix) ? entries : [];
}
