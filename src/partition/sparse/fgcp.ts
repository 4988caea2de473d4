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
  /** Values added by load balancing (0 without capacities). */
  readonly balanceExtraValues: number;
}

/**
 * FGCP — Fine-Grain Cross Partition (ALGORITHMS.md §6, [ours]). Given row and column owners, every
 * cross nonzero (input i of device a, output j of device b ≠ a) is covered either by sending x_i
 * to b, or by a returning a partial sum for output j. For each ordered pair (a, b) the cheapest
 * choice is a minimum vertex cover of its cross edges (König, Hopcroft–Karp). Each nonzero is then
 * computed exactly once: by a when its output is in a's cover, else by b.
 *
 * Covers ignore load: with dense cross graphs the cover is mostly output columns, so the input's
 * owner computes most cross entries. With `capacities`, an overloaded device then hands whole
 * (input row, destination) groups of its partial-sum entries to the output's owner, cheapest
 * first — free when x_i already goes there, one value otherwise — until it fits (see
 * `balanceLoads`).
 *
 * @param rowOwner device per input row (−1 for rows without nonzeros).
 * @param colOwner device per output column.
 * @param capacities optional per-device cap on computed nonzeros.
 */
export function fgcp(matrix: CsrMatrix, rowOwner: Int32Array, colOwner: Int32Array, devices: number, capacities?: readonly number[]): FgcpResult {
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
  /** (row · devices + device) pairs whose x_row is already sent to the device. */
  const sentTo = new Set<number>();
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
    leftRows.forEach((r, u) => { if (cover.left[u] === 1) sentTo.add(r * devices + b); });
    for (const r of leftRows) leftId[r] = -1;
    for (const c of rightCols) rightId[c] = -1;
  }
  const balanceExtraValues = capacities === undefined
    ? 0
    : balanceLoads({ matrix, rowOfNonzero, rowOwner, colOwner, deviceOfNonzero, pairEntries, sentTo, devices, capacities });
  return { workers: slicesFromAssignment(matrix, deviceOfNonzero, devices), crossCount, extraValues, coverByPair, balanceExtraValues };
}

interface BalanceInput {
  readonly matrix: CsrMatrix;
  readonly rowOfNonzero: Int32Array;
  readonly rowOwner: Int32Array;
  readonly colOwner: Int32Array;
  readonly deviceOfNonzero: Int32Array;
  readonly pairEntries: Int32Array;
  readonly sentTo: Set<number>;
  readonly devices: number;
  readonly capacities: readonly number[];
}

/**
 * Moves partial-sum work off overloaded devices: a group is the cross entries of one input row i
 * (owned by a) whose outputs belong to one device b and which a computes; giving the group to b
 * costs one value (x_i) unless x_i already goes to b. Cheapest, then largest groups first, while
 * a is over capacity and b has room. Returns the values added.
 */
function balanceLoads(input: BalanceInput): number {
  const { matrix, rowOfNonzero, colOwner, deviceOfNonzero, pairEntries, sentTo, devices, capacities } = input;
  const loads = new Float64Array(devices);
  deviceOfNonzero.forEach((d) => { loads[d] = (loads[d] as number) + 1; });
  const groups = new Map<number, number[]>();
  for (const t of pairEntries) {
    const a = deviceOfNonzero[t] as number;
    const b = colOwner[matrix.colIdx[t] as number] as number;
    if (a === b) continue;
    const key = (rowOfNonzero[t] as number) * devices + b;
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [t]);
    else list.push(t);
  }
  const ordered = [...groups.entries()]
    .map(([key, entries]) => ({ key, entries, cost: sentTo.has(key) ? 0 : 1 }))
    .sort((x, y) => x.cost - y.cost || y.entries.length - x.entries.length || x.key - y.key);
  let added = 0;
  for (const group of ordered) {
    const first = group.entries[0] as number;
    const a = deviceOfNonzero[first] as number;
    const b = group.key % devices;
    const size = group.entries.length;
    if ((loads[a] as number) <= (capacities[a] as number) || (loads[b] as number) + size > (capacities[b] as number)) continue;
    for (const t of group.entries) deviceOfNonzero[t] = b;
    loads[a] = (loads[a] as number) - size;
    loads[b] = (loads[b] as number) + size;
    if (group.cost === 1) {
      sentTo.add(group.key);
      added++;
    }
  }
  return added;
}
