import type { FcScheme, FcWorkerSlice } from './sparse/fcSlice.ts';
import type { Range, Rect } from './geometry.ts';
import type { NodeSlice, TileSlice } from './spatialSlices.ts';

/**
 * How activations travel for a step: 4 bytes a value; IEEE half floats (2 bytes, ~3 significant
 * digits); or 8-bit with a per-tensor affine scale (1 byte, 1/255 of the tensor's range). The
 * planner picks one per step; the runtime quantises what it sends and the receiver restores
 * float32 before computing.
 */
export type WirePrecision = 'float32' | 'float16' | 'int8';

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
  /** Activations to and from the workers; default float32. */
  readonly wire?: WirePrecision;
}

/** One layer of a resident run, as one device computes it. */
export interface ResidentSlice {
  readonly device: number;
  /** Output rows (full width) the device computes, and the rows of the producer it reads, with border padding. */
  readonly node: NodeSlice;
}

/** Rows of a producer's output (full width) that `from` computed and sends straight to `to`, who needs them next. */
export interface HaloTransfer {
  readonly from: number;
  readonly to: number;
  readonly rows: Range;
}

export interface ResidentLayer {
  readonly nodeId: number;
  /** One per device of the run, in `devices` order; every device has at least one output row. */
  readonly slices: readonly ResidentSlice[];
  /**
   * Halo rows exchanged before this layer runs: rows of its producer's output. Empty for the first
   * layer (the owner's scatter covers its input). A device's own rows plus the halos it receives
   * are exactly its `node.inputs[0].rect` rows.
   */
  readonly halos: readonly HaloTransfer[];
}

/**
 * [ours] A chain of single-input, row-splittable layers whose strips stay on the devices between
 * layers (ALGORITHMS.md §5): the owner scatters the run's input once, devices swap only halo rows
 * with their neighbours directly, and the owner gathers the last layer's strips.
 */
export interface ResidentStep {
  readonly kind: 'resident';
  /** The chain, in order; the last is the run's output, and node 0's producer its input. */
  readonly nodeIds: readonly number[];
  /** Plan device indices taking part, in strip order (top rows first); device 0 is the owner. */
  readonly devices: readonly number[];
  /** What the owner sends each device at the start: full-width rows of the run's input node. */
  readonly inputs: readonly { readonly device: number; readonly nodeId: number; readonly rect: Rect }[];
  readonly layers: readonly ResidentLayer[];
  /** Activations on the wire (scatter, halos, gather); default float32. */
  readonly wire?: WirePrecision;
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

export type PlanStep = SpatialStep | ResidentStep | FcStep | OwnerStep;

/** A step in a word or two, for reports and logs: `owner`, `msccFgcp`, `bodp(1)`, `fused(3)·f16`, `resident(4)·i8`. */
export function stepLabel(step: PlanStep): string {
  if (step.kind === 'owner') return 'owner';
  if (step.kind === 'fc') return step.scheme;
  const base = step.kind === 'resident' ? `resident(${step.nodeIds.length})` : `${step.scheme}(${step.depth})`;
  const wire = step.wire ?? 'float32';
  return wire === 'float32' ? base : `${base}·${wire === 'float16' ? 'f16' : 'i8'}`;
}
