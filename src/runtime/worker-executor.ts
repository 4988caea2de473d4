/**
 * The worker's side of the runtime: builds (or gets) the model it is told to run, then computes
 * the tiles and Dense-layer shares the owner sends, releasing every tensor after each task.
 */
import * as v from 'valibot';
import type { IncomingMessage, Reply, RequestOptions, WireTensor } from '../mesh/index.ts';
import { wireTensor } from '../mesh/index.ts';
import {
  buildMobileNetV2,
  buildVgg16,
  contentHash,
  lowerLayersModel,
  packModel,
  shapeSize,
  unpackModel,
  unpackRunnable,
  weightsFromLayersModel,
  workerWeightNames,
  type CsrMatrix,
  type ModelArtifactsLike,
  type ModelGraph,
  type DenseTensor,
  type ModelWeights,
  type TfModule,
} from '../model/index.ts';
import { residentLayerSlice } from '../partition/index.ts';
import { memoryModelStore, type ModelStore } from './model-store.ts';
import { yieldToEventLoop } from '../compute/index.ts';
import { runFcSlice, runTileSliceStepwise, type Band } from './local-executor.ts';
import { RuntimeError } from './errors.ts';
import { HaloMailbox, letterBytes, runResidentStrip, type HaloLetter, type ResidentProgram } from './resident.ts';
import { packActivation, unpackActivation, valueShape, type PackedActivation } from './wire-precision.ts';
import {
  RuntimeMethod,
  tileSliceMisfit,
  haloPullSchema,
  haloSchema,
  peersSchema,
  residentCancelSchema,
  residentSchema,
  spatialWireSchema,
  fcInstallSchema,
  fcSchema,
  loadSchema,
  modelKeyOf,
  profileSchema,
  putSchema,
  spatialSchema,
  type ModelSpec,
  type WorkerProfile,
} from './protocol.ts';

/** A request handler; `from` is the sender's peer id (the owner, or a neighbouring worker). */
export type RuntimeHandler = (request: IncomingMessage, from?: string) => Promise<Reply> | Reply;

/** Direct links to other workers of the room (the mesh's neighbour links), for resident runs. */
export interface NeighbourPorts {
  /** Opens (or reuses) an authenticated link to another worker. */
  connect(peerId: string): Promise<void>;
  request(peerId: string, meta: unknown, tensors?: readonly WireTensor[], options?: RequestOptions): Promise<IncomingMessage>;
}

/** Measures this device on a model (backend, fitted a and b); see compute's `profileCompute`. */
export type Profiler = (graph: ModelGraph) => Promise<WorkerProfile>;

export interface LoadedModel {
  graph: ModelGraph;
  weights: ModelWeights;
}

/** Gets a model's graph and weights from its spec. */
export type ModelResolver = (spec: ModelSpec) => Promise<LoadedModel>;

/**
 * Builds a seeded zoo model: every device gets the same weights from the same parameters. Layer
 * by layer with `pause()` in between, so the page keeps answering its peers: full VGG-16 takes
 * seconds to generate. `workerOnly`: just the weights a worker holds (`workerWeights`), which
 * skips the pruned Dense kernels, most of that time.
 */
export async function resolveZooModel(spec: Extract<ModelSpec, { kind: 'zoo' }>, options: { workerOnly?: boolean; pause?: () => Promise<void> } = {}): Promise<LoadedModel> {
  const zoo = spec.name === 'vgg16' ? buildVgg16(spec.options) : buildMobileNetV2(spec.options);
  const pause = options.pause ?? yieldToEventLoop;
  const kept = options.workerOnly ? new Set(workerWeightNames(zoo.graph)) : null;
  const dense = new Map<string, DenseTensor>();
  const sparse = new Map<string, CsrMatrix>();
  for (const node of zoo.graph.nodes) {
    const names = node.weights.map((w) => w.name).filter((name) => !kept || kept.has(name));
    if (names.length === 0) continue;
    const part = zoo.weights(new Set(names));
    for (const [name, weight] of part.dense) dense.set(name, weight);
    for (const [name, weight] of part.sparse) sparse.set(name, weight);
    await pause();
  }
  return { graph: zoo.graph, weights: { dense, sparse } };
}

/**
 * Loads a TF.js model's package (topology, manifest, weights: what a user drops in) into the graph
 * and weights the runtime runs, through a live TF.js model. The owner does this.
 */
export async function loadPackage(tf: TfModule, bytes: Uint8Array): Promise<LoadedModel> {
  const artifacts = unpackModel(bytes);
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  try {
    const graph = lowerLayersModel(model);
    return { graph, weights: await weightsFromLayersModel(model, graph) };
  } finally {
    model.dispose();
  }
}

/**
 * Only the weights a worker can be asked to run: Dense kernels go (their slices arrive with the
 * plan, runtime.fc.install), so a worker never keeps a whole fully-connected matrix.
 */
export function workerWeights(model: LoadedModel): LoadedModel {
  const keep = new Set(workerWeightNames(model.graph));
  return {
    graph: model.graph,
    weights: { dense: new Map([...model.weights.dense].filter(([name]) => keep.has(name))), sparse: new Map() },
  };
}

/** Loads a TF.js model's files (model.json and its weights) from a URL, as a package. */
export type ModelFetcher = (url: string) => Promise<Uint8Array>;

/** In a page: the model from this page's own server, through TF.js's HTTP loader. */
export function fetchServedModel(tf: TfModule): ModelFetcher {
  return async (url) => {
    const handler = tf.io.http(new URL(url, location.origin).toString());
    if (!handler.load) throw new Error('no HTTP loader');
    return packModel((await handler.load()) as unknown as ModelArtifactsLike);
  };
}

/**
 * Zoo models are built locally; served models are loaded from the server and checked against the
 * owner's hash; runnable packages come from the store (or are reported missing, and the owner sends them).
 */
export function defaultResolver(tf: TfModule, store: ModelStore, fetchModel: ModelFetcher | null = null, pause: () => Promise<void> = yieldToEventLoop): ModelResolver {
  return async (spec) => {
    if (spec.kind === 'zoo') return resolveZooModel(spec, { workerOnly: true, pause });
    if (spec.kind === 'served') {
      if (!fetchModel) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'this worker cannot fetch models from a server');
      const bytes = await fetchModel(spec.url);
      const hash = await contentHash(bytes);
      if (hash !== spec.hash) throw new RuntimeError('ERR_RUNTIME_REQUEST', `${spec.url} here has SHA-256 ${hash.slice(0, 12)}…, the owner's ${spec.hash.slice(0, 12)}…: reload both pages`);
      return workerWeights(await loadPackage(tf, bytes));
    }
    const bytes = await store.get(spec.hash);
    if (!bytes) throw new RuntimeError('ERR_MODEL_MISSING', `model package ${spec.hash.slice(0, 12)}… is not on this worker yet`);
    return unpackRunnable(bytes);
  };
}

export interface WorkerExecutorOptions {
  tf: TfModule;
  /** Where packages are kept by hash. Default: in memory. */
  store?: ModelStore;
  /** How a spec becomes a model. Default: zoo models built here, served ones fetched, packages from the store. */
  resolve?: ModelResolver;
  /** Loads a served model (default: none, so served models fail with a clear reason). */
  fetchModel?: ModelFetcher;
  profiler?: Profiler | null;
  /** The TF.js backend running here, reported to the owner. */
  backend?: { name: string; adapter: string | null };
  now?: () => number;
  /**
   * Awaited between the layers of a task, so the page answers its owner's heartbeat while it
   * computes. Default: one turn of the event loop.
   */
  pause?: () => Promise<void>;
  /** Links to other workers; without them this worker cannot take part in resident runs. */
  neighbours?: NeighbourPorts;
}

/** Plans whose Dense-layer slices a worker keeps at once. */
const MAX_KEPT_PLANS = 8;

interface InstalledFc {
  inputIndex: Int32Array;
  weights: CsrMatrix;
}

export interface WorkerStats {
  tasks: number;
  /** Output rows of spatial tiles computed. */
  rows: number;
  /** Halos of resident runs sent to and received from other workers directly (not via the owner). */
  halosToPeers: number;
  halosFromPeers: number;
}

function parse<S extends v.GenericSchema>(schema: S, meta: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, meta);
  if (!result.success) throw new RuntimeError('ERR_RUNTIME_REQUEST', `${what}: ${result.issues[0]?.message ?? 'malformed'}`);
  return result.output;
}

export class WorkerExecutor {
  readonly stats: WorkerStats = { tasks: 0, rows: 0, halosToPeers: 0, halosFromPeers: 0 };
  /** Halos that arrived for resident runs, and the ones computed for the owner to pull. */
  private readonly mailbox = new HaloMailbox<HaloLetter>(letterBytes);
  private readonly outbox = new HaloMailbox<{ rows: HaloLetter['rows']; packed: PackedActivation }>((halo) => halo.packed.tensor.data.byteLength);
  private readonly neighbours: NeighbourPorts | null;
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly fcSlices = new Map<string, InstalledFc>();

  private readonly profiles = new Map<string, Promise<WorkerProfile>>();
  /**
   * The package being received, by hash: only one this worker reported missing, and one at a time.
   * Its parts are kept as they arrive (not a buffer of the size the owner claims), so memory
   * follows the bytes really sent.
   */
  private readonly uploads = new Map<string, { total: number; parts: Uint8Array[]; received: number }>();
  private readonly tf: TfModule;
  private readonly store: ModelStore;
  private readonly resolve: ModelResolver;
  private readonly profiler: Profiler | null;
  private readonly backend: { name: string; adapter: string | null } | null;
  private readonly now: () => number;
  private readonly pause: () => Promise<void>;

  constructor(options: WorkerExecutorOptions) {
    this.tf = options.tf;
    this.store = options.store ?? memoryModelStore();
    this.pause = options.pause ?? yieldToEventLoop;
    this.resolve = options.resolve ?? defaultResolver(options.tf, this.store, options.fetchModel ?? null, this.pause);
    this.profiler = options.profiler ?? null;
    this.backend = options.backend ?? null;
    this.now = options.now ?? (() => performance.now());
    this.neighbours = options.neighbours ?? null;
  }

  /** The request handlers, by method name (for `WorkerMesh.handle`). */
  readonly methods: Readonly<Record<string, RuntimeHandler>> = {
    [RuntimeMethod.Load]: (r) => this.load(r),
    [RuntimeMethod.Spatial]: (r) => this.spatial(r),
    [RuntimeMethod.FcInstall]: (r) => this.fcInstall(r),
    [RuntimeMethod.Fc]: (r) => this.fc(r),
    [RuntimeMethod.Profile]: (r) => this.profile(r),
    [RuntimeMethod.Put]: (r) => this.put(r),
    [RuntimeMethod.Info]: () => ({ meta: { backend: this.backend?.name ?? null, adapter: this.backend?.adapter ?? null } }),
    [RuntimeMethod.Peers]: (r) => this.peers(r),
    [RuntimeMethod.Resident]: (r, from) => this.resident(r, from),
    [RuntimeMethod.Halo]: (r, from) => this.halo(r, from),
    [RuntimeMethod.HaloPull]: (r) => this.haloPull(r),
    [RuntimeMethod.ResidentCancel]: (r) => this.residentCancel(r),
  };

  /** One handler for every runtime method (for a bare `MessageLink`). */
  handle = (request: IncomingMessage, from?: string): Promise<Reply> | Reply => {
    const method = (request.meta as { method?: unknown } | null)?.method;
    // Own properties only: a peer naming 'constructor' or 'hasOwnProperty' gets a refusal, not Object's.
    const handler = typeof method === 'string' && Object.hasOwn(this.methods, method) ? this.methods[method] : undefined;
    if (!handler) throw new RuntimeError('ERR_RUNTIME_REQUEST', `unknown method ${JSON.stringify(method)}`);
    return handler(request, from);
  };

  private async load(request: IncomingMessage): Promise<Reply> {
    const { spec } = parse(loadSchema, request.meta, 'runtime.load');
    const t0 = this.now();
    try {
      await this.model(modelKeyOf(spec), spec);
    } catch (err) {
      // Ready to take the package the owner will send.
      if (err instanceof RuntimeError && err.code === 'ERR_MODEL_MISSING' && spec.kind === 'package' && !this.uploads.has(spec.hash)) {
        this.uploads.clear();
        this.uploads.set(spec.hash, { total: spec.bytes, parts: [], received: 0 });
      }
      throw err;
    }
    return { meta: { modelKey: modelKeyOf(spec), ms: this.now() - t0 } };
  }

  /** A part of a package this worker reported missing; in order; checked against its hash at the end. */
  private async put(request: IncomingMessage): Promise<Reply> {
    const { hash, offset, total } = parse(putSchema, request.meta, 'runtime.model.put');
    const upload = this.uploads.get(hash);
    const chunk = request.tensors[0];
    if (!upload || upload.total !== total) throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.model.put: no upload of ${hash.slice(0, 12)}… (${total} bytes) was asked for`);
    if (chunk?.dtype !== 'uint8' || offset !== upload.received || offset + chunk.data.byteLength > total) {
      throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.model.put: expected bytes from ${upload.received}, got ${chunk?.data.byteLength ?? 0} at ${offset}`);
    }
    upload.parts.push(new Uint8Array(chunk.data as Uint8Array));
    upload.received += chunk.data.byteLength;
    if (upload.received < total) return { meta: { received: upload.received, complete: false } };
    this.uploads.delete(hash);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const part of upload.parts) {
      bytes.set(part, at);
      at += part.byteLength;
    }
    const actual = await contentHash(bytes);
    if (actual !== hash) throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.model.put: the package's SHA-256 is ${actual.slice(0, 12)}…, not ${hash.slice(0, 12)}…`);
    await this.store.put(hash, bytes);
    return { meta: { received: upload.received, complete: true } };
  }

  /** Measured once per model and kept: profiling costs the device a second or two. */
  private async profile(request: IncomingMessage): Promise<Reply> {
    const { modelKey } = parse(profileSchema, request.meta, 'runtime.profile');
    if (!this.profiler) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'runtime.profile: this worker cannot profile itself');
    const profiler = this.profiler;
    let profile = this.profiles.get(modelKey);
    if (!profile) {
      profile = this.model(modelKey).then(({ graph }) => profiler(graph));
      this.profiles.set(modelKey, profile);
      profile.catch(() => this.profiles.delete(modelKey));
    }
    return { meta: await profile };
  }

  private model(key: string, spec?: ModelSpec): Promise<LoadedModel> {
    let model = this.models.get(key);
    if (!model && spec) {
      model = this.resolve(spec);
      this.models.set(key, model);
      model.catch(() => this.models.delete(key));
    }
    if (!model) throw new RuntimeError('ERR_RUNTIME_REQUEST', `model ${key} was never loaded on this worker`);
    return model;
  }

  private async spatial(request: IncomingMessage): Promise<Reply> {
    const { modelKey, slice } = parse(spatialSchema, request.meta, 'runtime.spatial');
    const { encodings, wire } = parse(spatialWireSchema, request.meta, 'runtime.spatial');
    const { graph, weights } = await this.model(modelKey);
    const { tf } = this;
    if (request.tensors.length !== slice.inputs.length) {
      throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.spatial: ${request.tensors.length} bands for ${slice.inputs.length} inputs`);
    }
    for (const n of slice.nodes) {
      if (!graph.nodes[n.nodeId]) throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.spatial: no node ${n.nodeId} in ${graph.name}`);
    }
    // The geometry must be the partitioner's own slice of that tile: a forged padding or rectangle
    // would otherwise make TF.js allocate whatever the peer claims, or fail deep in a layer.
    const misfit = tileSliceMisfit(graph, slice);
    if (misfit) throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.spatial: ${misfit}`);
    const t0 = this.now();
    const bands = new Map<number, Band>();
    try {
      slice.inputs.forEach((input, i) => {
        const producer = graph.nodes[input.nodeId];
        const height = Math.max(0, input.rect.rows.end - input.rect.rows.start + 1);
        const width = Math.max(0, input.rect.cols.end - input.rect.cols.start + 1);
        const channels = producer?.outputShape[2] as number;
        let values: Float32Array;
        try {
          values = unpackActivation(request.tensors[i], encodings?.[i] ?? { precision: 'float32' }, [height, width, channels]);
        } catch (err) {
          throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.spatial: band ${i}: ${(err as Error).message.replace(/^modnn-web: /, '')}`);
        }
        bands.set(input.nodeId, { tensor: tf.tensor3d(values, [height, width, channels]), row: input.rect.rows.start, col: input.rect.cols.start });
      });
      const tile = await runTileSliceStepwise(tf, graph, weights, slice, bands, this.pause);
      try {
        const data = (await tile.data()) as Float32Array;
        const t1 = this.now();
        this.stats.tasks++;
        this.stats.rows += tile.shape[0];
        const packed = packActivation(data, tile.shape, wire ?? 'float32');
        return { meta: { computeMs: t1 - t0, computeStartMs: t0, computeEndMs: t1, encoding: packed.encoding }, tensors: [packed.tensor] };
      } finally {
        tile.dispose();
      }
    } finally {
      for (const band of bands.values()) band.tensor.dispose();
    }
  }

  /** Opens the direct links to other workers a plan's resident runs need. */
  private async peers(request: IncomingMessage): Promise<Reply> {
    const { peers } = parse(peersSchema, request.meta, 'runtime.peers');
    const neighbours = this.neighbours;
    if (!neighbours) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'runtime.peers: this worker has no links to other workers');
    await Promise.all(peers.map((peer) => neighbours.connect(peer)));
    return { meta: { connected: peers.length } };
  }

  /**
   * One strip of a resident run: the program must be the partitioner's own geometry for this
   * model (each layer a slice of its node, chained, full width), so a request can only ask for
   * work a plan would. Halos go to other workers directly; the ones for the owner wait here until
   * it pulls them.
   */
  private async resident(request: IncomingMessage, from: string | undefined): Promise<Reply> {
    const { modelKey, runId, program, peers, encoding, wire } = parse(residentSchema, request.meta, 'runtime.resident');
    const { graph, weights } = await this.model(modelKey);
    const misfit = residentMisfit(graph, program);
    if (misfit) throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.resident: ${misfit}`);
    const peerOf = new Map<number, string>(peers.map((p) => [p.device, p.peerId]));
    const talksTo = [...program.layers.flatMap((l) => l.halosIn.map((h) => h.from)), ...program.layers.flatMap((l) => l.halosOut.map((h) => h.to))];
    for (const device of talksTo) {
      if (device === program.device) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'runtime.resident: a strip cannot swap halos with itself');
      if (device !== 0 && (!peerOf.has(device) || !this.neighbours)) throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.resident: no link to device ${device}`);
    }
    const owner = from ?? '';
    const { tf } = this;
    const [rows, width, channels] = [program.input.rect.rows.end - program.input.rect.rows.start + 1, graph.nodes[program.input.nodeId]?.outputShape[1] as number, graph.nodes[program.input.nodeId]?.outputShape[2] as number];
    const input = tf.tensor3d(unpackActivation(request.tensors[0], encoding, [rows, width, channels]), [rows, width, channels]);
    const neighbours = this.neighbours;
    const t0 = this.now();
    const waits = { haloWaitMs: 0 };
    try {
      const strip = await runResidentStrip(tf, graph, weights, program, input, {
        send: async (to, layer, haloRows, band) => {
          const packed = packActivation((await band.data()) as Float32Array, band.shape, wire);
          if (to === 0) {
            this.outbox.put({ runId, layer, from: 0, sender: '' }, { rows: haloRows, packed });
            return;
          }
          try {
            await (neighbours as NeighbourPorts).request(peerOf.get(to) as string, { method: RuntimeMethod.Halo, runId, layer, from: program.device, rows: haloRows, encoding: packed.encoding }, [packed.tensor], { timeoutMs: 120_000 });
          } catch (err) {
            // The neighbour's fault (gone, or its run stopped), not this worker's: the owner must tell them apart.
            throw new RuntimeError('ERR_RESIDENT_PEER', `device ${to} did not take its rows: ${(err as Error).message}`);
          }
          this.stats.halosToPeers++;
        },
        receive: async (fromDevice, layer, haloRows) => {
          const sender = fromDevice === 0 ? owner : (peerOf.get(fromDevice) as string);
          const letter = await this.mailbox.take({ runId, layer, from: fromDevice, sender });
          const h = haloRows.end - haloRows.start + 1;
          if (letter.rows.start !== haloRows.start || letter.rows.end !== haloRows.end || letter.shape.join() !== [h, ...producerMap(graph, program, layer)].join()) {
            // The sender's fault, not this worker's: the run stops and the owner redoes it.
            throw new RuntimeError('ERR_RESIDENT_PEER', `device ${fromDevice} sent rows ${letter.rows.start}..${letter.rows.end} for layer ${layer}, not the ones the plan names`);
          }
          if (fromDevice !== 0) this.stats.halosFromPeers++;
          return tf.tensor3d(letter.values, letter.shape);
        },
      }, this.pause, waits, this.now);
      try {
        const data = (await strip.data()) as Float32Array;
        const t1 = this.now();
        this.stats.tasks++;
        this.stats.rows += strip.shape[0];
        const packed = packActivation(data, strip.shape, wire);
        return { meta: { computeMs: t1 - t0, computeStartMs: t0, computeEndMs: t1, haloWaitMs: waits.haloWaitMs, encoding: packed.encoding }, tensors: [packed.tensor] };
      } finally {
        strip.dispose();
      }
    } catch (err) {
      // Neighbours waiting on this strip's halos stop waiting too.
      this.mailbox.cancel(runId, `the run stopped on a worker: ${(err as Error).message}`);
      this.outbox.cancel(runId, `the run stopped on a worker: ${(err as Error).message}`);
      throw err;
    } finally {
      input.dispose();
    }
  }

  /** Halo rows from another device of a resident run; kept until the run takes them (it may not have started here yet). */
  private halo(request: IncomingMessage, from: string | undefined): Reply {
    const { runId, layer, from: device, rows, encoding } = parse(haloSchema, request.meta, 'runtime.resident.halo');
    const tensor = request.tensors[0];
    const shape = tensor && valueShape(tensor, encoding.precision);
    if (!tensor || shape?.length !== 3 || shape[0] !== rows.end - rows.start + 1) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'runtime.resident.halo: the rows do not match their range');
    const values = unpackActivation(tensor, encoding, shape);
    if (!this.mailbox.put({ runId, layer, from: device, sender: from ?? '' }, { sender: from ?? '', rows, values, shape: shape as [number, number, number] })) {
      throw new RuntimeError('ERR_RESIDENT_PEER', 'runtime.resident.halo: not taken (the run was cancelled, or too many halos wait here)');
    }
    return { meta: { kept: true } };
  }

  /** The owner collects rows this worker computed for it, once they exist. */
  private async haloPull(request: IncomingMessage): Promise<Reply> {
    const { runId, layer } = parse(haloPullSchema, request.meta, 'runtime.resident.pull');
    const { rows, packed } = await this.outbox.take({ runId, layer, from: 0, sender: '' });
    return { meta: { rows, encoding: packed.encoding }, tensors: [packed.tensor] };
  }

  private residentCancel(request: IncomingMessage): Reply {
    const { runId, reason } = parse(residentCancelSchema, request.meta, 'runtime.resident.cancel');
    this.mailbox.cancel(runId, reason);
    this.outbox.cancel(runId, reason);
    return { meta: { cancelled: true } };
  }

  private async fcInstall(request: IncomingMessage): Promise<Reply> {
    const { modelKey, planId, nodeId, rows, cols } = parse(fcInstallSchema, request.meta, 'runtime.fc.install');
    const { graph } = await this.model(modelKey);
    const node = graph.nodes[nodeId];
    if (node?.attrs.op !== 'dense') throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.fc.install: node ${nodeId} is not a Dense layer`);
    const [inputIndex, outputIndex, rowPtr, colIdx, values] = request.tensors;
    const ints = (t: WireTensor | undefined): t is WireTensor & { data: Int32Array } => t?.dtype === 'int32';
    if (!ints(inputIndex) || !ints(outputIndex) || !ints(rowPtr) || !ints(colIdx) || values?.dtype !== 'float32') {
      throw new RuntimeError('ERR_RUNTIME_REQUEST', 'runtime.fc.install: expects int32 inputIndex, outputIndex, rowPtr, colIdx and float32 values');
    }
    const inputSize = shapeSize(graph.nodes[node.inputs[0] as number]?.outputShape ?? []);
    const outputSize = shapeSize(node.outputShape);
    const monotonic = rowPtr.data.every((p, i) => i === 0 || p >= (rowPtr.data[i - 1] as number));
    const valid =
      rows <= inputSize &&
      cols <= outputSize &&
      rowPtr.data[0] === 0 &&
      monotonic &&
      inputIndex.data.length === rows &&
      outputIndex.data.length === cols &&
      rowPtr.data.length === rows + 1 &&
      colIdx.data.length === values.data.length &&
      rowPtr.data[rows] === colIdx.data.length &&
      inputIndex.data.every((i) => i >= 0 && i < inputSize) &&
      outputIndex.data.every((j) => j >= 0 && j < outputSize) &&
      colIdx.data.every((c) => c >= 0 && c < cols);
    if (!valid) throw new RuntimeError('ERR_RUNTIME_REQUEST', 'runtime.fc.install: index lists and CSR do not agree with the layer');
    this.forgetOldPlans(planId);
    this.fcSlices.set(`${planId}/${nodeId}`, {
      inputIndex: inputIndex.data,
      weights: { rows, cols, rowPtr: rowPtr.data, colIdx: colIdx.data, values: values.data as Float32Array },
    });
    return { meta: { installed: true } };
  }

  /** Slices of the few most recent plans are kept; an older plan's go (the owner re-plans as it learns). */
  private forgetOldPlans(current: string): void {
    const plans = [...new Set([...this.fcSlices.keys()].map((key) => key.slice(0, key.lastIndexOf('/'))))];
    if (plans.includes(current) || plans.length < MAX_KEPT_PLANS) return;
    const oldest = plans[0] as string;
    for (const key of [...this.fcSlices.keys()]) if (key.startsWith(`${oldest}/`)) this.fcSlices.delete(key);
  }

  private fc(request: IncomingMessage): Reply {
    const { planId, nodeId } = parse(fcSchema, request.meta, 'runtime.fc');
    const slice = this.fcSlices.get(`${planId}/${nodeId}`);
    if (!slice) throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.fc: no slice of node ${nodeId} installed for plan ${planId}`);
    const x = request.tensors[0];
    if (x?.dtype !== 'float32' || x.data.length !== slice.inputIndex.length) {
      throw new RuntimeError('ERR_RUNTIME_REQUEST', `runtime.fc: expects float32[${slice.inputIndex.length}] input values`);
    }
    const t0 = this.now();
    // The values arrive already gathered (x[inputIndex]), so the local index is the identity.
    const identity = Int32Array.from({ length: slice.inputIndex.length }, (_, i) => i);
    const partial = runFcSlice(x.data as Float32Array, { inputIndex: identity, weights: slice.weights });
    const t1 = this.now();
    this.stats.tasks++;
    return { meta: { computeMs: t1 - t0, computeStartMs: t0, computeEndMs: t1 }, tensors: [wireTensor([partial.length], partial)] };
  }
}

/** Width and channels of the map a resident layer reads (its producer's), for checking halos. */
function producerMap(graph: ModelGraph, program: { layers: readonly { node: { inputs: readonly { producerId: number }[] } }[] }, layer: number): number[] {
  const producer = program.layers[layer]?.node.inputs[0]?.producerId;
  const shape = producer === undefined ? undefined : graph.nodes[producer]?.outputShape;
  return [shape?.[1] ?? -1, shape?.[2] ?? -1];
}

/**
 * Why a resident program is not one the partitioner would make for this model (null when it is):
 * each layer is the slice of its node for its output rows at full width, the layers form a chain
 * from the input band, and halos name rows inside the maps they come from.
 */
export function residentMisfit(graph: ModelGraph, program: ResidentProgram): string | null {
  let producer = program.input.nodeId;
  let rows: ResidentProgram['input']['rect']['rows'] = program.input.rect.rows;
  for (const [k, layer] of program.layers.entries()) {
    const cut = layer.node.inputs[0];
    if (!cut || layer.node.inputs.length !== 1 || cut.producerId !== producer) return `layer ${k} does not read the layer before it`;
    const outShape = graph.nodes[layer.node.nodeId]?.outputShape;
    const inShape = graph.nodes[producer]?.outputShape;
    if (outShape?.length !== 3 || inShape?.length !== 3) return `node ${layer.node.nodeId} is not a feature map`;
    if (layer.node.out.cols.start !== 0 || layer.node.out.cols.end !== (outShape[1] as number) - 1) return `layer ${k} is not full width`;
    const misfit = tileSliceMisfit(graph, residentLayerSlice(program.device, layer.node));
    if (misfit) return `layer ${k}: ${misfit}`;
    if (k === 0 && (cut.rect.rows.start !== rows.start || cut.rect.rows.end !== rows.end || program.input.rect.cols.start !== 0 || program.input.rect.cols.end !== (inShape[1] as number) - 1)) return 'the input band is not the full-width rows the first layer reads';
    if (k === 0 && layer.halosIn.length > 0) return 'the first layer takes no halos';
    for (const h of layer.halosIn) if (h.rows.start < 0 || h.rows.end >= (inShape[0] as number) || h.rows.end < h.rows.start) return `layer ${k} takes rows outside its input`;
    for (const h of layer.halosOut) if (h.rows.start < layer.node.out.rows.start || h.rows.end > layer.node.out.rows.end || h.rows.end < h.rows.start) return `layer ${k} sends rows it does not compute`;
    producer = layer.node.nodeId;
    rows = layer.node.out.rows;
  }
  return null;
}
