import type { CsrMatrix } from '../../model/index.ts';
import { createRng } from '../../model/index.ts';
import { partitionAssert } from '../errors.ts';
import type { KMeansResult } from './kmeans.ts';
import { kMeans } from './kmeans.ts';
import { randomizedSvd } from './randomizedSvd.ts';

/** How a nonzero weighs in the bipartite graph: 1 (structure only) or |w|. */
export type EdgeWeight = 'binary' | 'magnitude';

/** Spectral co-clustering of the rows (inputs) and columns (outputs) of a sparse matrix. */
export interface CoClustering {
  /** Cluster of each row (n_in). */
  readonly rowLabels: Int32Array;
  /** Cluster of each column (n_out). */
  readonly colLabels: Int32Array;
  /** Embedding Z = [D1^-1/2 U ; D2^-1/2 V], rows then columns, row-major (n_in + n_out) × dims. */
  readonly embedding: Float64Array;
  readonly kmeans: KMeansResult;
}

/**
 * Dhillon's spectral co-clustering (KDD 2001; what scikit-learn's SpectralCoclustering computes),
 * ALGORITHMS.md §6: normalise An = D1^-1/2·A·D2^-1/2, take singular vectors 2..ℓ+1 with
 * ℓ = ceil(log2 k) by randomized SVD on sparse products, scale back by D^-1/2 and run seeded
 * k-means++ on the stacked row and column embeddings. Rows or columns without nonzeros embed at 0.
 */
export function spectralCoclustering(matrix: CsrMatrix, k: number, seed: number, edgeWeight: EdgeWeight = 'binary'): CoClustering {
  partitionAssert(Number.isInteger(k) && k >= 1, 'ERR_PARTITION_ARGUMENT', () => `spectralCoclustering: k must be a positive integer, got ${k}`);
  const { rows, cols, rowPtr, colIdx } = matrix;
  const nnz = rowPtr[rows] as number;
  const weightOf = (index: number): number => (edgeWeight === 'binary' ? 1 : Math.abs(matrix.values[index] as number));
  const rowSums = new Float64Array(rows);
  const colSums = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let t = rowPtr[r] as number; t < (rowPtr[r + 1] as number); t++) {
      const w = weightOf(t);
      rowSums[r] = (rowSums[r] as number) + w;
      const c = colIdx[t] as number;
      colSums[c] = (colSums[c] as number) + w;
    }
  }
  const invSqrt = (x: number): number => (x > 0 ? 1 / Math.sqrt(x) : 0);
  const rowScale = rowSums.map(invSqrt);
  const colScale = colSums.map(invSqrt);
  const values = new Float32Array(nnz);
  for (let r = 0; r < rows; r++) {
    for (let t = rowPtr[r] as number; t < (rowPtr[r + 1] as number); t++) {
      values[t] = weightOf(t) * (rowScale[r] as number) * (colScale[colIdx[t] as number] as number);
    }
  }
  const normalized: CsrMatrix = { rows, cols, rowPtr, colIdx, values };
  const rng = createRng(seed);
  const dims = Math.max(1, Math.ceil(Math.log2(k)));
  const svd = randomizedSvd(normalized, dims + 1, rng);
  const used = Math.max(0, svd.values.length - 1);
  const embedding = new Float64Array((rows + cols) * Math.max(used, 1));
  const width = Math.max(used, 1);
  for (let d = 0; d < used; d++) {
    const u = svd.left[d + 1] as Float64Array;
    const v = svd.right[d + 1] as Float64Array;
    for (let r = 0; r < rows; r++) embedding[r * width + d] = (rowScale[r] as number) * (u[r] as number);
    for (let c = 0; c < cols; c++) embedding[(rows + c) * width + d] = (colScale[c] as number) * (v[c] as number);
  }
  const kmeans = kMeans(embedding, width, k, rng);
  return { rowLabels: kmeans.labels.slice(0, rows), colLabels: kmeans.labels.slice(rows), embedding, kmeans };
}
