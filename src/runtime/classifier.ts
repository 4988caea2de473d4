/**
 * The owner's public API: `classify(image, { scheme })` → top classes, logits, trace. Gathers the
 * ready workers' profiles and links, plans on them, readies the plan's workers, runs it.
 */
import type { IncomingMessage, PeerView, RequestOptions, WireTensor } from '../mesh/index.ts';
import { prunedKernelOf, workerWeightNames, type ModelGraph, type Tensor3D, type TfModule } from '../model/index.ts';
import { pixelNodes, planInference, stepLabel, type WireOption, privateUnitCount, refreshProfile, type DeviceMeasurement, type DeviceProfile, type InputPrivacy, type Plan, type PlannerOptions } from '../partition/index.ts';
import { RuntimeError } from './errors.ts';
import { median } from './median.ts';
import { OwnerRuntime, seededRandom, type DeadlineOptions, type InferenceResult, type VerifyOptions, type WorkerPort } from './owner-runtime.ts';
import { RuntimeMethod, modelKeyOf, parseReply, profileReplySchema, type ModelSpec, type WorkerProfile } from './protocol.ts';
import type { LoadedModel } from './worker-executor.ts';

/** What the classifier needs of the owner's mesh (OwnerMesh satisfies it). */
export interface OwnerMeshLike {
  readyPeers(): PeerView[];
  request(peerId: string, meta: unknown, tensors?: readonly WireTensor[], options?: RequestOptions): Promise<IncomingMessage>;
  /**
   * Disconnects a worker and keeps its device out while the page lives, telling it and the owner's
   * worker list why (used for a worker caught lying: removed only, it would just rejoin).
   */
  block?(peerId: string, reason: string): void;
}

/** 'auto': the planner's choice; the others force a scheme on every layer that can take it. */
export type Scheme = 'auto' | 'bodp' | 'fused' | 'grid' | 'resident' | 'owner';
export const SCHEMES: readonly Scheme[] = ['auto', 'bodp', 'fused', 'grid', 'resident', 'owner'];
/** Activations on the wire: the planner's choice per step ('auto': float16 where transfers dominate), or one for every step. */
export const WIRE_OPTIONS: readonly WireOption[] = ['auto', 'float32', 'float16', 'int8'];

/** How Dense layers with pruned weights run: the scheme's own choice, or one forced. */
export type FcChoice = 'auto' | 'msccFgcp' | 'outputSplit' | 'owner';

export interface ClassifyOptions {
  scheme?: Scheme;
  /** How many top classes to return. Default 5. */
  top?: number;
  /**
   * Pruned Dense layers: 'auto' (default) keeps the scheme's choice (the planner's for 'auto',
   * MSCC + FGCP for 'bodp', the output split for 'fused' and 'grid'); the others force one, 'owner'
   * keeping them on this device.
   */
  fc?: FcChoice;
  /** 'biased' (default): shares follow measured capabilities (BODP); 'equal': the same share for every device. */
  split?: 'biased' | 'equal';
  /** False: this device computes no share of a distributed step, the workers do (default true). */
  ownerComputes?: boolean;
  /** False: keep the plan already made for these devices and options even when measured speeds drifted (default true: re-plan). */
  replan?: boolean;
  /** Deepest block of layers run as one step (default the planner's, 8); 1 makes 'grid' the paper's per-layer 2D grid. */
  maxFusedDepth?: number;
  /** Only these workers (peer ids) may be used; default every ready one. */
  workers?: readonly string[];
  /** Forget what was measured of the workers (profiles, speeds, failures) and ask them again, as after they changed. Default false. */
  reprofile?: boolean;
  /**
   * Checking the workers: each result a worker returns is recomputed on this device with chance
   * `fraction` (default 0.1), spending at most `budget` × the image's FLOPs on checks (default
   * 0.1); `seed` makes the draws repeatable (default: crypto randomness, unpredictable to
   * workers). A worker caught with a wrong result is evicted and the image re-run without it.
   * false: no checks.
   */
  verify?: { fraction?: number; budget?: number; seed?: number } | false;
  /** Input privacy: keep the first layer or block on this device so the image never leaves it. Default 'off'. */
  privacy?: InputPrivacy;
  /**
   * Activations on the wire for split convolutions (Dense layers stay float32): 'float32' (default,
   * exact), 'float16' or 'int8' for every step, or 'auto' (float16 where the planner predicts the
   * step is bound by transfers). The answer's effect is measured in the benchmark.
   */
  wire?: WireOption;
}

/** Classifying many images with several in flight at once (`Classifier.classifyMany`). */
export interface ClassifyManyOptions extends ClassifyOptions {
  /**
   * 'pipeline' (default): every image is split over the mesh as `classify` splits it, `inFlight`
   * at once, so the next one's early layers run while the last one's late layers finish.
   * 'spread': each device takes whole images, one at a time (its convolutions; Dense layers on
   * this device): no halos and no per-layer transfers, so the most images per second, each image
   * as slow as one device. Result checks rarely fit their budget then (a check is a whole image).
   */
  mode?: 'pipeline' | 'spread';
  /** Images in progress at once in 'pipeline' mode (default 2). 'spread' has one per device. */
  inFlight?: number;
  /** Called as each image ends, in the order they end. */
  onImage?: (index: number, outcome: { ok: true; result: Classification } | { ok: false; error: Error }) => void;
  /** Stops starting new images; the ones in flight finish. */
  signal?: AbortSignal;
}

export interface BatchSummary {
  images: number;
  done: number;
  failed: number;
  /** From the first image's start to the last one's end. */
  totalMs: number;
  /** Images answered per second over `totalMs`. */
  imagesPerSecond: number;
  /** Median time from an image's start to its answer. */
  medianLatencyMs: number;
  inFlight: number;
}

export const INPUT_PRIVACY: readonly InputPrivacy[] = ['off', 'firstLayer', 'firstBlock'];

/** Deep enough for any model's whole stack of spatial layers in one fused block (a 'spread' image on one worker). */
const WHOLE_STACK = 1_000;

/** Checks on by default: about one result in ten, at most a tenth of the image's work (bench/results/verification.md). */
export const DEFAULT_VERIFY = { fraction: 0.1, budget: 0.1 } as const;

function verifyOptions(verify: ClassifyOptions['verify']): Partial<VerifyOptions> {
  if (verify === false) return { fraction: 0 };
  const fraction = verify?.fraction ?? DEFAULT_VERIFY.fraction;
  const budget = verify?.budget ?? DEFAULT_VERIFY.budget;
  if (!(fraction >= 0 && fraction <= 1)) throw new RuntimeError('ERR_RUNTIME_PLAN', `verify.fraction is a chance between 0 and 1, not ${String(fraction)}`);
  if (!(budget >= 0)) throw new RuntimeError('ERR_RUNTIME_PLAN', `verify.budget is a fraction of the image's FLOPs (≥ 0), not ${String(budget)}`);
  return { fraction, budget, ...(verify?.seed !== undefined ? { random: seededRandom(verify.seed) } : {}) };
}

/** The planner options a classification's own options add. */
function optionPlannerOptions(options: ClassifyOptions, graph: ModelGraph): PlannerOptions {
  const fc = options.fc ?? 'auto';
  const privacy = options.privacy ?? 'off';
  if (!INPUT_PRIVACY.includes(privacy)) throw new RuntimeError('ERR_RUNTIME_PLAN', `privacy is one of ${INPUT_PRIVACY.join(', ')}, not ${String(privacy)}`);
  const privateUnits = privateUnitCount(graph, privacy);
  const wire = options.wire ?? 'float32';
  if (!WIRE_OPTIONS.includes(wire)) throw new RuntimeError('ERR_RUNTIME_PLAN', `wire is one of ${WIRE_OPTIONS.join(', ')}, not ${String(wire)}`);
  return {
    ...(wire !== 'float32' ? { wire } : {}),
    ...(fc === 'auto' ? {} : { fcSchemes: fc === 'owner' ? [] : [fc] }),
    ...(options.split === 'equal' ? { equalSplit: true } : {}),
    ...(options.ownerComputes === false ? { ownerComputes: false } : {}),
    ...(options.maxFusedDepth !== undefined ? { maxFusedDepth: options.maxFusedDepth } : {}),
    ...(privateUnits > 0 ? { ownerFirstUnits: privateUnits } : {}),
  };
}

/**
 * What the plan sends to workers, for telling the user what leaves the device: the layer workers
 * start computing at, the first map they receive, and whether any of it is the image itself (the
 * input, or the input merely padded, pooled or reshaped). Null when nothing leaves.
 */
export interface Exposure {
  /** The first layer a worker computes. */
  firstLayer: string;
  /** The layer whose output that first message carries, and that output's [H, W, C]. */
  sentLayer: string;
  shape: number[];
  /** True when some worker receives the image's pixels. */
  image: boolean;
}

function exposureOf(plan: Plan, graph: ModelGraph): Exposure | null {
  const pixels = pixelNodes(graph);
  let first: { layer: number; sent: number } | null = null;
  let image = false;
  for (const { step } of plan.steps) {
    let sent: number[] = [];
    let layer: number;
    if (step.kind === 'spatial') {
      sent = step.slices.filter((s) => s.device !== 0).flatMap((s) => s.inputs.map((i) => i.nodeId));
      layer = step.nodeIds[0] as number;
    } else if (step.kind === 'fc') {
      if (step.workers.some((w) => w.device !== 0)) sent = [graph.nodes[step.nodeId]?.inputs[0] as number];
      layer = step.nodeId;
    } else continue;
    if (sent.length === 0) continue;
    first ??= { layer, sent: sent[0] as number };
    if (sent.some((id) => pixels.has(id))) image = true;
  }
  if (!first) return null;
  const sentNode = graph.nodes[first.sent];
  return { firstLayer: graph.nodes[first.layer]?.name ?? '?', sentLayer: sentNode?.name ?? '?', shape: [...(sentNode?.outputShape ?? [])], image };
}

export interface Classification {
  top: { index: number; probability: number }[];
  /** The model's output: logits, or probabilities when its last layer is a softmax (then `top` reads them as they are). */
  logits: Float32Array;
  /** Devices the plan used (ids; 'owner' first) and the ones the planner left out, with why. */
  devices: string[];
  excluded: { deviceId: string; reason: string }[];
  scheme: Scheme;
  /** Steps of the plan, e.g. "fused(6) fused(4) owner×4". */
  steps: string;
  predictedMs: number;
  ownerAlonePredictedMs: number;
  result: InferenceResult;
  /** Workers left out because they failed or were late on an earlier image, with why. */
  suspended: { deviceId: string; reason: string }[];
  /** Bytes of pruned Dense weights each device of the plan holds for it (CSR: value and column index per nonzero), by id. */
  fcWeightBytes: Record<string, number>;
  /** Workers evicted for returning wrong results on this image, with why (the answer was computed again without them). */
  evicted: { deviceId: string; reason: string }[];
  /** What this image's plan sends to workers (null: nothing left this device). */
  exposure: Exposure | null;
  privacy: InputPrivacy;
}

export interface ClassifierOptions {
  tf: TfModule;
  mesh: OwnerMeshLike;
  spec: ModelSpec;
  model: LoadedModel;
  /** The owner's own fitted compute cost. */
  ownerProfile: { aMsPerFlop: number; bMs: number };
  /** The package's bytes when `spec` is a package (a model dropped into the owner's page). */
  packageBytes?: Uint8Array;
  /** Progress of a package going out to a worker. */
  onUpload?: (deviceId: string, sentBytes: number, totalBytes: number) => void;
  deadline?: Partial<DeadlineOptions>;
  /** False: the workers cannot open direct links to each other, so no resident runs. Default true. */
  peerLinks?: boolean;
}

const SCHEME_OPTIONS: Record<Exclude<Scheme, 'auto' | 'owner'>, PlannerOptions> = {
  bodp: { spatialSchemes: ['bodp'], fcSchemes: ['msccFgcp'], allowOwnerOnly: false, excludeDevices: false },
  fused: { spatialSchemes: ['fused'], fcSchemes: ['outputSplit'], allowOwnerOnly: false, excludeDevices: false },
  grid: { spatialSchemes: ['grid'], fcSchemes: ['outputSplit'], allowOwnerOnly: false, excludeDevices: false },
  resident: { spatialSchemes: ['resident'], peerLinks: true, fcSchemes: ['outputSplit'], allowOwnerOnly: false, excludeDevices: false },
};

/** Defaults for a link not measured yet: home Wi-Fi. */
const DEFAULT_BYTES_PER_MS = 5_000;
const DEFAULT_WAKE_MS = 3;

/**
 * The k most likely classes. A model whose last layer is a softmax already gives probabilities
 * (applying softmax again would flatten them towards uniform); otherwise its logits are turned
 * into probabilities here.
 */
function topClasses(output: Float32Array, k: number, isProbabilities: boolean): { index: number; probability: number }[] {
  let probabilities: number[];
  if (isProbabilities) probabilities = Array.from(output);
  else {
    const max = Math.max(...output);
    const exps = Array.from(output, (v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    probabilities = exps.map((e) => e / sum);
  }
  return probabilities
    .map((probability, index) => ({ index, probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}

export class Classifier {
  readonly runtime: OwnerRuntime;
  private readonly workerProfiles = new Map<string, Promise<WorkerProfile>>();
  private readonly plans = new Map<string, { plan: Plan; basis: readonly DeviceProfile[] }>();
  /** Profiles refreshed from what each inference measured (moving average), by device id. */
  private readonly measured = new Map<string, DeviceProfile>();
  /** Workers that failed or were late: given no more work (a reconnect gives them a new id). */
  private readonly suspended = new Map<string, string>();
  /** Each worker's profile once it answered (for displays), by peer id. */
  private readonly answeredProfiles = new Map<string, WorkerProfile>();
  /** Bytes of weights a worker must hold for this model (its convolutions; FC slices come with plans). */
  private readonly workerWeightBytes: number;
  /** Whether the model's output is already a softmax (probabilities, not logits). */
  private readonly outputIsSoftmax: boolean;

  constructor(private readonly options: ClassifierOptions) {
    const { graph } = options.model;
    const last = graph.nodes[graph.outputId]?.attrs as { op?: string; activation?: { kind?: string } } | undefined;
    this.outputIsSoftmax = last?.op === 'softmax' || last?.activation?.kind === 'softmax';
    const kept = new Set(workerWeightNames(options.model.graph));
    this.workerWeightBytes = sum([...options.model.weights.dense].filter(([name]) => kept.has(name)), ([, w]) => w.values.byteLength);
    this.runtime = new OwnerRuntime({
      tf: options.tf,
      spec: options.spec,
      model: options.model,
      ...(options.deadline ? { deadline: options.deadline } : {}),
      ...(options.packageBytes ? { packageBytes: options.packageBytes } : {}),
      ...(options.onUpload ? { onUpload: options.onUpload } : {}),
    });
  }

  /** Classifies `image` ([H, W, C], the model's input size). The answer is always complete. */
  async classify(image: Tensor3D, options: ClassifyOptions = {}): Promise<Classification> {
    const scheme = options.scheme ?? 'auto';
    if (options.reprofile) {
      this.workerProfiles.clear();
      this.answeredProfiles.clear();
      this.suspended.clear();
      for (const id of this.measured.keys()) if (id !== 'owner') this.measured.delete(id);
    }
    const allowed = (p: PeerView) => !this.suspended.has(p.peerId) && (options.workers === undefined || options.workers.includes(p.peerId));
    const candidates = scheme === 'owner' ? [] : this.options.mesh.readyPeers().filter(allowed);
    const tooSmall = candidates.filter((p) => memoryBudget(p) < this.workerWeightBytes);
    const peers = candidates.filter((p) => !tooSmall.includes(p));
    const { profiled, unprofiled } = await this.profilePeers(peers);
    const initial: DeviceProfile[] = [
      { id: 'owner', ...this.options.ownerProfile, bandwidthBytesPerMs: Number.MAX_SAFE_INTEGER, wakeMs: 0, memoryBytes: 4e9 },
      ...profiled.map(({ peer, profile }) => ({
        id: peer.peerId,
        aMsPerFlop: profile.aMsPerFlop,
        bMs: profile.bMs,
        bandwidthBytesPerMs: peer.throughputBytesPerSec ? peer.throughputBytesPerSec / 1000 : DEFAULT_BYTES_PER_MS,
        wakeMs: peer.rttMs !== null ? peer.rttMs / 2 : DEFAULT_WAKE_MS,
        memoryBytes: memoryBudget(peer),
      })),
    ];
    const devices = initial.map((d) => this.measured.get(d.id) ?? d);
    const plan = this.planFor(scheme, devices, options);
    const offsets = new Map(peers.map((p) => [p.peerId, p.clockOffsetMs]));
    const ports = new Map<string, WorkerPort>(
      plan.devices.slice(1).map((d) => [
        d.id,
        {
          id: d.id,
          request: (meta, tensors, opts) => this.options.mesh.request(d.id, meta, tensors, opts),
          clockOffsetMs: () => offsets.get(d.id) ?? null,
        },
      ]),
    );
    const prepareFailures = await this.runtime.prepare(plan, ports);
    const result = await this.runtime.infer(plan, ports, image, { verify: verifyOptions(scheme === 'owner' ? false : options.verify) });
    for (const { deviceId, reason } of [...prepareFailures, ...result.failed]) this.suspended.set(deviceId, reason);
    // A worker that lied is out of the room, not just of this model, and stays out: block it through the mesh (its row says why).
    for (const { deviceId, reason } of result.wrong) this.options.mesh.block?.(deviceId, reason);
    this.refreshProfiles(plan, result);
    return {
      top: topClasses(result.output, options.top ?? 5, this.outputIsSoftmax),
      logits: result.output,
      devices: plan.devices.map((d) => d.id),
      excluded: [
        ...tooSmall.map((p) => ({ deviceId: p.peerId, reason: `this model’s weights need ${mb(this.workerWeightBytes)}; the device offers about ${mb(memoryBudget(p))} (a quarter of its memory)` })),
        ...unprofiled.map(({ deviceId, reason }) => ({ deviceId, reason: `could not be measured for this model: ${reason}` })),
        ...plan.excluded.map((e) => ({ ...e })),
      ],
      scheme,
      steps: describeSteps(plan),
      predictedMs: plan.predictedMs,
      ownerAlonePredictedMs: plan.ownerAloneMs,
      result,
      suspended: [...this.suspended].map(([deviceId, reason]) => ({ deviceId, reason })),
      fcWeightBytes: fcWeightBytes(plan, this.options.model.graph, this.options.model.weights.sparse),
      evicted: result.wrong,
      exposure: exposureOf(plan, this.options.model.graph),
      privacy: scheme === 'owner' ? 'off' : (options.privacy ?? 'off'),
    };
  }

  /**
   * Classifies many images with `inFlight` of them in progress at once, so the mesh is never idle
   * between images: while one image's last layers finish, the next one's first layers already
   * run. Each loader is called when its image starts (decoding stays lazy) and its tensor is
   * disposed when it ends. An image that fails is reported and the batch goes on.
   */
  async classifyMany(images: readonly (() => Promise<Tensor3D> | Tensor3D)[], options: ClassifyManyOptions = {}): Promise<BatchSummary> {
    const spread = options.mode === 'spread';
    // Spread: one lane per device, each running whole images on its device only.
    const lanes: ClassifyOptions[] = spread
      ? [
          { ...options, scheme: 'owner' },
          ...this.options.mesh
            .readyPeers()
            .filter((p) => !this.suspended.has(p.peerId) && memoryBudget(p) >= this.workerWeightBytes && (options.workers === undefined || options.workers.includes(p.peerId)))
            .map((p): ClassifyOptions => ({ ...options, scheme: 'fused', workers: [p.peerId], ownerComputes: false, fc: 'owner', maxFusedDepth: WHOLE_STACK })),
        ]
      : Array.from({ length: Math.max(1, Math.min(8, Math.floor(options.inFlight ?? 2))) }, () => options);
    const inFlight = lanes.length;
    const latencies: number[] = [];
    let done = 0;
    let failed = 0;
    let next = 0;
    const t0 = performance.now();
    const lane = async (laneOptions: ClassifyOptions): Promise<void> => {
      // A spread lane's worker that failed or left hands its images to the other lanes.
      const gone = () => laneOptions.workers?.some((id) => this.suspended.has(id) || !this.options.mesh.readyPeers().some((p) => p.peerId === id)) ?? false;
      while (next < images.length && !options.signal?.aborted && !gone()) {
        const index = next++;
        const started = performance.now();
        let image: Tensor3D | null = null;
        try {
          image = await (images[index] as () => Promise<Tensor3D> | Tensor3D)();
          const result = await this.classify(image, laneOptions);
          latencies.push(performance.now() - started);
          done++;
          options.onImage?.(index, { ok: true, result });
        } catch (err) {
          failed++;
          options.onImage?.(index, { ok: false, error: err instanceof Error ? err : new Error(String(err)) });
        } finally {
          image?.dispose();
        }
      }
    };
    await Promise.all(lanes.slice(0, Math.max(1, Math.min(inFlight, images.length))).map(lane));
    const totalMs = performance.now() - t0;
    const medianLatencyMs = latencies.length === 0 ? 0 : median(latencies);
    return { images: images.length, done, failed, totalMs, imagesPerSecond: totalMs > 0 ? (done * 1000) / totalMs : 0, medianLatencyMs, inFlight };
  }

  /**
   * Gets every ready worker ready for this model now (loaded, sent if need be, profiled), so a
   * worker that just joined does not make the next image wait for it.
   */
  async warmUp(): Promise<void> {
    await this.profilePeers(this.options.mesh.readyPeers().filter((p) => !this.suspended.has(p.peerId) && memoryBudget(p) >= this.workerWeightBytes));
  }

  /**
   * Each ready worker's backend and capability on this model, asked once and kept; the workers
   * whose profile failed, with why (left out of this image). Per call: two classifications at
   * once must not mix their reasons.
   */
  private async profilePeers(peers: readonly PeerView[]): Promise<{ profiled: { peer: PeerView; profile: WorkerProfile }[]; unprofiled: { deviceId: string; reason: string }[] }> {
    const unprofiled: { deviceId: string; reason: string }[] = [];
    const results = await Promise.all(
      peers.map(async (peer) => {
        let profile = this.workerProfiles.get(peer.peerId);
        if (!profile) {
          profile = (async () => {
            await this.runtime.ensureModel({ id: peer.peerId, request: (meta, tensors, opts) => this.options.mesh.request(peer.peerId, meta, tensors, opts) });
            const reply = await this.options.mesh.request(peer.peerId, { method: RuntimeMethod.Profile, modelKey: modelKeyOf(this.options.spec) }, [], { timeoutMs: 60_000 });
            // A peer's numbers feed the planner: only a speed some device could have is taken.
            const p = parseReply(profileReplySchema, reply.meta);
            if (!p) throw new Error('its profile is malformed or claims an impossible speed');
            return p;
          })();
          this.workerProfiles.set(peer.peerId, profile);
          profile.then((p) => this.answeredProfiles.set(peer.peerId, p), () => {});
          profile.catch(() => this.workerProfiles.delete(peer.peerId));
        }
        try {
          return { peer, profile: await profile };
        } catch (err) {
          // A worker that cannot even profile is left out of this image, and says why.
          unprofiled.push({ deviceId: peer.peerId, reason: (err as Error).message ?? String(err) });
          return null;
        }
      }),
    );
    return { profiled: results.filter((r): r is { peer: PeerView; profile: WorkerProfile } => r !== null), unprofiled };
  }

  /**
   * Plans are kept per scheme and device set, and made again when a join or leave changes the
   * set or a device's measured speed or link has drifted by more than a quarter since.
   */
  private planFor(scheme: Scheme, devices: DeviceProfile[], options: ClassifyOptions = {}): Plan {
    const extra = scheme === 'owner' ? {} : optionPlannerOptions(options, this.options.model.graph);
    const key = `${scheme}|${options.verify === false}|${JSON.stringify(extra)}|${devices.map((d) => d.id).join(',')}`;
    const kept = this.plans.get(key);
    if (kept && options.replan === false) return kept.plan;
    const drifted = (a: number, b: number) => Math.abs(a - b) > 0.25 * Math.min(a, b);
    const stale =
      !kept ||
      kept.basis.some((old, i) => {
        const now = devices[i] as DeviceProfile;
        return drifted(old.aMsPerFlop, now.aMsPerFlop) || drifted(old.bandwidthBytesPerMs, now.bandwidthBytesPerMs);
      });
    if (!stale) return kept.plan;
    // Resident runs are not spot-checked (a wrong halo would make an honest neighbour look wrong), so the automatic planner uses them only with checks off.
    const forced = scheme === 'owner' ? {} : scheme === 'auto' ? (options.verify === false && this.options.peerLinks !== false ? { peerLinks: true } : {}) : SCHEME_OPTIONS[scheme];
    const used = scheme === 'owner' ? devices.slice(0, 1) : devices;
    const plan = planInference(this.options.model.graph, used, { ...forced, ...extra, fcWeights: this.options.model.weights.sparse });
    this.plans.set(key, { plan, basis: used });
    return plan;
  }

  /** Folds what this inference measured into each device's profile, for the next plan. */
  private refreshProfiles(plan: Plan, result: InferenceResult): void {
    for (const device of plan.devices) {
      const tasks = result.trace.filter((t) => t.deviceId === device.id && t.outcome === 'ok' && t.computeMs !== null);
      if (tasks.length === 0) continue;
      const measurement: { compute?: DeviceMeasurement['compute']; transfer?: DeviceMeasurement['transfer'] } = {
        // A resident strip's time includes waiting for its neighbours' halos: that is not the device's speed.
        compute: { flops: sum(tasks, (t) => t.flops), layers: sum(tasks, (t) => t.layers), ms: sum(tasks, (t) => (t.computeMs ?? 0) - (t.haloWaitMs ?? 0)) },
      };
      const remote = tasks.filter((t) => t.bytesOut + t.bytesIn > 0);
      if (remote.length > 0) {
        measurement.transfer = { bytes: sum(remote, (t) => t.bytesOut + t.bytesIn), ms: sum(remote, (t) => Math.max(0, t.endMs - t.startMs - (t.computeMs ?? 0))) };
      }
      this.measured.set(device.id, refreshProfile(this.measured.get(device.id) ?? device, measurement));
    }
  }

  /** What each worker reported about itself for this model (backend, fitted cost), by peer id. */
  workerProfilesAnswered(): ReadonlyMap<string, WorkerProfile> {
    return this.answeredProfiles;
  }

  /** The current (measured, smoothed) profile of each device that has run something. */
  profiles(): Map<string, DeviceProfile> {
    return new Map(this.measured);
  }

  /** The model's input shape, [H, W, C]. */
  get inputShape(): [number, number, number] {
    const { graph } = this.options.model;
    return graph.nodes[graph.inputId]?.outputShape as [number, number, number];
  }
}

function describeSteps(plan: Plan): string {
  const parts: string[] = [];
  for (const { step } of plan.steps) {
    const label = stepLabel(step);
    const last = parts.at(-1);
    const match = last ? /^(.*?)(?:×(\d+))?$/.exec(last) : null;
    if (match && match[1] === label && step.kind === 'owner') parts[parts.length - 1] = `${label}×${Number(match[2] ?? 1) + 1}`;
    else parts.push(label);
  }
  return parts.join(' ');
}

/**
 * Pruned Dense weights per device of a plan (CSR: 8 bytes per nonzero): each device's FC slices,
 * and the whole matrix on the owner for a pruned Dense layer it runs alone.
 */
function fcWeightBytes(plan: Plan, graph: LoadedModel['graph'], sparse: LoadedModel['weights']['sparse']): Record<string, number> {
  const bytes: Record<string, number> = Object.fromEntries(plan.devices.map((d) => [d.id, 0]));
  const add = (id: string | undefined, nonzeros: number) => {
    if (id !== undefined) bytes[id] = (bytes[id] ?? 0) + 8 * nonzeros;
  };
  for (const { step } of plan.steps) {
    if (step.kind === 'fc') {
      for (const w of step.workers) add(plan.devices[w.device]?.id, w.weights.values.length);
    } else if (step.kind === 'owner') {
      for (const nodeId of step.nodeIds) {
        const node = graph.nodes[nodeId];
        const kernel = node && prunedKernelOf(node, sparse);
        if (kernel) add(plan.devices[0]?.id, kernel.values.length);
      }
    }
  }
  return bytes;
}

/** The memory the planner may use on a worker: a quarter of what its browser reports (2 GB when it says nothing). */
const memoryBudget = (peer: PeerView): number => (peer.device?.memoryGb ?? 2) * 2 ** 30 * 0.25;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;

const sum = <T>(items: readonly T[], value: (item: T) => number): number => items.reduce((total, item) => total + value(item), 0);
