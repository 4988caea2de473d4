import type { CsrMatrix } from '../../model/index.ts';
import { csrNnz } from '../../model/index.ts';
import type { FcWorkerSlice } from './fcSlice.ts';
import { minimumVertexCover } from './vertexCover.ts';
import { slicesFromAssignment } from './workerSlices.ts';

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
  const { rows, cols, rowPtr, colIdx } = matrix;
  const nnz = csrNnz(matrix);
  const deviceOfNonzero = new Int32Array(nnz);
  // Cross nonzeros grouped by ordered pair (a, b), as nonzero indices.
  const pairOf = new Int32Array(nnz).fill(-1);
  const pairSizes = new Int32Array(devices * devices);
  let crossCount = 0;
  for (let r = 0; r < rows; r++) {
    const a = rowOwner[r] as number;
    for (let t = rowPtr[r] as number; t < (rowPtr[r + 1] as number); t++) {
      const b = colOwner[colIdx[t] as number] as number;
      deviceOfNonzero[t] = b;
      if (a === b) continue;
      crossCount++;
      pairOf[t] = a * devices + b;
      pairSizes[a * devices + b] = (pairSizes[a * devices + b] as number) + 1;
    }
  }
  const pairStart = new Int32Array(devices * devices + 1);
  for (let p = 0; p < devices * devices; p++) pairStart[p + 1] = (pairStart[p] as number) + (pairSizes[p] as number);
  const pairCursor = pairStart.slice(0, devices * devices);
  const pairEntries = new Int32Array(crossCount);
  const rowOfNonzero = new Int32Array(nnz);
  for (let r = 0; r < rows; r++) {
    for (let t = rowPtr[r] as number; t < (rowPtr[r + 1] as number); t++) {
      rowOfNonzero[t] = r;
      const p = pairOf[t] as number;
      if (p < 0) continue;
      pairEntries[pairCursor[p] as number] = t;
      pairCursor[p] = (pairCursor[p] as number) + 1;
    }
  }

  let extraValues = 0;
  const coverByPair = new Map<string, number>();
  const leftId = new Int32Array(rows).fill(-1);
  const rightId = new Int32Array(cols).fill(-1);
  for (let p = 0; p < devices * devices; p++) {
    const start = pairStart[p] as number;
    const end = pairStart[p + 1] as number;
    if (end === start) continue;
    const a = Math.floor(p / devices);
    const b = p % devices;
    const leftRows: number[] = [];
    const rightCols: number[] = [];
    const adjacency: number[][] = [];
    for (let e = start; e < end; e++) {
      const t = pairEntries[e] as number;
      const r = rowOfNonzero[t] as number;
      const c = colIdx[t] as number;
      if (leftId[r] === -1) {
        leftId[r] = leftRows.length;
        leftRows.push(r);
        adjacency.push([]);
      }
      if (rightId[c] === -1) {
        rightId[c] = rightCols.length;
        rightCols.push(c);
      }
      adjacency[leftId[r] as number]?.push(rightId[c] as number);
    }
    const cover = minimumVertexCover({ leftCount: leftRows.length, rightCount: rightCols.length, adjacency });
    extraValues += cover.size;
    coverByPair.set(`${a}→${b}`, cover.size);
    for (let e = start; e < end; e++) {
      const t = pairEntries[e] as number;
      // Output in the cover: a returns a partial sum for it. Otherwise x_i (in the cover) goes to b.
      if (cover.right[rightId[colIdx[t] as number] as number] === 1) deviceOfNonzero[t] = a;
    }
    for (const r of leftRows) leftId[r] = -1;
    for (const c of rightCols) rightId[c] = -1;
  }
  return { workers: slicesFromAssignment(matrix, deviceOfNonzero, devices), crossCount, extraValues, coverByPair };
}
