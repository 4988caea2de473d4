import { biasedSplit, sharesToRanges } from './biasedSplit.ts';
import { partitionAssert } from './errors.ts';
import type { TileAssignment } from './spatialSlices.ts';
import { stripRect } from './spatialSlices.ts';

/** The spatial axis a one-dimensional partition cuts along. */
export type SplitAxis = 'rows' | 'cols';

/**
 * BODP's tiling (ALGORITHMS.md §3): contiguous strips of the output along `axis`, one per device,
 * sized by `biasedSplit` of the capabilities. Devices whose share is zero get an empty strip.
 *
 * @param outputHw [H, W] of the output being split.
 * @param capabilities one capability (1/a, FLOPs per ms) per device, in plan device order.
 */
export function stripTiling(outputHw: readonly [number, number], capabilities: readonly number[], axis: SplitAxis = 'rows'): TileAssignment[] {
  const [height, width] = outputHw;
  const shares = biasedSplit(axis === 'rows' ? height : width, capabilities);
  return sharesToRanges(shares).map((range, device) => ({ device, tile: stripRect(range, axis, height, width) }));
}

/**
 * The 2D-grid baseline (ALGORITHMS.md §4): a uniform `gridRows × gridCols` grid of tiles, tile t
 * (row-major) going to device `t mod deviceCount`. Uniform sizes: the grid ignores capabilities.
 */
export function gridTiling(outputHw: readonly [number, number], gridRows: number, gridCols: number, deviceCount: number): TileAssignment[] {
  partitionAssert(gridRows >= 1 && gridCols >= 1 && deviceCount >= 1, 'ERR_PARTITION_ARGUMENT', () =>
    `gridTiling: grid ${gridRows}×${gridCols} over ${deviceCount} devices`);
  const rows = sharesToRanges(biasedSplit(outputHw[0], new Array<number>(gridRows).fill(1)));
  const cols = sharesToRanges(biasedSplit(outputHw[1], new Array<number>(gridCols).fill(1)));
  const tiles: TileAssignment[] = [];
  rows.forEach((rowRange, r) => {
    cols.forEach((colRange, c) => {
      tiles.push({ device: (r * gridCols + c) % deviceCount, tile: { rows: rowRange, cols: colRange } });
    });
  });
  return tiles;
}

/** The most square p × q = n grid (p ≤ q), the usual reading of "a 2D grid over n devices". */
export function squarestGrid(deviceCount: number): [number, number] {
  let best: [number, number] = [1, deviceCount];
  for (let p = 1; p * p <= deviceCount; p++) {
    if (deviceCount % p === 0) best = [p, deviceCount / p];
  }
  return best;
}
