import type { CsrMatrix, GraphNode, ModelGraph } from '../model/index.ts';
import { csrNnz, nodeFlopsWith, prunedKernelOf, shapeSize } from '../model/index.ts';
import type { DeviceProfile, DeviceTask, StepPrediction } from './cost.ts';
import { capability, predictOwnerOnly, predictResident, predictStep } from './cost.ts';
import { partitionAssert } from './errors.ts';
import type { PlanStep, SpatialScheme, WirePrecision } from './plan.ts';
import { isResidentChain, residentActivationBytes, residentDevices, residentRun, residentTasks } from './resident.ts';
import type { FcPartition } from './sparse/fcPartition.ts';
import { partitionFcMsccFgcp, partitionFcOutputSplit } from './sparse/fcPartition.ts';
import type { FcScheme } from './sparse/fcSlice.ts';
import type { MsccOptions } from './sparse/mscc.ts';
import type { TileAssignment } from './spatialSlices.ts';
import { sliceBlock, sliceCost, stripRect } from './spatialSlices.ts';
import type { SplitAxis } from './tilings.ts';
import { biasedSplit, sharesToRanges } from './biasedSplit.ts';
import { gridTiling, squarestGrid, stripTiling } from './tilings.ts';
import type { LayerUnit } from './units.ts';
import { isClosedSpatialBlock, layerUnits } from './units.ts';

const bytesPerFloat32 = 4;
/** CSR storage per nonzero: a float32 value and an int32 column index. */
const bytesPerNonzero = 8;

/** Spatial schemes the planner may consider: a `SpatialStep`'s schemes, and resident runs (`ResidentStep`). */
export type PlannerSpatialScheme = SpatialScheme | 'resident';

/** Options of `PlannerOptions.wire`: one precision for every spatial and resident step, or 'auto'. */
export type WireOption = WirePrecision | 'auto';

/**
 * With `wire: 'auto'`, a step goes float16 only when that predicts it at least this fraction
 * faster than float32 (transfer-bound steps); compute-bound steps keep float32.
 */
export const autoWireMargin = 0.05;

/** Planner options; every field has a default. */
export interface PlannerOptions {
  /** Seed of MSCC's randomized SVD and k-means++ (default 1). */
  readonly seed?: number;
  /** Deepest fused block, in layer units (default 8). */
  readonly maxFusedDepth?: number;
  /**
   * Spatial schemes to consider (default 'bodp', 'fused', 'grid', and 'resident' when `peerLinks`).
   * 'resident' is considered only with `peerLinks: true`.
   */
  readonly spatialSchemes?: readonly PlannerSpatialScheme[];
  /**
   * Workers can message each other directly (default false). Enables resident runs: chains of
   * layers whose strips stay on the devices, swapping only halo rows between them.
   */
  readonly peerLinks?: boolean;
  /** Longest resident run, in layer units (default 32). */
  readonly maxResidentDepth?: number;
  /**
   * Activation precision on the wire for spatial and resident steps (default 'float32'); Dense
   * steps always send float32. 'auto' picks float16 per step where it predicts the step more than
   * `autoWireMargin` faster, else float32; int8 only when asked for.
   */
  readonly wire?: WireOption;
  /** Dense-layer schemes to consider besides owner-only (default both). */
  readonly fcSchemes?: readonly FcScheme[];
  /** May a block or layer stay on the owner (default true; false forces a scheme, for reports). */
  readonly allowOwnerOnly?: boolean;
  /** Grid shape; default the squarest p × q = number of devices. */
  readonly grid?: readonly [number, number];
  /** Axis of BODP and fused strips (default 'rows'). */
  readonly axis?: SplitAxis;
  /**
   * Pruned Dense kernels (n_in × n_out CSR) by weight name (`fc6/kernel`, as `ModelWeights.sparse`
   * holds them); Dense layers without one stay on the owner.
   */
  readonly fcWeights?: ReadonlyMap<string, CsrMatrix>;
  readonly mscc?: MsccOptions;
  /** Try leaving out devices whose inclusion makes the plan slower (default true). */
  readonly excludeDevices?: boolean;
  /**
   * [ours] Bandwidth-aware strips (EdgeLD's OCBP): start from the capability-biased split, then move
   * rows between devices while the step's predicted latency falls (default false: the paper's BODP).
   */
  readonly bandwidthAware?: boolean;
  /**
   * Split strips and FC columns equally among the devices instead of by capability (default
   * false: BODP's biased split). The 2D grid is always equal. For measuring what the bias gains.
   */
  readonly equalSplit?: boolean;
  /**
   * Whether the owner computes a share of distributed steps (default true). False gives the owner
   * no strip, tile or FC columns, so the workers do all the work that can be split (for measuring
   * the mesh's overhead); steps that cannot be split still run on the owner.
   */
  readonly ownerComputes?: boolean;
  /**
   * Input privacy: the first this many layer units (see `privateUnitCount`) run on the owner, so
   * no worker is sent the image or any map before them (default 0).
   */
  readonly ownerFirstUnits?: number;
}

/** A step and what the cost model predicts for it. */
export interface PlannedStep {
  readonly step: PlanStep;
  readonly prediction: StepPrediction;
}

/** A device the planner left out, and why. */
export interface ExcludedDevice {
  readonly deviceId: string;
  readonly reason: string;
}

/** The planner's output: steps over the devices it kept (device 0 is the owner). */
export interface Plan {
  readonly graphName: string;
  readonly devices: readonly DeviceProfile[];
  readonly steps: readonly PlannedStep[];
  /** Σ step latencies, ms. */
  readonly predictedMs: number;
  /** The same model on the owner alone, ms. */
  readonly ownerAloneMs: number;
  readonly excluded: readonly ExcludedDevice[];
  /** Activation bytes on the wire per inference: to and from the owner, plus `peerBytes`. */
  readonly totalBytes: number;
  /** Activation bytes sent worker ↔ worker per inference (resident runs' halos). */
  readonly peerBytes: number;
  readonly totalMessages: number;
  /** Per device (plan order): bytes the owner sends it, per inference. */
  readonly bytesToDevice: readonly number[];
  /** Per device: bytes it returns to the owner, per inference. */
  readonly bytesFromDevice: readonly number[];
  /** Per device: predicted compute ms per inference. */
  readonly computeMs: readonly number[];
}

interface Context {
  readonly graph: ModelGraph;
  readonly devices: readonly DeviceProfile[];
  readonly capabilities: readonly number[];
  readonly options: PlannerOptions;
  /** MSCC is the expensive part; cache it per layer and capability vector. */
  readonly fcCache: Map<string, FcPartition>;
  /**
   * Estimate Dense layers with the output split's closed-form traffic instead of building slices:
   * used only to decide which devices to leave out, where only the total latency matters.
   */
  readonly quick: boolean;
}

/** The weights strips and FC columns are split by: capabilities, or equal; the owner's 0 when it does not compute. */
/** The owner computes no share (`ownerComputes: false`), which needs a worker to take it. */
const ownerIdle = (devices: readonly DeviceProfile[], options: PlannerOptions): boolean => !(options.ownerComputes ?? true) && devices.length > 1;

function splitWeights(devices: readonly DeviceProfile[], options: PlannerOptions): number[] {
  const weights = devices.map((d) => ((options.equalSplit ?? false) ? 1 : capability(d)));
  if (ownerIdle(devices, options)) weights[0] = 0;
  return weights;
}

function node(graph: ModelGraph, id: number): GraphNode {
  return graph.nodes[id] as GraphNode;
}

function ownerStep(context: Context, nodeIds: readonly number[]): PlannedStep {
  const flops = nodeIds.reduce((sum, id) => sum + nodeFlops(context, node(context.graph, id)), 0);
  return { step: { kind: 'owner', nodeIds }, prediction: predictOwnerOnly(context.devices, flops, kernelCount(context.graph, nodeIds)) };
}

/** Layers that run a kernel (reshapes, dropout and the input cost no launch). */
function kernelCount(graph: ModelGraph, nodeIds: readonly number[]): number {
  return nodeIds.filter((id) => node(graph, id).flops > 0).length;
}

/** A pruned Dense layer costs 2·nnz, not 2·n_in·n_out. */
const nodeFlops = (context: Context, graphNode: GraphNode): number => nodeFlopsWith(graphNode, context.options.fcWeights);

const sparseKernel = (options: PlannerOptions, graphNode: GraphNode): CsrMatrix | undefined => prunedKernelOf(graphNode, options.fcWeights);

/** Conv weights are replicated on every device that computes a slice (ALGORITHMS.md §3). */
function weightBytesOf(graph: ModelGraph, nodeIds: readonly number[]): number {
  return nodeIds.reduce((sum, id) => sum + node(graph, id).weights.reduce((s, w) => s + shapeSize(w.shape) * bytesPerFloat32, 0), 0);
}

function stripStep(context: Context, nodeIds: readonly number[], depth: number, scheme: SpatialScheme, tiles: TileAssignment[], wire: WirePrecision, grid?: [number, number]): PlannedStep {
  const { graph, devices } = context;
  const slices = sliceBlock(graph, nodeIds, tiles);
  const layers = kernelCount(graph, nodeIds);
  const weightBytes = weightBytesOf(graph, nodeIds);
  let infeasible = false;
  const tasks: DeviceTask[] = slices.map((slice) => {
    // Devices hold float32 maps whatever travels on the wire.
    const held = sliceCost(graph, slice);
    if (weightBytes + held.inputBytes + held.outputBytes > (devices[slice.device] as DeviceProfile).memoryBytes) infeasible = true;
    const cost = wire === 'float32' ? held : sliceCost(graph, slice, wire);
    return { device: slice.device, flops: cost.flops, layers, sendBytes: [cost.inputBytes], returnBytes: [cost.outputBytes] };
  });
  const base: PlanStep = grid === undefined
    ? { kind: 'spatial', scheme, nodeIds, depth, slices }
    : { kind: 'spatial', scheme, nodeIds, depth, grid, slices };
  const step: PlanStep = wire === 'float32' ? base : { ...base, wire };
  const prediction = predictStep(devices, tasks);
  // A device that cannot hold its slice makes the candidate unusable, not an error.
  return { step, prediction: infeasible ? { ...prediction, latencyMs: Number.POSITIVE_INFINITY } : prediction };
}

/**
 * OCBP-style rebalancing: from the biased shares, move `stride` rows from one device to another
 * while that lowers the predicted latency; halve the stride when no move helps.
 */
function rebalance(context: Context, nodeIds: readonly number[], depth: number, scheme: SpatialScheme, outputHw: [number, number], axis: SplitAxis, wire: WirePrecision): PlannedStep {
  const length = axis === 'rows' ? outputHw[0] : outputHw[1];
  const toTiles = (shares: readonly number[]): TileAssignment[] =>
    sharesToRanges(shares).map((range, device) => ({ device, tile: stripRect(range, axis, outputHw[0], outputHw[1]) }));
  let shares = biasedSplit(length, context.capabilities);
  let best = stripStep(context, nodeIds, depth, scheme, toTiles(shares), wire);
  for (let stride = Math.max(1, Math.floor(length / (4 * shares.length))); stride >= 1;) {
    let improved: { shares: number[]; planned: PlannedStep } | undefined;
    for (let from = 0; from < shares.length; from++) {
      if ((shares[from] as number) < stride) continue;
      for (let to = 0; to < shares.length; to++) {
        if (to === from) continue;
        const candidate = [...shares];
        candidate[from] = (candidate[from] as number) - stride;
        candidate[to] = (candidate[to] as number) + stride;
        const planned = stripStep(context, nodeIds, depth, scheme, toTiles(candidate), wire);
        const bar = improved?.planned.prediction.latencyMs ?? best.prediction.latencyMs;
        if (planned.prediction.latencyMs < bar - 1e-9) improved = { shares: candidate, planned };
      }
    }
    if (improved === undefined) {
      stride = Math.floor(stride / 2);
      continue;
    }
    shares = improved.shares;
    best = improved.planned;
  }
  return best;
}

/**
 * A step at the wire precision the options ask for: the forced one, or with 'auto' float16 when it
 * predicts the step more than `autoWireMargin` faster than float32.
 */
function withWire(context: Context, build: (wire: WirePrecision) => PlannedStep | undefined): PlannedStep | undefined {
  const option = context.options.wire ?? 'float32';
  if (option !== 'auto') return build(option);
  const full = build('float32');
  if (full === undefined) return undefined;
  const half = build('float16');
  return half !== undefined && half.prediction.latencyMs < full.prediction.latencyMs * (1 - autoWireMargin) ? half : full;
}

function spatialCandidate(context: Context, nodeIds: readonly number[], depth: number, scheme: SpatialScheme): PlannedStep {
  return withWire(context, (wire) => spatialCandidateAt(context, nodeIds, depth, scheme, wire)) as PlannedStep;
}

/**
 * A resident run of the chain over the devices that can each hold rows of every layer (the owner
 * only when it computes); none when that leaves no worker.
 */
function residentCandidate(context: Context, nodeIds: readonly number[], depth: number): PlannedStep | undefined {
  const { graph, devices } = context;
  const run = residentDevices(graph, nodeIds, devices.map((_, d) => d), context.capabilities);
  // A run needs two devices with rows at every layer (one device is no split: a fused block covers
  // offloading to one worker). A lone unit too small for that (VGG's last 1×1 pool) stays on the
  // owner, as a strip split would leave it; a longer run like that is no candidate.
  if (!run.devices.some((d) => d !== 0) || run.devices.length < 2) return depth === 1 ? ownerStep(context, [...nodeIds]) : undefined;
  const weightBytes = weightBytesOf(graph, nodeIds);
  return withWire(context, (wire) => {
    const step = residentRun(graph, nodeIds, run.devices, run.weights, wire);
    const prediction = predictResident(devices, residentTasks(graph, step));
    const infeasible = run.devices.some((d) => weightBytes + residentActivationBytes(graph, step, d) > (devices[d] as DeviceProfile).memoryBytes);
    return { step, prediction: infeasible ? { ...prediction, latencyMs: Number.POSITIVE_INFINITY } : prediction };
  });
}

function spatialCandidateAt(context: Context, nodeIds: readonly number[], depth: number, scheme: SpatialScheme, wire: WirePrecision): PlannedStep {
  const { graph, devices, capabilities, options } = context;
  const output = node(graph, nodeIds[nodeIds.length - 1] as number);
  const outputHw: [number, number] = [output.outputShape[0] as number, output.outputShape[1] as number];
  if (scheme === 'grid') {
    const grid: [number, number] = options.grid === undefined ? squarestGrid(devices.length) : [options.grid[0], options.grid[1]];
    let tiles = gridTiling(outputHw, grid[0], grid[1], devices.length);
    // Without the owner, its tiles go round the workers instead.
    if (ownerIdle(devices, options)) tiles = tiles.map((t, i) => ({ ...t, device: 1 + (i % (devices.length - 1)) }));
    return stripStep(context, nodeIds, depth, scheme, tiles, wire, grid);
  }
  const axis = options.axis ?? 'rows';
  if (options.bandwidthAware ?? false) return rebalance(context, nodeIds, depth, scheme, outputHw, axis, wire);
  return stripStep(context, nodeIds, depth, scheme, stripTiling(outputHw, capabilities, axis), wire);
}

function fcPartition(context: Context, graphNode: GraphNode, matrix: CsrMatrix, scheme: FcScheme): FcPartition {
  const key = `${graphNode.name}|${scheme}|${context.capabilities.join(',')}`;
  const cached = context.fcCache.get(key);
  if (cached !== undefined) return cached;
  const partition = scheme === 'msccFgcp'
    ? partitionFcMsccFgcp(matrix, context.capabilities, { seed: context.options.seed ?? 1, ...context.options.mscc })
    : partitionFcOutputSplit(matrix, context.capabilities);
  context.fcCache.set(key, partition);
  return partition;
}

/** The output split's cost without building its slices: n_in values to each worker, its columns back. */
function estimateOutputSplit(context: Context, graphNode: GraphNode, matrix: CsrMatrix): PlannedStep {
  const shares = biasedSplit(csrNnz(matrix), context.capabilities);
  const tasks: DeviceTask[] = shares.map((nnz, device) => ({
    device,
    flops: 2 * nnz,
    layers: 1,
    sendBytes: [matrix.rows * bytesPerFloat32],
    returnBytes: [Math.ceil((matrix.cols * nnz) / Math.max(1, csrNnz(matrix))) * bytesPerFloat32],
  }));
  return { step: { kind: 'fc', scheme: 'outputSplit', nodeId: graphNode.id, workers: [] }, prediction: predictStep(context.devices, tasks) };
}

function fcCandidates(context: Context, graphNode: GraphNode, matrix: CsrMatrix): PlannedStep[] {
  const schemes = context.options.fcSchemes ?? ['outputSplit', 'msccFgcp'];
  if (schemes.length === 0) return [];
  if (context.quick) return [estimateOutputSplit(context, graphNode, matrix)];
  const candidates: PlannedStep[] = [];
  for (const scheme of schemes) {
    const partition = fcPartition(context, graphNode, matrix, scheme);
    const fits = partition.workers.every((w) => csrNnz(w.weights) * bytesPerNonzero <= (context.devices[w.device] as DeviceProfile).memoryBytes);
    if (!fits) continue;
    const tasks: DeviceTask[] = partition.workers
      .filter((w) => csrNnz(w.weights) > 0)
      .map((w) => ({ device: w.device, flops: 2 * csrNnz(w.weights), layers: 1, sendBytes: [w.inputIndex.length * bytesPerFloat32], returnBytes: [w.outputIndex.length * bytesPerFloat32] }));
    candidates.push({ step: { kind: 'fc', scheme, nodeId: graphNode.id, workers: partition.workers }, prediction: predictStep(context.devices, tasks) });
  }
  return candidates;
}

function cheapest(candidates: readonly PlannedStep[]): PlannedStep | undefined {
  // Ties keep the earlier candidate (owner-only first), so plans are deterministic and conservative.
  return candidates.reduce<PlannedStep | undefined>((best, c) => (best === undefined || c.prediction.latencyMs < best.prediction.latencyMs ? c : best), undefined);
}

/**
 * Dynamic programming over a run of spatially local units: best[j] is the cheapest way to compute
 * units [0, j), each block [i, j) being closed and ≤ maxFusedDepth deep, run by the owner alone,
 * split in strips (BODP for one unit, a fused block for several) or on the 2D grid; or, with peer
 * links, a resident run of ≥ 2 units (≤ maxResidentDepth) that form a chain.
 */
function planSpatialSegment(context: Context, units: readonly LayerUnit[]): PlannedStep[] {
  const { options, devices } = context;
  const peerLinks = options.peerLinks ?? false;
  const schemes: readonly PlannerSpatialScheme[] = options.spatialSchemes ?? (peerLinks ? ['bodp', 'fused', 'grid', 'resident'] : ['bodp', 'fused', 'grid']);
  const resident = peerLinks && schemes.includes('resident');
  // A lone unit runs resident only when no strip scheme may cover it.
  const minResidentDepth = schemes.includes('bodp') || schemes.includes('fused') ? 2 : 1;
  const maxDepth = options.maxFusedDepth ?? 8;
  const maxResidentDepth = resident ? (options.maxResidentDepth ?? 32) : 0;
  const m = units.length;
  const best = new Array<number>(m + 1).fill(Number.POSITIVE_INFINITY);
  const choice: ({ from: number; planned: PlannedStep } | undefined)[] = new Array<undefined>(m + 1).fill(undefined);
  best[0] = 0;
  for (let i = 0; i < m; i++) {
    if (!Number.isFinite(best[i])) continue;
    const nodeIds: number[] = [];
    for (let j = i + 1; j <= Math.min(m, i + Math.max(maxDepth, maxResidentDepth)); j++) {
      nodeIds.push(...(units[j - 1] as LayerUnit).nodeIds);
      if (!isClosedSpatialBlock(context.graph, nodeIds)) continue;
      const depth = j - i;
      const candidates: PlannedStep[] = [];
      if (depth <= maxDepth) {
        if (options.allowOwnerOnly ?? true) candidates.push(ownerStep(context, [...nodeIds]));
        if (devices.length > 1 || !(options.allowOwnerOnly ?? true)) {
          const strips: SpatialScheme = depth === 1 ? 'bodp' : 'fused';
          if (schemes.includes(strips) || (depth === 1 && schemes.includes('fused'))) {
            candidates.push(spatialCandidate(context, [...nodeIds], depth, strips));
          }
          if (schemes.includes('grid')) {
            candidates.push(spatialCandidate(context, [...nodeIds], depth, 'grid'));
          }
        }
      }
      if (resident && devices.length > 1 && depth >= minResidentDepth && depth <= maxResidentDepth && isResidentChain(context.graph, nodeIds)) {
        const run = residentCandidate(context, [...nodeIds], depth);
        if (run !== undefined) candidates.push(run);
      }
      const pick = cheapest(candidates);
      if (pick !== undefined && (best[i] as number) + pick.prediction.latencyMs < (best[j] as number)) {
        best[j] = (best[i] as number) + pick.prediction.latencyMs;
        choice[j] = { from: i, planned: pick };
      }
    }
  }
  partitionAssert(Number.isFinite(best[m]), 'ERR_PARTITION_PLAN', () =>
    `planInference: no scheme covers units ${units.map((u) => u.outputId).join(', ')} with the allowed schemes [${schemes.join(', ')}]`);
  const steps: PlannedStep[] = [];
  for (let j = m; j > 0;) {
    const picked = choice[j] as { from: number; planned: PlannedStep };
    steps.push(picked.planned);
    j = picked.from;
  }
  return steps.reverse();
}

/** Joins consecutive owner-only steps: one step, no messages in between. */
function mergeOwnerSteps(context: Context, steps: readonly PlannedStep[]): PlannedStep[] {
  const merged: PlannedStep[] = [];
  for (const planned of steps) {
    const previous = merged[merged.length - 1];
    if (planned.step.kind === 'owner' && previous?.step.kind === 'owner') {
      merged[merged.length - 1] = ownerStep(context, [...previous.step.nodeIds, ...planned.step.nodeIds]);
    } else {
      merged.push(planned);
    }
  }
  return merged;
}

function planForDevices(graph: ModelGraph, devices: readonly DeviceProfile[], options: PlannerOptions, fcCache: Map<string, FcPartition>, quick = false): PlannedStep[] {
  const context: Context = { graph, devices, capabilities: splitWeights(devices, options), options, fcCache, quick };
  const units = layerUnits(graph);
  const steps: PlannedStep[] = [];
  let segment: LayerUnit[] = [];
  const flush = (): void => {
    if (segment.length > 0) steps.push(...planSpatialSegment(context, segment));
    segment = [];
  };
  const kept = options.ownerFirstUnits ?? 0;
  for (const [index, unit] of units.entries()) {
    if (index < kept) {
      flush();
      steps.push(ownerStep(context, unit.nodeIds));
      continue;
    }
    if (unit.spatial) {
      segment.push(unit);
      continue;
    }
    flush();
    const graphNode = node(graph, unit.outputId);
    const matrix = sparseKernel(options, graphNode);
    const owner = ownerStep(context, unit.nodeIds);
    if (matrix === undefined || devices.length === 1) {
      steps.push(owner);
      continue;
    }
    // Any distributed FC costs at least one wake-up each way on some link; when the owner is faster
    // than that, MSCC (seconds on fc6) cannot pay and is not run.
    const minimumRoundTripMs = Math.min(...devices.slice(1).map((d) => 2 * d.wakeMs));
    if ((options.allowOwnerOnly ?? true) && owner.prediction.latencyMs <= minimumRoundTripMs) {
      steps.push(owner);
      continue;
    }
    const candidates = fcCandidates(context, graphNode, matrix);
    steps.push(cheapest((options.allowOwnerOnly ?? true) || candidates.length === 0 ? [owner, ...candidates] : candidates) as PlannedStep);
  }
  flush();
  return mergeOwnerSteps(context, steps);
}

function sumPerDevice(devices: readonly DeviceProfile[], steps: readonly PlannedStep[], pick: (p: StepPrediction) => readonly number[]): number[] {
  return devices.map((_, d) => steps.reduce((sum, s) => sum + (pick(s.prediction)[d] ?? 0), 0));
}

function total(steps: readonly PlannedStep[]): number {
  return steps.reduce((sum, s) => sum + s.prediction.latencyMs, 0);
}

function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

/**
 * Plans one inference of `graph` over `devices` (device 0 is the owner): per segment of the graph
 * it picks, by the cost model, among owner-only, BODP per layer, fused blocks of every depth up to
 * `maxFusedDepth` and the 2D grid; per pruned Dense layer among owner-only, the broadcast output
 * split and MSCC + FGCP. It then leaves out, one at a time, any worker whose removal lowers the
 * predicted latency, and records why. Pure and deterministic: same inputs and seed → same plan.
 *
 * Device exclusion is decided with Dense layers estimated as the output split (MSCC costs seconds
 * per device set on fc6); the final plan over the kept devices considers every scheme.
 */
export function planInference(graph: ModelGraph, devices: readonly DeviceProfile[], options: PlannerOptions = {}): Plan {
  partitionAssert(devices.length >= 1, 'ERR_PARTITION_ARGUMENT', () => 'planInference: needs at least the owner device');
  for (const device of devices) {
    partitionAssert(device.aMsPerFlop > 0 && device.bMs >= 0 && device.bandwidthBytesPerMs > 0 && device.wakeMs >= 0, 'ERR_PARTITION_ARGUMENT', () =>
      `planInference: device '${device.id}' has a=${device.aMsPerFlop} (> 0), b=${device.bMs} (≥ 0), B=${device.bandwidthBytesPerMs} (> 0), wake=${device.wakeMs} (≥ 0)`);
  }
  const fcCache = new Map<string, FcPartition>();
  const owner = devices[0] as DeviceProfile;
  const ownerContext: Context = { graph, devices: [owner], capabilities: [capability(owner)], options, fcCache, quick: false };
  const ownerAloneMs = graph.nodes.reduce((sum, n) => sum + predictOwnerOnly([owner], nodeFlops(ownerContext, n), n.flops > 0 ? 1 : 0).latencyMs, 0);

  let kept = [...devices];
  const excluded: ExcludedDevice[] = [];
  if ((options.excludeDevices ?? true) && devices.length > 1) {
    let current = total(planForDevices(graph, kept, options, fcCache, true));
    for (;;) {
      let bestRemoval: { index: number; ms: number } | undefined;
      for (let index = 1; index < kept.length; index++) {
        const ms = total(planForDevices(graph, kept.filter((_, i) => i !== index), options, fcCache, true));
        if (ms < current && (bestRemoval === undefined || ms < bestRemoval.ms)) bestRemoval = { index, ms };
      }
      if (bestRemoval === undefined) break;
      const removed = kept[bestRemoval.index] as DeviceProfile;
      excluded.push({ deviceId: removed.id, reason: `predicted ${formatMs(current)} with it, ${formatMs(bestRemoval.ms)} without` });
      kept = kept.filter((_, i) => i !== bestRemoval.index);
      current = bestRemoval.ms;
    }
  }
  const steps = planForDevices(graph, kept, options, fcCache);
  const predictedMs = total(steps);
  const peerBytes = steps.reduce((sum, s) => sum + s.prediction.peerBytes, 0);
  return {
    graphName: graph.name,
    devices: kept,
    steps,
    predictedMs,
    ownerAloneMs,
    excluded,
    totalBytes: peerBytes + steps.reduce((sum, s) => sum + [...s.prediction.bytesToDevice, ...s.prediction.bytesFromDevice].reduce((a, b) => a + b, 0), 0),
    peerBytes,
    totalMessages: steps.reduce((sum, s) => sum + s.prediction.messages, 0),
    bytesToDevice: sumPerDevice(kept, steps, (p) => p.bytesToDevice),
    bytesFromDevice: sumPerDevice(kept, steps, (p) => p.bytesFromDevice),
    computeMs: sumPerDevice(kept, steps, (p) => p.computeMs),
  };
}

/** The plan's steps without predictions: what the executor and the runtime consume. */
export function planSteps(plan: Plan): PlanStep[] {
  return plan.steps.map((s) => s.step);
}
