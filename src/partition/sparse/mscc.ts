import type { CsrMatrix } from '../../model/index.ts';
import { csrNnz, csrTranspose } from '../../model/index.ts';
import { partitionAssert } from '../errors.ts';
import type { EdgeWeight } from './coclustering.ts';
import { spectralCoclustering } from './coclustering.ts';
import { distanceToCentroid } from './kmeans.ts';
import { columnCounts } from './workerSlices.ts';

/** Options of MSCC. */
export interface MsccOptions {
  /** Load slack ε: device w may hold up to (1 + ε)·c_w/Σc of the nonzeros (default 0.05). */
  readonly epsilon?: number;
  /** Seed of the randomized SVD and k-means++ (default 1). */
  readonly seed?: number;
  /** Boundary refinement passes (default 4); each stops early when the cross count stops falling. */
  readonly refinePasses?: number;
  readonly edgeWeight?: EdgeWeight;
}

/** MSCC's result: an owner device for every input row and output column. */
export interface MsccPartition {
  /** Device owning each input row (the one owning most of its nonzeros); −1 for empty rows. */
  readonly rowOwner: Int32Array;
  /** Device owning (computing) each output column. */
  readonly colOwner: Int32Array;
  /** Nonzeros in each device's columns: its work. */
  readonly loads: readonly number[];
  /** (1 + ε)·c_w/Σc·nnz per device. */
  readonly capacities: readonly number[];
  /** Nonzeros whose row and column owners differ. */
  readonly crossCount: number;
}

/** Each row goes to the device owning most of its nonzeros (ties: lower device index). */
export function assignRows(matrix: CsrMatrix, colOwner: Int32Array, devices: number): Int32Array {
  const rowOwner = new Int32Array(matrix.rows).fill(-1);
  const votes = new Int32Array(devices);
  for (let r = 0; r < matrix.rows; r++) {
    votes.fill(0);
    for (let t = matrix.rowPtr[r] as number; t < (matrix.rowPtr[r + 1] as number); t++) {
      const owner = colOwner[matrix.colIdx[t] as number] as number;
      votes[owner] = (votes[owner] as number) + 1;
    }
    let best = -1;
    let bestVotes = 0;
    votes.forEach((count, device) => {
      if (count > bestVotes) {
        best = device;
        bestVotes = count;
      }
    });
    rowOwner[r] = best;
  }
  return rowOwner;
}

/** Nonzeros (i, j) with rowOwner[i] ≠ colOwner[j]. */
export function countCross(matrix: CsrMatrix, rowOwner: Int32Array, colOwner: Int32Array): number {
  let cross = 0;
  for (let r = 0; r < matrix.rows; r++) {
    for (let t = matrix.rowPtr[r] as number; t < (matrix.rowPtr[r + 1] as number); t++) {
      if (rowOwner[r] !== colOwner[matrix.colIdx[t] as number]) cross++;
    }
  }
  return cross;
}

/**
 * MSCC, the capability-biased spectral co-clustering (ALGORITHMS.md §6, [ours]): co-cluster the
 * weight matrix into one cluster per device, match clusters to devices by size and capability,
 * then assign columns greedily — most decided first — to the nearest centroid whose device still
 * has room under load(w) ≤ (1 + ε)·c_w/Σc·nnz; rows follow their columns; boundary columns then
 * move while that lowers the cross count and respects the capacities.
 *
 * @param matrix the Dense kernel W, n_in × n_out.
 * @param capabilities one per device (plan order).
 */
export function mscc(matrix: CsrMatrix, capabilities: readonly number[], options: MsccOptions = {}): MsccPartition {
  const epsilon = options.epsilon ?? 0.05;
  const k = capabilities.length;
  partitionAssert(k >= 1 && capabilities.every((c) => Number.isFinite(c) && c >= 0) && capabilities.some((c) => c > 0), 'ERR_PARTITION_ARGUMENT', () =>
    `mscc: capabilities must be finite, ≥ 0 and not all zero, got [${capabilities.join(', ')}]`);
  const nnz = csrNnz(matrix);
  const total = capabilities.reduce((a, b) => a + b, 0);
  const capacities = capabilities.map((c) => ((1 + epsilon) * c * nnz) / total);
  const counts = columnCounts(matrix);
  const clustering = spectralCoclustering(matrix, k, options.seed ?? 1, options.edgeWeight);

  // Largest natural cluster → most capable device.
  const naturalLoad = new Float64Array(k);
  clustering.colLabels.forEach((label, c) => { naturalLoad[label] = (naturalLoad[label] as number) + (counts[c] as number); });
  const clustersBySize = Array.from({ length: k }, (_, i) => i).sort((a, b) => (naturalLoad[b] as number) - (naturalLoad[a] as number) || a - b);
  const devicesByCapability = Array.from({ length: k }, (_, i) => i).sort((a, b) => (capabilities[b] as number) - (capabilities[a] as number) || a - b);
  const deviceOfCluster = new Int32Array(k);
  clustersBySize.forEach((cluster, rank) => { deviceOfCluster[cluster] = devicesByCapability[rank] as number; });

  // Distances from each column to each device's centroid; decide the surest columns first.
  const distances = new Float64Array(matrix.cols * k);
  const margin = new Float64Array(matrix.cols);
  for (let c = 0; c < matrix.cols; c++) {
    for (let cluster = 0; cluster < k; cluster++) {
      distances[c * k + (deviceOfCluster[cluster] as number)] = distanceToCentroid(clustering.embedding, matrix.rows + c, clustering.kmeans, cluster);
    }
    const sorted = Array.from(distances.subarray(c * k, c * k + k)).sort((a, b) => a - b);
    margin[c] = (sorted[1] ?? 0) - (sorted[0] ?? 0);
  }
  const order = Array.from({ length: matrix.cols }, (_, c) => c).sort((a, b) => (margin[b] as number) - (margin[a] as number) || a - b);
  const colOwner = new Int32Array(matrix.cols);
  const loads = new Float64Array(k);
  for (const c of order) {
    const weight = counts[c] as number;
    const byDistance = Array.from({ length: k }, (_, d) => d)
      .filter((d) => (capabilities[d] as number) > 0)
      .sort((a, b) => (distances[c * k + a] as number) - (distances[c * k + b] as number) || a - b);
    // No device has room (only for columns heavier than the slack): the least-filled one takes it.
    const fits = byDistance.find((d) => (loads[d] as number) + weight <= (capacities[d] as number));
    const device = fits ?? byDistance.reduce((best, d) => ((loads[d] as number) / (capacities[d] as number) < (loads[best] as number) / (capacities[best] as number) ? d : best));
    colOwner[c] = device;
    loads[device] = (loads[device] as number) + weight;
  }

  let rowOwner = assignRows(matrix, colOwner, k);
  let cross = countCross(matrix, rowOwner, colOwner);
  const byColumn = csrTranspose(matrix);
  const crossIfOwnedBy = new Int32Array(k);
  for (let pass = 0; pass < (options.refinePasses ?? 4); pass++) {
    for (let c = 0; c < matrix.cols; c++) {
      const weight = counts[c] as number;
      if (weight === 0) continue;
      // Cross entries of column c if device d owned it: its nonzeros whose rows belong elsewhere.
      crossIfOwnedBy.fill(weight);
      for (let t = byColumn.rowPtr[c] as number; t < (byColumn.rowPtr[c + 1] as number); t++) {
        const owner = rowOwner[byColumn.colIdx[t] as number] as number;
        if (owner >= 0) crossIfOwnedBy[owner] = (crossIfOwnedBy[owner] as number) - 1;
      }
      const current = colOwner[c] as number;
      let best = current;
      for (let d = 0; d < k; d++) {
        if (d === current || (crossIfOwnedBy[d] as number) >= (crossIfOwnedBy[best] as number)) continue;
        if ((loads[d] as number) + weight <= (capacities[d] as number)) best = d;
      }
      if (best !== current) {
        colOwner[c] = best;
        loads[current] = (loads[current] as number) - weight;
        loads[best] = (loads[best] as number) + weight;
      }
    }
    rowOwner = assignRows(matrix, colOwner, k);
    const next = countCross(matrix, rowOwner, colOwner);
    if (next >= cross) {
      cross = next;
      break;
    }
    cross = next;
  }
  return { rowOwner, colOwner, loads: Array.from(loads), capacities, crossCount: cross };
}
