/**
 * The owner's scheduler: runs a plan stage by stage over the mesh. Owner-only layers run here;
 * a distributed stage is scattered (largest share first, so transfers overlap the owner's own
 * share), computed, gathered and merged. Nothing is lost: a worker that fails or misses its
 * deadline has its share computed here, and gets no more work in this inference.
 *
 * Workers are not trusted to compute right: a random fraction of the results they return is
 * recomputed here (within a per-image FLOP budget) and compared. A worker caught with a wrong
 * result is reported for eviction, and the image is run again from the first step it contributed
 * to, without it.
 */
import { yieldToEventLoop } from '../compute/index.ts';
import type { IncomingMessage, RequestOptions, WireTensor } from '../mesh/index.ts';
import { wireTensor } from '../mesh/index.ts';
import { createRng, csrVecMul, nodeFlopsWith, prunedKernelOf, shapeSize, type GraphNode, type Tensor, type Tensor3D, type TfModule } from '../model/index.ts';
import { residentTasks, sliceBlock, sliceCost, type FcStep, type Plan, type PlannedStep, type Range, type ResidentStep, type SpatialStep, type TileSlice, type WirePrecision } from '../partition/index.ts';
import {
  addFcPartial,
  cropSliceInputs,
  finishFc,
  mergeTileValues,
  runFcSlice,
  runTileSliceStepwise,
  runWhole,
  type Band,
} from './local-executor.ts';
import { RuntimeError } from './errors.ts';
import { RuntimeMethod, encodedReplySchema, haloPullReplySchema, modelKeyOf, parseReply, taskReplySchema, type ModelSpec, type TaskReplyMeta } from './protocol.ts';
import { residentProgram, runResidentStrip, type HaloIo } from './resident.ts';
import { packActivation, quantisationError, quantised, unpackActivation, valueShape, type PackedActivation, type WireEncoding } from './wire-precision.ts';
import type { LoadedModel } from './worker-executor.ts';

/** What the runtime needs of a worker: its id (as in the plan's devices) and requests to it. */
export interface WorkerPort {
  readonly id: string;
  request(meta: unknown, tensors?: readonly WireTensor[], options?: RequestOptions): Promise<IncomingMessage>;
  /** The worker's clock minus the owner's (ms), to place its compute times on the owner's timeline. */
  clockOffsetMs?: () => number | null;
}

export interface DeadlineOptions {
  /** A task may take this many times its predicted time… Default 3. */
  factor: number;
  /** …plus this margin, ms (covers prediction error and a cold link). Default 5 s. */
  marginMs: number;
}

export interface TaskTrace {
  /** Index of the step in the plan. */
  step: number;
  kind: 'owner' | 'spatial' | 'resident' | 'fc';
  /** Device index in the plan (0: the owner) and its id. */
  device: number;
  deviceId: string;
  /** On the owner's clock, ms from the start of the inference: the task was sent (or started here)… */
  startMs: number;
  /** …its input had left the owner (null for work done on the owner)… */
  sendEndMs: number | null;
  /** …the device computed from … to … (a worker's clock mapped through the heartbeat's offset estimate; null if unknown)… */
  computeStartMs: number | null;
  computeEndMs: number | null;
  /** …and its result was back. */
  endMs: number;
  /** The device's own compute time, when it reported one. */
  computeMs: number | null;
  /** FLOPs of the task (halo work included), for refreshing the device's profile. */
  flops: number;
  /** Layer runs in the task (each costs the fixed b of T = a·FLOPs + b). */
  layers: number;
  bytesOut: number;
  bytesIn: number;
  /** Resident runs: halo bytes this device sent to other workers directly (not through the owner). */
  peerBytes?: number;
  /** Resident runs: of the compute window, ms the device waited for its neighbours' halos. */
  haloWaitMs?: number;
  /** 'local-fallback': the worker failed or was late; the owner computed its share. */
  outcome: 'ok' | 'local-fallback';
  error?: string;
}

export interface VerifyOptions {
  /** Chance (0–1) that each result a worker returns is recomputed on the owner and compared. 0 turns checks off. */
  fraction: number;
  /** Most FLOPs the owner spends on checks per image, as a fraction of the image's FLOPs (0–1). */
  budget: number;
  /** A result passes when max |worker − owner| ≤ atol + rtol · max |owner| over the result. Default 1e-3 (float32 reorderings differ by ~1e-6). */
  rtol: number;
  /** Default 1e-4. */
  atol: number;
  /** Uniform draws in [0, 1) choosing the results to check. Default: crypto randomness, so a worker cannot predict them. */
  random: () => number;
}

/** Off: checks cost owner compute; the classifier turns them on for the product. */
const NO_CHECKS: VerifyOptions = { fraction: 0, budget: 0, rtol: 1e-3, atol: 1e-4, random: cryptoRandom };

/** Seeded draws for repeatable checks (tests, benchmarks). */
export const seededRandom = (seed: number): (() => number) => {
  const rng = createRng(seed);
  return () => rng.next();
};

function cryptoRandom(): number {
  return (globalThis.crypto.getRandomValues(new Uint32Array(1))[0] as number) / 2 ** 32;
}

/** What the owner checked of one image. */
export interface VerificationSummary {
  /** Worker results recomputed here and compared, of all the worker results received. */
  checked: number;
  results: number;
  /** FLOPs the owner spent on checks, and the image's FLOPs (the budget is a fraction of it). */
  flops: number;
  imageFlops: number;
  /** The chance each result had of being checked: `fraction`, or less where the budget could not cover it. */
  chance: number;
  /** Checks that failed: the worker, the step, the largest difference and the tolerance it broke. */
  mismatches: { deviceId: string; step: number; maxDiff: number; tolerance: number }[];
  /** Times the image was run again (from the first step a caught worker contributed to). */
  reruns: number;
}

export interface InferenceResult {
  /** The model's output, flattened. */
  output: Float32Array;
  shape: number[];
  totalMs: number;
  trace: TaskTrace[];
  /** Workers that failed during this inference (left out of the rest of it). */
  failed: { deviceId: string; reason: string }[];
  /** Workers caught returning wrong results (also in `failed`): the caller should evict them. */
  wrong: { deviceId: string; reason: string }[];
  verification: VerificationSummary;
}

export interface InferOptions {
  /** Checking worker results; default off. */
  verify?: Partial<VerifyOptions>;
}

export interface OwnerRuntimeOptions {
  tf: TfModule;
  spec: ModelSpec;
  model: LoadedModel;
  /** The package's bytes, for a `package` spec: streamed to workers that do not have it. */
  packageBytes?: Uint8Array;
  /** Bytes per package upload message. Default 4 MiB. */
  uploadChunkBytes?: number;
  /** Called as a package goes out to a worker, for progress bars. */
  onUpload?: (deviceId: string, sentBytes: number, totalBytes: number) => void;
  deadline?: Partial<DeadlineOptions>;
  now?: () => number;
  /**
   * Awaited between the owner's own layers, so its page keeps answering the workers' heartbeats
   * (and the user) during seconds of compute. Default: one turn of the event loop.
   */
  pause?: () => Promise<void>;
}

let planCounter = 0;

/** A worker's reported timing, kept only if it is sane (a peer's numbers feed the planner). */
const replyTiming = (meta: unknown): TaskReplyMeta | null => parseReply(taskReplySchema, meta);

/**
 * Whether every value a worker returned is a finite number. A NaN or an infinity in a result no
 * check picked would go straight into the answer; finding it costs one pass over the data.
 */
function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/** Places a worker's reported compute window on the owner's timeline (relative to `start`). */
function computeWindow(meta: TaskReplyMeta | null, port: WorkerPort, start: number): { computeStartMs: number | null; computeEndMs: number | null } {
  const offset = port.clockOffsetMs?.() ?? null;
  if (!meta || offset === null) return { computeStartMs: null, computeEndMs: null };
  return { computeStartMs: meta.computeStartMs - offset - start, computeEndMs: meta.computeEndMs - offset - start };
}

/** Marks a promise as handled now (it is awaited later, after the owner's own share). */
function settleLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** How a worker's compact reply reads back: float32 as it is, else the encoding it must name (null when it does not). */
const replyEncoding = (meta: unknown, wire: WirePrecision): WireEncoding | null =>
  wire === 'float32' ? { precision: 'float32' } : (parseReply(encodedReplySchema, meta)?.encoding ?? null);

const bytesOf = (tensors: readonly WireTensor[]): number => tensors.reduce((sum, t) => sum + t.data.byteLength, 0);

export class OwnerRuntime {
  readonly modelKey: string;
  private readonly deadline: DeadlineOptions;
  private readonly now: () => number;
  private readonly pause: () => Promise<void>;
  /** Plan ids by plan object, and which workers have that plan's FC slices installed. */
  private readonly planIds = new WeakMap<Plan, string>();
  private readonly prepared = new WeakMap<Plan, Set<string>>();
  /** Why a plan's resident runs cannot use direct worker links (they then run as fused blocks); absent when they can. */
  private readonly peerLinksDown = new WeakMap<Plan, string>();
  private runCounter = 0;
  private readonly preparing = new WeakMap<Plan, Promise<{ deviceId: string; reason: string }[]>>();
  /** Model package bytes sent to each worker so far (0 when it had the package cached). */
  readonly uploadedBytes = new Map<string, number>();

  constructor(private readonly options: OwnerRuntimeOptions) {
    this.modelKey = modelKeyOf(options.spec);
    this.deadline = { factor: 3, marginMs: 5_000, ...options.deadline };
    this.now = options.now ?? (() => performance.now());
    this.pause = options.pause ?? yieldToEventLoop;
  }

  /**
   * Readies the plan's workers: each loads the model and keeps its Dense-layer slices. A worker
   * that fails here is reported and left out (its shares run on the owner).
   */
  async prepare(plan: Plan, ports: ReadonlyMap<string, WorkerPort>): Promise<{ deviceId: string; reason: string }[]> {
    // Images in flight together share one preparation of their plan (its failures are reported once).
    const running = this.preparing.get(plan);
    if (running) {
      await running;
      return [];
    }
    const preparing = this.prepareNow(plan, ports);
    this.preparing.set(plan, preparing);
    try {
      return await preparing;
    } finally {
      this.preparing.delete(plan);
    }
  }

  private async prepareNow(plan: Plan, ports: ReadonlyMap<string, WorkerPort>): Promise<{ deviceId: string; reason: string }[]> {
    const planId = this.planIdOf(plan);
    const ready = this.prepared.get(plan) ?? new Set<string>();
    this.prepared.set(plan, ready);
    const failed: { deviceId: string; reason: string }[] = [];
    await Promise.all(
      plan.devices.slice(1).map(async (device, i) => {
        const port = ports.get(device.id);
        if (!port || ready.has(device.id)) return;
        try {
          await this.ensureModel(port);
          for (const planned of plan.steps) {
            if (planned.step.kind !== 'fc') continue;
            const slice = planned.step.workers.find((w) => w.device === i + 1);
            if (!slice) continue;
            const { weights: csr } = slice;
            await port.request(
              { method: RuntimeMethod.FcInstall, modelKey: this.modelKey, planId, nodeId: planned.step.nodeId, rows: csr.rows, cols: csr.cols },
              [
                wireTensor([slice.inputIndex.length], slice.inputIndex),
                wireTensor([slice.outputIndex.length], slice.outputIndex),
                wireTensor([csr.rowPtr.length], csr.rowPtr),
                wireTensor([csr.colIdx.length], csr.colIdx),
                wireTensor([csr.values.length], csr.values),
              ],
              { timeoutMs: 60_000 },
            );
          }
          ready.add(device.id);
        } catch (err) {
          failed.push({ deviceId: device.id, reason: (err as Error).message });
        }
      }),
    );
    await this.linkNeighbours(plan, ports, ready);
    return failed;
  }

  /**
   * Has the workers of the plan's resident runs open direct links to the workers they swap halos
   * with. Where a link cannot come up, the plan's resident runs are run as fused blocks instead
   * (the same rows, halos recomputed rather than exchanged) and the reason is kept.
   */
  private async linkNeighbours(plan: Plan, ports: ReadonlyMap<string, WorkerPort>, ready: ReadonlySet<string>): Promise<void> {
    // Each worker, and the workers it swaps halos with (either way); the owner's own halos use its links.
    const wanted = new Map<number, Set<number>>();
    const link = (a: number, b: number) => wanted.set(a, (wanted.get(a) ?? new Set()).add(b));
    for (const { step } of plan.steps) {
      if (step.kind !== 'resident') continue;
      for (const { from, to } of step.layers.flatMap((layer) => layer.halos)) {
        if (from === 0 || to === 0) continue;
        link(from, to);
        link(to, from);
      }
    }
    if (wanted.size === 0 || this.peerLinksDown.has(plan)) return;
    const idOf = (device: number) => plan.devices[device]?.id ?? '';
    const results = await Promise.allSettled(
      [...wanted].map(async ([device, others]) => {
        const port = ports.get(idOf(device));
        if (!port || !ready.has(idOf(device))) throw new Error(`${idOf(device)} is not ready`);
        await port.request({ method: RuntimeMethod.Peers, peers: [...others].map(idOf) }, [], { timeoutMs: 20_000 });
      }),
    );
    const down = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (down) this.peerLinksDown.set(plan, `direct links between workers did not come up (${(down.reason as Error).message}): resident runs go as fused blocks`);
  }

  /** Why this plan's resident runs go as fused blocks (no direct links between its workers), or null. */
  residentFallback(plan: Plan): string | null {
    return this.peerLinksDown.get(plan) ?? null;
  }

  /** Has the worker load the model, sending it the package first when it reports it missing. */
  async ensureModel(port: WorkerPort): Promise<void> {
    const load = () => port.request({ method: RuntimeMethod.Load, spec: this.options.spec }, [], { timeoutMs: 120_000 });
    try {
      await load();
      return;
    } catch (err) {
      const missing = err instanceof Error && (err as { detail?: string }).detail === 'ERR_MODEL_MISSING';
      if (!missing || this.options.spec.kind !== 'package' || !this.options.packageBytes) throw err;
    }
    const { spec } = this.options;
    const bytes = this.options.packageBytes;
    const chunk = this.options.uploadChunkBytes ?? 4 * 1024 * 1024;
    for (let offset = 0; offset < bytes.byteLength; offset += chunk) {
      const part = bytes.subarray(offset, Math.min(bytes.byteLength, offset + chunk));
      await port.request({ method: RuntimeMethod.Put, hash: spec.hash, offset, total: bytes.byteLength }, [wireTensor([part.byteLength], part)], { timeoutMs: 120_000 });
      this.uploadedBytes.set(port.id, (this.uploadedBytes.get(port.id) ?? 0) + part.byteLength);
      this.options.onUpload?.(port.id, offset + part.byteLength, bytes.byteLength);
    }
    await load();
  }

  /** Runs one inference of `plan` on `input` ([H, W, C]); the answer is always complete. */
  async infer(plan: Plan, ports: ReadonlyMap<string, WorkerPort>, input: Tensor3D, options: InferOptions = {}): Promise<InferenceResult> {
    const { model } = this.options;
    const { graph } = model;
    const start = this.now();
    const trace: TaskTrace[] = [];
    const failed = new Map<string, string>();
    const ready = this.prepared.get(plan) ?? new Set<string>();
    const values = new Map<number, Tensor>([[graph.inputId, input]]);
    const usable = (device: number): WorkerPort | null => {
      const id = plan.devices[device]?.id;
      if (device === 0 || id === undefined || failed.has(id) || !ready.has(id)) return null;
      return ports.get(id) ?? null;
    };
    const verify = { ...NO_CHECKS, ...options.verify };
    const { image: imageFlops, remote: remoteFlops } = this.planFlops(plan);
    const verification: VerificationSummary = { checked: 0, results: 0, flops: 0, imageFlops, chance: 0, mismatches: [], reruns: 0 };
    // When the budget cannot cover `fraction` of the workers' results, every result gets the same
    // lower chance: checks spread over the whole image instead of using the budget up on its first
    // layers (a worker could otherwise lie safely in the last ones).
    verification.chance = Math.min(verify.fraction, remoteFlops > 0 ? (verify.budget * imageFlops) / remoteFlops : 0);
    const checks: CheckState = { options: verify, summary: verification, firstTrusted: new Map(), caught: new Set(), wrong: new Map() };
    const context: StepContext = { plan, values, trace, failed, usable, start, checks };
    try {
      for (let index = 0; index < plan.steps.length;) {
        const planned = plan.steps[index] as PlannedStep;
        const { step } = planned;
        if (step.kind === 'owner') {
          const t0 = this.now() - start;
          for (const id of step.nodeIds) {
            values.set(id, await this.runOwnerNode(this.node(id), values));
            await this.pause();
          }
          const flops = step.nodeIds.reduce((sum, id) => sum + this.node(id).flops, 0);
          const t1 = this.now() - start;
          trace.push({ step: index, kind: 'owner', device: 0, deviceId: plan.devices[0]?.id ?? 'owner', startMs: t0, sendEndMs: null, computeStartMs: t0, computeEndMs: t1, endMs: t1, computeMs: t1 - t0, flops, layers: step.nodeIds.length, bytesOut: 0, bytesIn: 0, outcome: 'ok' });
        } else if (step.kind === 'spatial') {
          await this.runSpatial(index, planned as PlannedStep & { step: SpatialStep }, context);
        } else if (step.kind === 'resident') {
          await this.runResident(index, planned as PlannedStep & { step: ResidentStep }, context);
        } else {
          await this.runFc(index, planned as PlannedStep & { step: FcStep }, context);
        }
        index = this.nextStep(index, context);
      }
      const out = values.get(graph.outputId);
      if (!out) throw new RuntimeError('ERR_RUNTIME_PLAN', `the plan never computed the output node of ${graph.name}`);
      const output = (await out.data()) as Float32Array;
      const list = (m: Map<string, string>) => [...m].map(([deviceId, reason]) => ({ deviceId, reason }));
      return { output, shape: [...out.shape], totalMs: this.now() - start, trace, failed: list(failed), wrong: list(checks.wrong), verification };
    } finally {
      for (const [id, tensor] of values) if (id !== graph.inputId) tensor.dispose();
    }
  }

  /**
   * One node on the owner, whole. A pruned Dense layer is multiplied in its sparse form (densified,
   * VGG-16's fc6 alone would be 411 MB per image); everything else runs in a `tidy` so no
   * intermediate outlives the node.
   */
  private async runOwnerNode(node: GraphNode, values: Map<number, Tensor>): Promise<Tensor> {
    const { tf, model } = this.options;
    const kernel = prunedKernelOf(node, model.weights.sparse);
    const input = values.get(node.inputs[0] as number);
    // A Dense layer applied per position (input not flat) takes the general path.
    if (!kernel || !input || shapeSize(input.shape) !== kernel.rows) return tf.tidy(() => runWhole(tf, model.graph, model.weights, node, values, {}));
    const y = csrVecMul((await input.data()), kernel);
    return tf.tidy(() => finishFc(tf, model.weights, node, y));
  }

  /**
   * The step to run after `index`: the next one, or, when a worker was just caught with a wrong
   * result, the first step it had contributed to (its other results are untrusted too; every
   * value from there on is dropped and computed again without it).
   */
  private nextStep(index: number, ctx: StepContext): number {
    const { checks } = ctx;
    if (checks.caught.size === 0) return index + 1;
    const from = Math.min(...[...checks.caught].map((id) => checks.firstTrusted.get(id) ?? Number.POSITIVE_INFINITY));
    checks.caught.clear();
    if (!Number.isFinite(from)) return index + 1; // its only results were the ones caught, already replaced
    for (const [id, step] of checks.firstTrusted) if (step >= from) checks.firstTrusted.delete(id);
    for (const { step } of ctx.plan.steps.slice(from, index + 1)) {
      for (const id of step.kind === 'fc' ? [step.nodeId] : step.kind === 'owner' ? step.nodeIds : [step.nodeIds[step.nodeIds.length - 1] as number]) {
        ctx.values.get(id)?.dispose();
        ctx.values.delete(id);
      }
    }
    checks.summary.reruns++;
    return from;
  }

  /** FLOPs of one image under `plan` (halo work included, pruned Dense layers at 2 per nonzero), and the workers' part of them. */
  private planFlops(plan: Plan): { image: number; remote: number } {
    const { graph, weights } = this.options.model;
    let image = 0;
    let remote = 0;
    const add = (device: number, flops: number) => {
      image += flops;
      if (device !== 0) remote += flops;
    };
    for (const { step } of plan.steps) {
      if (step.kind === 'spatial') for (const slice of step.slices) add(slice.device, sliceCost(graph, slice).flops);
      else if (step.kind === 'resident') for (const [device, { flops }] of residentShares(graph, step)) add(device, flops);
      else if (step.kind === 'fc') for (const w of step.workers) add(w.device, 2 * w.weights.values.length);
      else {
        for (const id of step.nodeIds) {
          add(0, nodeFlopsWith(this.node(id), weights.sparse));
        }
      }
    }
    return { image, remote };
  }

  /** Whether to check a worker's result of `flops` FLOPs: a fresh random draw, and never past the image's budget. */
  private pickCheck(ctx: StepContext, flops: number): boolean {
    const { options, summary } = ctx.checks;
    if (summary.chance <= 0) return false;
    const draw = options.random();
    if (draw >= summary.chance || summary.flops + flops > options.budget * summary.imageFlops) return false;
    summary.flops += flops;
    return true;
  }

  /**
   * Compares a worker's result with the owner's. On a mismatch the worker is out of this
   * inference, reported as wrong, and `caught` so that its earlier results are computed again.
   */
  private judge(ctx: StepContext, index: number, deviceId: string, got: Float32Array, expected: Float32Array, wire: WirePrecision = 'float32'): boolean {
    const { checks } = ctx;
    checks.summary.checked++;
    let maxDiff = got.length === expected.length ? 0 : Number.POSITIVE_INFINITY;
    let scale = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i] as number;
      const diff = Math.abs((got[i] as number) - e);
      maxDiff = Math.max(maxDiff, Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff);
      scale = Math.max(scale, Math.abs(e));
      min = Math.min(min, e);
      max = Math.max(max, e);
    }
    // Both copies were quantised for the wire: float rounding before it may land them one step apart.
    const tolerance = checks.options.atol + checks.options.rtol * scale + 2 * quantisationError(wire, scale, max - min);
    if (maxDiff <= tolerance) return true;
    const what = ctx.plan.steps[index]?.step.kind === 'fc' ? 'FC share' : 'tile';
    const reason = `returned wrong results for a checked ${what} (max |Δ| ${maxDiff.toPrecision(3)} vs tolerance ${tolerance.toPrecision(2)})`;
    checks.summary.mismatches.push({ deviceId, step: index, maxDiff, tolerance });
    checks.wrong.set(deviceId, reason);
    checks.caught.add(deviceId);
    ctx.failed.set(deviceId, reason);
    return false;
  }

  /** A worker's result was taken into the image (so that, if it is caught later, the image is re-run from here). */
  private trust(ctx: StepContext, index: number, deviceId: string): void {
    if (!ctx.checks.firstTrusted.has(deviceId)) ctx.checks.firstTrusted.set(deviceId, index);
  }

  private node(id: number): GraphNode {
    const node = this.options.model.graph.nodes[id];
    if (!node) throw new RuntimeError('ERR_RUNTIME_PLAN', `the plan names node ${id}, which ${this.options.model.graph.name} does not have`);
    return node;
  }

  private planIdOf(plan: Plan): string {
    let id = this.planIds.get(plan);
    if (!id) {
      id = `p${++planCounter}-${Date.now().toString(36)}`;
      this.planIds.set(plan, id);
    }
    return id;
  }

  private deadlineMs(planned: PlannedStep): number {
    return this.deadline.factor * planned.prediction.latencyMs + this.deadline.marginMs;
  }

  private async runSpatial(index: number, planned: PlannedStep & { step: SpatialStep }, ctx: StepContext): Promise<void> {
    const { tf, model } = this.options;
    const { step } = planned;
    const full = (id: number): Tensor3D => {
      const value = ctx.values.get(id);
      if (!value) throw new RuntimeError('ERR_RUNTIME_PLAN', `step ${index} needs node ${id} before it is computed`);
      return value as Tensor3D;
    };
    const local = async (slice: TileSlice): Promise<Tensor3D> => {
      const bands = cropSliceInputs(tf, slice, full);
      try {
        return await runTileSliceStepwise(tf, model.graph, model.weights, slice, bands, this.pause);
      } finally {
        for (const band of bands.values()) band.tensor.dispose();
      }
    };
    // Largest share first: its transfer is the longest, so it should start first.
    const remote = step.slices
      .filter((s) => ctx.usable(s.device))
      .map((slice) => ({ slice, bytes: slice.inputs.reduce((sum, i) => sum + rectSize(i.rect) * (full(i.nodeId).shape[2] ?? 1) * 4, 0) }))
      .sort((a, b) => b.bytes - a.bytes);
    const flopsOf = new Map(step.slices.map((slice) => [slice, sliceCost(model.graph, slice).flops]));
    const wire: WirePrecision = step.wire ?? 'float32';
    const pending = new Map<TileSlice, { reply: Promise<{ output: Tensor3D; data: Float32Array; entry: TaskTrace }>; checked: boolean; sent: Map<number, Band> | null }>();
    for (const { slice } of remote) {
      const port = ctx.usable(slice.device) as WorkerPort;
      const bands = cropSliceInputs(tf, slice, full);
      const packed = await Promise.all(slice.inputs.map(async (input) => packBand(bands.get(input.nodeId) as Band, wire)));
      const tensors = packed.map((p) => p.tensor);
      for (const band of bands.values()) band.tensor.dispose();
      const t0 = this.now() - ctx.start;
      let sendEndMs: number | null = null;
      const onSent = () => (sendEndMs = this.now() - ctx.start);
      // Drawn before the result is back: nothing the worker sends can change whether it is checked.
      const checked = this.pickCheck(ctx, flopsOf.get(slice) as number);
      // A check of a compact tile recomputes it from what the worker was sent, not from the exact maps.
      const sent = checked && wire !== 'float32'
        ? new Map(slice.inputs.map((input, i) => {
          const band = packed[i] as PackedActivation;
          const shape = valueShape(band.tensor, wire) as [number, number, number];
          return [input.nodeId, { tensor: tf.tensor3d(unpackActivation(band.tensor, band.encoding, shape), shape), row: input.rect.rows.start, col: input.rect.cols.start }] as const;
        }))
        : null;
      const meta = wire === 'float32' ? { method: RuntimeMethod.Spatial, modelKey: this.modelKey, slice } : { method: RuntimeMethod.Spatial, modelKey: this.modelKey, slice, encodings: packed.map((p) => p.encoding), wire };
      pending.set(slice, {
        checked,
        sent,
        reply: settleLater(port.request(meta, tensors, { timeoutMs: this.deadlineMs(planned), onSent }).then(
          (reply) => {
            const tile = reply.tensors[0];
            const h = slice.tile.rows.end - slice.tile.rows.start + 1;
            const w = slice.tile.cols.end - slice.tile.cols.start + 1;
            const c = model.graph.nodes[step.nodeIds[step.nodeIds.length - 1] as number]?.outputShape[2] as number;
            const encoding = replyEncoding(reply.meta, wire);
            let data: Float32Array;
            try {
              if (!encoding) throw new Error('a compact tile came without its encoding');
              data = unpackActivation(tile, encoding, [h, w, c]);
            } catch (err) {
              throw new RuntimeError('ERR_RUNTIME_REQUEST', `worker returned ${tile?.dtype ?? 'nothing'}[${tile?.shape.join(',') ?? ''}] for a ${h}×${w}×${c} tile (${(err as Error).message.replace(/^modnn-web: /, '')})`);
            }
            if (!allFinite(data)) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'worker returned a tile with NaN or infinite values');
            const timing = replyTiming(reply.meta);
            const entry: TaskTrace = { step: index, kind: 'spatial', device: slice.device, deviceId: port.id, startMs: t0, sendEndMs, ...computeWindow(timing, port, ctx.start), endMs: this.now() - ctx.start, computeMs: timing?.computeMs ?? null, flops: flopsOf.get(slice) as number, layers: slice.nodes.length, bytesOut: bytesOf(tensors), bytesIn: tile?.data.byteLength ?? 0, outcome: 'ok' };
            ctx.trace.push(entry);
            // The values are kept beside the tensor: a check compares them without reading the tensor back.
            return { output: tf.tensor3d(data, [h, w, c]), data, entry };
          },
        )),
      });
    }
    // The owner's own share (and any share whose worker is out) while the others compute.
    const tiles: { slice: TileSlice; output: Tensor3D }[] = [];
    for (const slice of step.slices.filter((s) => !pending.has(s))) {
      const t0 = this.now() - ctx.start;
      tiles.push({ slice, output: await local(slice) });
      const t1 = this.now() - ctx.start;
      ctx.trace.push({ step: index, kind: 'spatial', device: slice.device, deviceId: ctx.plan.devices[slice.device]?.id ?? '?', startMs: t0, sendEndMs: null, computeStartMs: t0, computeEndMs: t1, endMs: t1, computeMs: t1 - t0, flops: flopsOf.get(slice) as number, layers: slice.nodes.length, bytesOut: 0, bytesIn: 0, outcome: slice.device === 0 ? 'ok' : 'local-fallback' });
    }
    // The owner's copies of the results it checks, computed while the workers still compute theirs.
    const expected = new Map<TileSlice, Tensor3D>();
    for (const [slice, { checked, sent }] of pending) {
      if (!checked) continue;
      if (!sent) {
        expected.set(slice, await local(slice));
        continue;
      }
      try {
        const own = await runTileSliceStepwise(tf, model.graph, model.weights, slice, sent, this.pause);
        // The worker's tile went through the same quantisation on its way back.
        const values = quantised((await own.data()) as Float32Array, own.shape, wire);
        own.dispose();
        expected.set(slice, tf.tensor3d(values, own.shape));
      } finally {
        for (const band of sent.values()) band.tensor.dispose();
      }
    }
    for (const [slice, { reply }] of pending) {
      const own = expected.get(slice);
      let got: { output: Tensor3D; data: Float32Array; entry: TaskTrace };
      try {
        got = await reply;
      } catch (err) {
        tiles.push({ slice, output: await this.fallback(index, 'spatial', slice.device, err, ctx, flopsOf.get(slice) as number, () => own ?? local(slice)) });
        continue;
      }
      ctx.checks.summary.results++;
      const deviceId = got.entry.deviceId;
      if (own && !this.judge(ctx, index, deviceId, got.data, (await own.data()) as Float32Array, wire)) {
        got.output.dispose();
        Object.assign(got.entry, { outcome: 'local-fallback', error: ctx.failed.get(deviceId) });
        tiles.push({ slice, output: own });
        continue;
      }
      own?.dispose();
      this.trust(ctx, index, deviceId);
      tiles.push({ slice, output: got.output });
    }
    const outputId = step.nodeIds[step.nodeIds.length - 1] as number;
    const shape = this.node(outputId).outputShape as [number, number, number];
    const read = await Promise.all(tiles.map(async ({ slice, output }) => ({ slice, values: (await output.data()) as Float32Array })));
    for (const { output } of tiles) output.dispose();
    ctx.values.set(outputId, tf.tensor3d(mergeTileValues(shape, read), shape));
  }

  /**
   * A resident run: the owner scatters the run's input once, every device keeps its strip through
   * the run's layers and swaps halo rows with its neighbours directly (the owner's own halos go
   * over its links: pushed to workers, pulled from them), and the owner gathers the last strips.
   * If any device fails, the run is cancelled everywhere and run again as a fused block over the
   * devices left, from the run's input, which the owner still holds: the answer stays whole.
   * Results of resident runs are not spot-checked (a wrong halo would make an honest neighbour's
   * strip look wrong); the classifier plans them only with checks off.
   */
  private async runResident(index: number, planned: PlannedStep & { step: ResidentStep }, ctx: StepContext): Promise<void> {
    const { tf, model } = this.options;
    const { graph } = model;
    const { step } = planned;
    const wire: WirePrecision = step.wire ?? 'float32';
    const outputId = step.nodeIds[step.nodeIds.length - 1] as number;
    const inputId = step.inputs[0]?.nodeId as number;
    const runInput = ctx.values.get(inputId) as Tensor3D | undefined;
    if (!runInput) throw new RuntimeError('ERR_RUNTIME_PLAN', `step ${index} needs node ${inputId} before it is computed`);
    const workers = step.devices.filter((d) => d !== 0);
    const down = this.peerLinksDown.get(ctx.plan) ?? (workers.some((d) => !ctx.usable(d)) ? 'a worker of the run is out' : null);
    if (down) return this.residentAsFused(index, planned, ctx);
    const runId = `${this.planIdOf(ctx.plan)}-r${++this.runCounter}`;
    const idOf = (device: number): string => ctx.plan.devices[device]?.id ?? '?';
    const portOf = (device: number): WorkerPort => ctx.usable(device) as WorkerPort;
    const [, outW, outC] = this.node(outputId).outputShape as [number, number, number];
    const shares = residentShares(graph, step);
    const crop = async (rows: Range): Promise<PackedActivation> => {
      const band = tf.slice(runInput, [rows.start, 0, 0], [rowsIn(rows), -1, -1]);
      try {
        return packActivation((await band.data()) as Float32Array, band.shape, wire);
      } finally {
        band.dispose();
      }
    };
    const failures = new Map<number, unknown>();
    const strips = new Map<number, Tensor3D>();
    const requests: Promise<void>[] = [];
    // Largest input band first: its transfer is the longest.
    const byBand = [...workers].sort((a, b) => rowsIn(residentProgram(step, b).input.rect.rows) - rowsIn(residentProgram(step, a).input.rect.rows));
    for (const device of byBand) {
      const program = residentProgram(step, device);
      const packed = await crop(program.input.rect.rows);
      const talksTo = new Set([...program.layers.flatMap((l) => l.halosIn.map((h) => h.from)), ...program.layers.flatMap((l) => l.halosOut.map((h) => h.to))]);
      const peers = [...talksTo].filter((d) => d !== 0).map((d) => ({ device: d, peerId: idOf(d) }));
      const port = portOf(device);
      const t0 = this.now() - ctx.start;
      let sendEndMs: number | null = null;
      const onSent = () => (sendEndMs = this.now() - ctx.start);
      const rows = program.layers[program.layers.length - 1]?.node.out.rows as Range;
      const { flops, peerBytes } = shares.get(device) as ResidentShare;
      requests.push(
        port
          .request({ method: RuntimeMethod.Resident, modelKey: this.modelKey, runId, program, peers, encoding: packed.encoding, wire }, [packed.tensor], { timeoutMs: this.deadlineMs(planned), onSent })
          .then((reply) => {
            const encoding = replyEncoding(reply.meta, wire);
            if (!encoding) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'worker returned a compact strip without its encoding');
            const values = unpackActivation(reply.tensors[0], encoding, [rowsIn(rows), outW, outC]);
            if (!allFinite(values)) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'worker returned a strip with NaN or infinite values');
            strips.set(device, tf.tensor3d(values, [rowsIn(rows), outW, outC]));
            // Unchecked here, but a worker caught lying later in the image has this step re-run too.
            this.trust(ctx, index, port.id);
            const meta = replyTiming(reply.meta);
            const haloWaitMs = meta?.haloWaitMs !== undefined ? { haloWaitMs: meta.haloWaitMs } : {};
            ctx.trace.push({ step: index, kind: 'resident', device, deviceId: port.id, startMs: t0, sendEndMs, ...computeWindow(meta, port, ctx.start), endMs: this.now() - ctx.start, computeMs: meta?.computeMs ?? null, flops, layers: program.layers.length, bytesOut: packed.tensor.data.byteLength, bytesIn: reply.tensors[0]?.data.byteLength ?? 0, peerBytes, ...haloWaitMs, outcome: 'ok' });
          })
          .catch((err: unknown) => {
            failures.set(device, err);
            // Its neighbours stop waiting for its halos.
            this.cancelRun(runId, workers.filter((d) => d !== device), ctx, `device ${device} of the run failed`);
          }),
      );
    }
    if (step.devices.includes(0)) {
      const program = residentProgram(step, 0);
      const t0 = this.now() - ctx.start;
      const band = tf.slice(runInput, [program.input.rect.rows.start, 0, 0], [rowsIn(program.input.rect.rows), -1, -1]);
      const haloBytes = { out: 0, in: 0 };
      const io: HaloIo = {
        send: async (to, layer, rows, halo) => {
          const packed = packActivation((await halo.data()) as Float32Array, halo.shape, wire);
          haloBytes.out += packed.tensor.data.byteLength;
          try {
            await portOf(to).request({ method: RuntimeMethod.Halo, runId, layer, from: 0, rows, encoding: packed.encoding }, [packed.tensor], { timeoutMs: this.deadlineMs(planned) });
          } catch (err) {
            if (!stoppedByPeer(err)) failures.set(to, err);
            throw err;
          }
        },
        receive: async (from, layer, rows) => {
          try {
            const reply = await portOf(from).request({ method: RuntimeMethod.HaloPull, runId, layer }, [], { timeoutMs: this.deadlineMs(planned) });
            const meta = parseReply(haloPullReplySchema, reply.meta);
            const [, w, c] = this.node(program.layers[layer]?.node.inputs[0]?.producerId as number).outputShape as [number, number, number];
            if (meta?.rows.start !== rows.start || meta.rows.end !== rows.end) throw new RuntimeError('ERR_RUNTIME_REQUEST', `worker sent rows other than ${rows.start}..${rows.end} for layer ${layer}`);
            const values = unpackActivation(reply.tensors[0], meta.encoding, [rowsIn(rows), w, c]);
            haloBytes.in += reply.tensors[0]?.data.byteLength ?? 0;
            if (!allFinite(values)) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'worker sent halo rows with NaN or infinite values');
            return tf.tensor3d(values, [rowsIn(rows), w, c]);
          } catch (err) {
            if (!stoppedByPeer(err)) failures.set(from, err);
            throw err;
          }
        },
      };
      const waits = { haloWaitMs: 0 };
      try {
        strips.set(0, await runResidentStrip(tf, graph, model.weights, program, band, io, this.pause, waits, this.now));
        const t1 = this.now() - ctx.start;
        const { flops } = shares.get(0) as ResidentShare;
        // The owner's own halos travel over its links to the workers: they count as owner-link bytes.
        ctx.trace.push({ step: index, kind: 'resident', device: 0, deviceId: idOf(0), startMs: t0, sendEndMs: null, computeStartMs: t0, computeEndMs: t1, endMs: t1, computeMs: t1 - t0, flops, layers: program.layers.length, bytesOut: haloBytes.out, bytesIn: haloBytes.in, haloWaitMs: waits.haloWaitMs, outcome: 'ok' });
      } catch (err) {
        if (failures.size === 0) throw err; // the owner's own compute failed: nothing a worker did
        this.cancelRun(runId, workers, ctx, 'a device of the run failed');
      } finally {
        band.dispose();
      }
    }
    await Promise.all(requests);
    if (failures.size > 0) {
      for (const strip of strips.values()) strip.dispose();
      // A worker whose run only stopped because another device failed is not at fault: it takes part again.
      for (const [device, err] of failures) {
        if (!stoppedByPeer(err)) ctx.failed.set(idOf(device), (err as Error).message ?? String(err));
      }
      return this.residentAsFused(index, planned, ctx);
    }
    const shape = this.node(outputId).outputShape as [number, number, number];
    const last = step.layers[step.layers.length - 1] as ResidentStep['layers'][number];
    const read = await Promise.all(
      last.slices.map(async ({ device, node }) => {
        const strip = strips.get(device) as Tensor3D;
        const values = (await strip.data()) as Float32Array;
        strip.dispose();
        return { slice: { device, tile: node.out, inputs: [], nodes: [] }, values };
      }),
    );
    ctx.values.set(outputId, tf.tensor3d(mergeTileValues(shape, read), shape));
  }

  /** Tells the run's workers to stop waiting for halos (best effort: a gone worker cannot hear it). */
  private cancelRun(runId: string, devices: readonly number[], ctx: StepContext, reason: string): void {
    for (const device of devices) {
      const port = ctx.usable(device);
      port?.request({ method: RuntimeMethod.ResidentCancel, runId, reason }, [], { timeoutMs: 5_000 }).catch(() => {});
    }
  }

  /** A resident run as a fused block over the same rows: each device's last strip, back-projected to the run's input. */
  private residentAsFused(index: number, planned: PlannedStep & { step: ResidentStep }, ctx: StepContext): Promise<void> {
    const { step } = planned;
    const last = step.layers[step.layers.length - 1] as ResidentStep['layers'][number];
    const slices = sliceBlock(this.options.model.graph, step.nodeIds, last.slices.map(({ device, node }) => ({ device, tile: node.out })));
    const fused: SpatialStep = { kind: 'spatial', scheme: 'fused', nodeIds: step.nodeIds, depth: step.nodeIds.length, slices, ...(step.wire ? { wire: step.wire } : {}) };
    return this.runSpatial(index, { step: fused, prediction: planned.prediction }, ctx);
  }

  private async runFc(index: number, planned: PlannedStep & { step: FcStep }, ctx: StepContext): Promise<void> {
    const { tf, model } = this.options;
    const { step } = planned;
    const node = this.node(step.nodeId);
    const input = ctx.values.get(node.inputs[0] as number);
    if (!input) throw new RuntimeError('ERR_RUNTIME_PLAN', `step ${index} runs before its input`);
    const x = (await input.data()) as Float32Array;
    const y = new Float64Array(shapeSize(node.outputShape));
    const planId = this.planIdOf(ctx.plan);
    const pending: { slice: FcStep['workers'][number]; checked: boolean; promise: Promise<{ partial: Float32Array; entry: TaskTrace }> }[] = [];
    for (const slice of step.workers) {
      const port = ctx.usable(slice.device);
      if (!port) continue;
      const gathered = Float32Array.from(slice.inputIndex, (i) => x[i] as number);
      const t0 = this.now() - ctx.start;
      let sendEndMs: number | null = null;
      const onSent = () => (sendEndMs = this.now() - ctx.start);
      pending.push({
        slice,
        checked: this.pickCheck(ctx, 2 * slice.weights.values.length),
        promise: settleLater(port.request({ method: RuntimeMethod.Fc, planId, nodeId: step.nodeId }, [wireTensor([gathered.length], gathered)], { timeoutMs: this.deadlineMs(planned), onSent }).then((reply) => {
          const partial = reply.tensors[0];
          if (partial?.dtype !== 'float32' || partial.data.length !== slice.outputIndex.length) {
            throw new RuntimeError('ERR_RUNTIME_REQUEST', `worker returned ${partial?.data.length ?? 0} partial sums for ${slice.outputIndex.length} outputs`);
          }
          if (!allFinite(partial.data)) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'worker returned partial sums with NaN or infinite values');
          const meta = replyTiming(reply.meta);
          const entry: TaskTrace = { step: index, kind: 'fc', device: slice.device, deviceId: port.id, startMs: t0, sendEndMs, ...computeWindow(meta, port, ctx.start), endMs: this.now() - ctx.start, computeMs: meta?.computeMs ?? null, flops: 2 * slice.weights.values.length, layers: 1, bytesOut: gathered.byteLength, bytesIn: partial.data.byteLength, outcome: 'ok' };
          ctx.trace.push(entry);
          return { partial: partial.data as Float32Array, entry };
        })),
      });
    }
    const remote = new Set(pending.map((p) => p.slice));
    for (const slice of step.workers.filter((w) => !remote.has(w))) {
      const t0 = this.now() - ctx.start;
      addFcPartial(y, slice, runFcSlice(x, slice));
      const t1 = this.now() - ctx.start;
      ctx.trace.push({ step: index, kind: 'fc', device: slice.device, deviceId: ctx.plan.devices[slice.device]?.id ?? '?', startMs: t0, sendEndMs: null, computeStartMs: t0, computeEndMs: t1, endMs: t1, computeMs: t1 - t0, flops: 2 * slice.weights.values.length, layers: 1, bytesOut: 0, bytesIn: 0, outcome: slice.device === 0 ? 'ok' : 'local-fallback' });
    }
    const expected = new Map(pending.filter((p) => p.checked).map((p) => [p.slice, runFcSlice(x, p.slice)]));
    for (const { slice, promise } of pending) {
      const own = expected.get(slice);
      let got: { partial: Float32Array; entry: TaskTrace };
      try {
        got = await promise;
      } catch (err) {
        addFcPartial(y, slice, await this.fallback(index, 'fc', slice.device, err, ctx, 2 * slice.weights.values.length, () => own ?? runFcSlice(x, slice)));
        continue;
      }
      ctx.checks.summary.results++;
      if (own && !this.judge(ctx, index, got.entry.deviceId, got.partial, own)) {
        Object.assign(got.entry, { outcome: 'local-fallback', error: ctx.failed.get(got.entry.deviceId) });
        addFcPartial(y, slice, own);
        continue;
      }
      this.trust(ctx, index, got.entry.deviceId);
      addFcPartial(y, slice, got.partial);
    }
    ctx.values.set(step.nodeId, tf.tidy(() => finishFc(tf, model.weights, node, y)));
  }

  /** A worker failed or was late: note it, leave it out of the rest of this inference, compute its share here. */
  private async fallback<T>(index: number, kind: 'spatial' | 'fc', device: number, err: unknown, ctx: StepContext, flops: number, compute: () => T | Promise<T>): Promise<T> {
    const deviceId = ctx.plan.devices[device]?.id ?? '?';
    const reason = (err as Error).message ?? String(err);
    ctx.failed.set(deviceId, reason);
    const t0 = this.now() - ctx.start;
    const result = await compute();
    const t1 = this.now() - ctx.start;
    ctx.trace.push({ step: index, kind, device, deviceId, startMs: t0, sendEndMs: null, computeStartMs: t0, computeEndMs: t1, endMs: t1, computeMs: t1 - t0, flops, layers: 1, bytesOut: 0, bytesIn: 0, outcome: 'local-fallback', error: reason });
    return result;
  }
}

interface StepContext {
  plan: Plan;
  values: Map<number, Tensor>;
  trace: TaskTrace[];
  failed: Map<string, string>;
  usable: (device: number) => WorkerPort | null;
  start: number;
  checks: CheckState;
}

interface CheckState {
  options: VerifyOptions;
  summary: VerificationSummary;
  /** The first step each worker's results went into, while they are trusted. */
  firstTrusted: Map<string, number>;
  /** Workers caught in the step now running (the image is re-run once it ends). */
  caught: Set<string>;
  /** Every worker caught in this inference, with why. */
  wrong: Map<string, string>;
}

const rectSize = (rect: TileSlice['tile']): number =>
  Math.max(0, rect.rows.end - rect.rows.start + 1) * Math.max(0, rect.cols.end - rect.cols.start + 1);

async function packBand(band: Band, wire: WirePrecision): Promise<PackedActivation> {
  return packActivation((await band.tensor.data()) as Float32Array, band.tensor.shape, wire);
}

interface ResidentShare {
  flops: number;
  /** Halo bytes the device sends straight to other workers (its halos to the owner travel on the owner's link). */
  peerBytes: number;
}

/** Each device's share of a resident step, as the partitioner counts it (`residentTasks`). */
function residentShares(graph: LoadedModel['graph'], step: ResidentStep): Map<number, ResidentShare> {
  const tasks = residentTasks(graph, step);
  const shares = new Map<number, ResidentShare>(step.devices.map((device) => [device, { flops: 0, peerBytes: 0 }]));
  for (const layer of tasks.layers) {
    step.devices.forEach((device, i) => ((shares.get(device) as ResidentShare).flops += layer.flops[i] ?? 0));
    for (const { from, to, bytes } of layer.halos) if (from !== 0 && to !== 0) (shares.get(from) as ResidentShare).peerBytes += bytes;
  }
  return shares;
}

const rowsIn = (r: Range): number => Math.max(0, r.end - r.start + 1);

/** Whether a failed request means that worker failed, or only that its run was stopped because another device of it did. */
const stoppedByPeer = (err: unknown): boolean => (err as { detail?: string }).detail === 'ERR_RESIDENT_PEER';
