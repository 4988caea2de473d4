import type { FcScheme, FcWorkerSlice } from './sparse/fcSlice.ts';
import type { TileSlice } from './spatialSlices.ts';

/** Spatial schemes: per-layer BODP, a fused block of several layers (rows), the 2D grid. */
export type SpatialScheme = 'bodp' | 'fused' | 'grid';

/** A block of spatially local layers split over devices; the owner scatters and gathers it. */
export interface SpatialStep {
  readonly kind: 'spatial';
  readonly scheme: SpatialScheme;
  /** The block's nodes in topological order; the last is its output. */
  readonly nodeIds: readonly number[];
  /** Layer units fused into the block (1 for per-layer BODP). */
  readonly depth: number;
  /** [p, q] for the grid scheme. */
  readonly grid?: readonly [number, number];
  /** One slice per (device, tile); a device may get several tiles of a grid. */
  readonly slices: readonly TileSlice[];
}

/** A Dense layer split by output columns (broadcast input) or by MSCC + FGCP. */
export interface FcStep {
  readonly kind: 'fc';
  readonly scheme: FcScheme;
  readonly nodeId: number;
  readonly workers: readonly FcWorkerSlice[];
}

/** Nodes the owner runs alone (global layers, opaque layers, or whatever does not pay to split). */
export interface OwnerStep {
  readonly kind: 'owner';
  readonly nodeIds: readonly number[];
}

export type PlanStep = SpatialStep | FcStep | OwnerStep;
