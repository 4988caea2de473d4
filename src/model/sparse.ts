import { modelAssert } from './errors.ts';
import type { GraphNode } from './graph.ts';
import { mulberry32Step } from './rng.ts';

/**
 * A sparse matrix in compressed sparse row form. A Dense kernel `W` is `rows = n_in` ×
 * `cols = n_out` (TF.js layout, `y = x · W`); its transpose in CSR is the CSC form of `W`.
 * Column indices within a row are strictly increasing.
 */
export interface CsrMatrix {
  readonly rows: number;
  readonly cols: number;
  /** rows + 1 offsets into colIdx/values. */
  readonly rowPtr: Int32Array;
  readonly colIdx: Int32Array;
  readonly values: Float32Array;
}

/** Number of stored nonzeros. */
export function csrNnz(matrix: CsrMatrix): number {
  return matrix.rowPtr[matrix.rows] ?? 0;
}

/** A pruned Dense layer's kernel, when `node` is a Dense layer whose kernel `sparse` holds. */
export function prunedKernelOf(node: GraphNode, sparse: ReadonlyMap<string, CsrMatrix> | undefined): CsrMatrix | undefined {
  const kernel = node.weights[0];
  return node.attrs.op === 'dense' && kernel !== undefined ? sparse?.get(kernel.name) : undefined;
}

/** A node's FLOPs, a pruned Dense layer's at 2·nnz rather than 2·n_in·n_out. */
export function nodeFlopsWith(node: GraphNode, sparse: ReadonlyMap<string, CsrMatrix> | undefined): number {
  const kernel = prunedKernelOf(node, sparse);
  return kernel === undefined ? node.flops : 2 * csrNnz(kernel);
}

/** Builds a CSR matrix from a row-major dense array, keeping entries with |v| > 0. */
export function csrFromDense(dense: ArrayLike<number>, rows: number, cols: number): CsrMatrix {
  modelAssert(dense.length === rows * cols, 'ERR_MODEL_ARGUMENT', () =>
    `csrFromDense: ${dense.length} values for a ${rows}×${cols} matrix`);
  const rowPtr = new Int32Array(rows + 1);
  let nnz = 0;
  for (let i = 0; i < dense.length; i++) if (dense[i] !== 0) nnz++;
  const colIdx = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = dense[r * cols + c] as number;
      if (v !== 0) {
        colIdx[k] = c;
        values[k] = v;
        k++;
      }
    }
    rowPtr[r + 1] = k;
  }
  return { rows, cols, rowPtr, colIdx, values };
}

/** Row-major dense copy. */
export function csrToDense(matrix: CsrMatrix): Float32Array {
  const dense = new Float32Array(matrix.rows * matrix.cols);
  for (let r = 0; r < matrix.rows; r++) {
    for (let k = matrix.rowPtr[r] as number; k < (matrix.rowPtr[r + 1] as number); k++) {
      dense[r * matrix.cols + (matrix.colIdx[k] as number)] = matrix.values[k] as number;
    }
  }
  return dense;
}

/** The transpose, in CSR (equivalently: the CSC form of the input). */
export function csrTranspose(matrix: CsrMatrix): CsrMatrix {
  const nnz = csrNnz(matrix);
  const rowPtr = new Int32Array(matrix.cols + 1);
  for (let k = 0; k < nnz; k++) {
    const slot = (matrix.colIdx[k] as number) + 1;
    rowPtr[slot] = (rowPtr[slot] as number) + 1;
  }
  for (let c = 0; c < matrix.cols; c++) rowPtr[c + 1] = (rowPtr[c + 1] as number) + (rowPtr[c] as number);
  const cursor = rowPtr.slice(0, matrix.cols);
  const colIdx = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  for (let r = 0; r < matrix.rows; r++) {
    for (let k = matrix.rowPtr[r] as number; k < (matrix.rowPtr[r + 1] as number); k++) {
      const c = matrix.colIdx[k] as number;
      const slot = cursor[c] as number;
      colIdx[slot] = r;
      values[slot] = matrix.values[k] as number;
      cursor[c] = slot + 1;
    }
  }
  return { rows: matrix.cols, cols: matrix.rows, rowPtr, colIdx, values };
}

/** y = x · W for a CSR `W` (n_in × n_out) and a dense x of length n_in; float64 accumulation. */
export function csrVecMul(x: ArrayLike<number>, matrix: CsrMatrix): Float64Array {
  modelAssert(x.length === matrix.rows, 'ERR_MODEL_ARGUMENT', () =>
    `csrVecMul: x has ${x.length} values, W has ${matrix.rows} rows`);
  const y = new Float64Array(matrix.cols);
  for (let r = 0; r < matrix.rows; r++) {
    const xr = x[r] as number;
    if (xr === 0) continue;
    for (let k = matrix.rowPtr[r] as number; k < (matrix.rowPtr[r + 1] as number); k++) {
      const c = matrix.colIdx[k] as number;
      y[c] = (y[c] as number) + xr * (matrix.values[k] as number);
    }
  }
  return y;
}

/** How many entries a density keeps: round(density · size), at least one when density > 0. */
export function keptCount(size: number, density: number): number {
  modelAssert(density >= 0 && density <= 1, 'ERR_MODEL_ARGUMENT', () => `keptCount: density ${density} is outside [0, 1]`);
  if (density === 0) return 0;
  return Math.min(size, Math.max(1, Math.round(density * size)));
}

/**
 * Magnitude pruning (Deep Compression): keeps the `round(density · rows · cols)` entries of
 * largest |w| (ties: the earlier row-major index wins) and zeroes the rest.
 */
export function magnitudePrune(dense: ArrayLike<number>, rows: number, cols: number, density: number): CsrMatrix {
  const size = rows * cols;
  const keep = keptCount(size, density);
  const order = Array.from({ length: size }, (_, i) => i);
  order.sort((a, b) => Math.abs(dense[b] as number) - Math.abs(dense[a] as number) || a - b);
  const kept = new Float32Array(size);
  for (let k = 0; k < keep; k++) {
    const index = order[k] as number;
    kept[index] = dense[index] as number;
  }
  return csrFromDense(kept, rows, cols);
}

const histogramBins = 1 << 14;
// A module-local binding: bundlers and vitest rewrite imported calls into property lookups on a
// module object, which keeps V8 from inlining them in the 10⁸-iteration loops below (4× slower).
const uniformStep = mulberry32Step;

/**
 * The same result as `magnitudePrune` of a row-major matrix of i.i.d. uniform values in
 * (−limit, limit) drawn from `makeRng()`, without ever holding the dense matrix: a first pass
 * histograms |w|, a second keeps everything above the threshold bin and sorts only that bin.
 * VGG-16's fc6 (25088 × 4096, 411 MB dense) prunes this way in O(nnz) memory.
 *
 * The values are `(2·u − 1)·limit` for u the successive `createRng(seed).next()` draws; the
 * generator is inlined here because this loop runs 2 × 10⁸ times for fc6.
 */
export function prunedUniformCsr(rows: number, cols: number, density: number, limit: number, seed: number): CsrMatrix {
  const size = rows * cols;
  const keep = keptCount(size, density);
  const binScale = histogramBins / limit;
  const lastBin = histogramBins - 1;

  const histogram = new Float64Array(histogramBins);
  let state = seed >>> 0;
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    const v = (2 * uniformStep(state) - 1) * limit;
    const bin = Math.min(lastBin, Math.floor(Math.abs(v) * binScale));
    histogram[bin] = (histogram[bin] as number) + 1;
  }
  let thresholdBin = histogramBins - 1;
  let above = 0;
  while (thresholdBin > 0 && above + (histogram[thresholdBin] as number) < keep) {
    above += histogram[thresholdBin] as number;
    thresholdBin--;
  }
  const fromBoundary = keep - above;

  // Second pass: values strictly above the threshold bin are kept; the boundary bin is ranked.
  const boundaryIndex: number[] = [];
  const boundaryValue: number[] = [];
  const keptIndex = new Float64Array(Math.max(above, 0));
  const keptValue = new Float64Array(Math.max(above, 0));
  let count = 0;
  state = seed >>> 0;
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    const v = (2 * uniformStep(state) - 1) * limit;
    const bin = Math.min(lastBin, Math.floor(Math.abs(v) * binScale));
    if (bin > thresholdBin) {
      keptIndex[count] = i;
      keptValue[count] = v;
      count++;
    } else if (bin === thresholdBin) {
      boundaryIndex.push(i);
      boundaryValue.push(v);
    }
  }
  const ranked = boundaryIndex.map((_, j) => j);
  ranked.sort((a, b) => Math.abs(boundaryValue[b] as number) - Math.abs(boundaryValue[a] as number) || (boundaryIndex[a] as number) - (boundaryIndex[b] as number));
  const chosen = ranked.slice(0, fromBoundary).sort((a, b) => a - b);

  // Both lists are in index order: merge them straight into CSR.
  const rowPtr = new Int32Array(rows + 1);
  const colIdx = new Int32Array(keep);
  const values = new Float32Array(keep);
  let fromAbove = 0;
  let fromChosen = 0;
  for (let j = 0; j < keep; j++) {
    const nextChosen = chosen[fromChosen];
    const takeChosen = nextChosen !== undefined && (fromAbove >= count || (boundaryIndex[nextChosen] as number) < (keptIndex[fromAbove] as number));
    let index: number;
    if (takeChosen) {
      index = boundaryIndex[nextChosen] as number;
      values[j] = boundaryValue[nextChosen] as number;
      fromChosen++;
    } else {
      index = keptIndex[fromAbove] as number;
      values[j] = keptValue[fromAbove] as number;
      fromAbove++;
    }
    const row = Math.floor(index / cols);
    colIdx[j] = index - row * cols;
    rowPtr[row + 1] = (rowPtr[row + 1] as number) + 1;
  }
  for (let r = 0; r < rows; r++) rowPtr[r + 1] = (rowPtr[r + 1] as number) + (rowPtr[r] as number);
  return { rows, cols, rowPtr, colIdx, values };
}
