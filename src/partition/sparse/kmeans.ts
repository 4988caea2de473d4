import type { Rng } from '../../model/index.ts';

/** Result of k-means: a label per point and the centroids (k × dims, row-major). */
export interface KMeansResult {
  readonly labels: Int32Array;
  readonly centroids: Float64Array;
  readonly dims: number;
}

function squaredDistance(points: Float64Array, p: number, centroids: Float64Array, c: number, dims: number): number {
  let sum = 0;
  for (let d = 0; d < dims; d++) {
    const diff = (points[p * dims + d] as number) - (centroids[c * dims + d] as number);
    sum += diff * diff;
  }
  return sum;
}

/**
 * Lloyd's k-means with k-means++ seeding (Arthur & Vassilvitskii 2007), deterministic for a given
 * generator. Points are rows of a row-major `count × dims` array.
 */
export function kMeans(points: Float64Array, dims: number, k: number, rng: Rng, maxIterations = 100): KMeansResult {
  const count = points.length / dims;
  const centroids = new Float64Array(k * dims);
  const copyPoint = (p: number, c: number): void => {
    for (let d = 0; d < dims; d++) centroids[c * dims + d] = points[p * dims + d] as number;
  };
  copyPoint(rng.int(count), 0);
  const nearest = new Float64Array(count).fill(Number.POSITIVE_INFINITY);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let p = 0; p < count; p++) {
      nearest[p] = Math.min(nearest[p] as number, squaredDistance(points, p, centroids, c - 1, dims));
      total += nearest[p] as number;
    }
    let target = rng.next() * total;
    let chosen = count - 1;
    for (let p = 0; p < count; p++) {
      target -= nearest[p] as number;
      if (target < 0) {
        chosen = p;
        break;
      }
    }
    copyPoint(chosen, c);
  }

  const labels = new Int32Array(count).fill(-1);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    let changed = false;
    for (let p = 0; p < count; p++) {
      let best = 0;
      let bestDistance = Number.POSITIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        const distance = squaredDistance(points, p, centroids, c, dims);
        if (distance < bestDistance) {
          bestDistance = distance;
          best = c;
        }
      }
      if (labels[p] !== best) {
        labels[p] = best;
        changed = true;
      }
    }
    if (!changed) break;
    const sums = new Float64Array(k * dims);
    const sizes = new Float64Array(k);
    for (let p = 0; p < count; p++) {
      const c = labels[p] as number;
      sizes[c] = (sizes[c] as number) + 1;
      for (let d = 0; d < dims; d++) sums[c * dims + d] = (sums[c * dims + d] as number) + (points[p * dims + d] as number);
    }
    for (let c = 0; c < k; c++) {
      // An emptied cluster keeps its centroid rather than becoming NaN.
      if (sizes[c] === 0) continue;
      for (let d = 0; d < dims; d++) centroids[c * dims + d] = (sums[c * dims + d] as number) / (sizes[c] as number);
    }
  }
  return { labels, centroids, dims };
}

/** Squared distance from point `p` to centroid `c`. */
export function distanceToCentroid(points: Float64Array, p: number, result: KMeansResult, c: number): number {
  return squaredDistance(points, p, result.centroids, c, result.dims);
}
