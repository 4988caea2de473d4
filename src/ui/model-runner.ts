/**
 * The owner's models and classifications, without DOM: the built-in models and the ones a user
 * drops in, one Classifier each (made on first use), images preprocessed for the model, and the
 * time the same image takes on this device alone, measured and kept fresh beside each answer.
 * Also the page API (`window.modnn.classify(...)`, `classifyMany(...)` …) used by tests and benchmarks.
 */
import * as tf from '@tensorflow/tfjs';
import { preprocessImage, profileCompute, type BackendChoice, type RgbaImage } from '../compute/index.ts';
import type { OwnerMesh } from '../mesh/index.ts';
import { contentHash, keptWeightTensorCount, packModel, packRunnable, type ModelArtifactsLike } from '../model/index.ts';
import { Classifier, fetchServedModel, loadPackage, resolveZooModel, type BatchSummary, type Classification, type ClassifyManyOptions, type ClassifyOptions, type LoadedModel, type ModelSpec, type Scheme } from '../runtime/index.ts';
import { BUILT_IN_MODELS, DEFAULT_MODEL, type InputHandling } from './models.ts';

export interface ClassifyRequest {
  /** A model id (built-in or returned by `useModelFiles`/`useServedModel`). Default: the selected one. */
  model?: string;
  scheme?: Scheme;
  /** Seed of a random test image (the same seed gives the same image on every run)… */
  seed?: number;
  /** …or the model's input itself, [H, W, C] values flattened (already preprocessed). */
  values?: number[];
  /** Also time this image on the owner alone when the last such measurement is stale. Default false. */
  compareAlone?: boolean;
  /** For benchmarks (see ClassifyOptions): Dense-layer scheme, equal split, owner computing nothing, keep the plan, re-measure the workers. */
  fc?: ClassifyOptions['fc'];
  split?: ClassifyOptions['split'];
  ownerComputes?: boolean;
  replan?: boolean;
  reprofile?: boolean;
  /** Only these workers (peer ids); default every ready one. */
  workers?: string[];
  /** Deepest fused block (1: per layer). */
  maxFusedDepth?: number;
  /** Checking the workers' results (see ClassifyOptions): default the page's setting. `{ fraction: 1, budget: 1 }` checks every one. */
  verify?: ClassifyOptions['verify'];
  /** Input privacy: default the page's setting. */
  privacy?: ClassifyOptions['privacy'];
  /** Activations on the wire: default the page's setting. */
  wire?: ClassifyOptions['wire'];
}

/** An image of a batch: the model's input ([H, W, C] flattened, preprocessed), or a function that makes it when its turn comes. */
export type BatchImage = ArrayLike<number> | (() => Promise<ArrayLike<number>> | ArrayLike<number>);

/** One image's outcome in a batch, as plain data. */
export type BatchOutcome = { ok: true; summary: ClassifySummary } | { ok: false; error: string };

/** One image's outcome as the page API's batch returns it (null: never started, the batch was cancelled). */
export type BatchValuesOutcome = { ok: true; top: ClassifySummary['top']; logits: number[]; totalMs: number; devices: string[]; steps: string } | { ok: false; error: string } | null;

export interface BatchRequest extends Omit<ClassifyRequest, 'seed' | 'values' | 'compareAlone'> {
  images: readonly BatchImage[];
  /** Images being classified at once (default the classifier's, 2). */
  inFlight?: number;
  /** 'pipeline' (default): each image split over the mesh; 'spread': each device takes whole images. */
  mode?: ClassifyManyOptions['mode'];
  /** Each image as it finishes, in the order they finish. */
  onImage?: (index: number, outcome: BatchOutcome) => void;
  signal?: AbortSignal;
}

/** The page's settings that every classification uses unless a request says otherwise. */
export interface RunSettings {
  privacy: NonNullable<ClassifyOptions['privacy']>;
  /** Chance each worker result is checked, with the same fraction of the image as the budget; null: the classifier's default (about 1 in 10). */
  checkFraction: number | null;
  /** Activations on the wire; 'auto': the planner picks per step. */
  wire: NonNullable<ClassifyOptions['wire']>;
}

/** A plain-data summary of a classification (what the page API returns and the page shows). */
export interface ClassifySummary {
  model: string;
  scheme: Scheme;
  top: { index: number; label: string; probability: number }[];
  logits: number[];
  devices: string[];
  excluded: { deviceId: string; reason: string }[];
  failed: { deviceId: string; reason: string }[];
  /** Workers left out because they failed or were late on an earlier image. */
  suspended: { deviceId: string; reason: string }[];
  /** Bytes of pruned Dense weights each device of the plan holds, by id. */
  fcWeightBytes: Record<string, number>;
  steps: string;
  totalMs: number;
  predictedMs: number;
  ownerAlonePredictedMs: number;
  /** The latest measured time of an image of this model on this device alone, and when (ms ago). */
  alone: { ms: number; ageMs: number } | null;
  /** Activations and results moved over the data channels for this image. */
  bytesMoved: number;
  messages: number;
  /** Model package bytes sent to each worker so far (dropped-in models only). */
  modelBytesSent: Record<string, number>;
  trace: Classification['result']['trace'];
  /** Worker results checked here, of those received, and the FLOPs the checks cost against the image's. */
  verification: Classification['result']['verification'];
  /** Workers removed for wrong results on this image, with why. */
  evicted: Classification['evicted'];
  /** What the plan sent to workers (null: nothing left this device), and the privacy setting used. */
  exposure: Classification['exposure'];
  privacy: Classification['privacy'];
}

export type Progress = { text: string; fraction: number | null } | null;

interface Entry {
  label: string;
  note: string;
  input: InputHandling;
  /** Resolves the spec (a served model's hash is known once fetched), the model and its class names. */
  load: () => Promise<{ spec: ModelSpec; model: LoadedModel; labels: string[] | null; packageBytes?: Uint8Array }>;
}

interface Ready {
  classifier: Classifier;
  labels: string[] | null;
  input: InputHandling;
}

/** An image on this device alone is timed again when the last time is older than this. */
const ALONE_STALE_MS = 60_000;

export function createModelRunner(mesh: OwnerMesh, backend: Promise<BackendChoice>) {
  const entries = new Map<string, Entry>();
  for (const [id, m] of Object.entries(BUILT_IN_MODELS)) {
    const source = m.source;
    entries.set(id, {
      label: m.label,
      note: m.note,
      input: m.input,
      load:
        source.kind === 'zoo'
          ? async () => ({ spec: source.spec, model: await resolveZooModel(source.spec), labels: null })
          : async () => {
              const [{ spec, model }, labels] = await Promise.all([loadServed(source.url), fetchLabels(source.labelsUrl)]);
              return { spec, model, labels };
            },
    });
  }
  const ready = new Map<string, Promise<Ready>>();
  const aloneTimes = new Map<string, { ms: number; atMs: number }>();
  const changeListeners = new Set<() => void>();
  const progressListeners = new Set<(progress: Progress) => void>();
  let selected: string = DEFAULT_MODEL;
  // float32 by default: the answer equals this device alone's up to float rounding; compact wires are a choice (their effect is in the benchmark).
  const settings: RunSettings = { privacy: 'off', checkFraction: null, wire: 'float32' };
  const progress = (p: Progress) => {
    for (const listener of progressListeners) listener(p);
  };

  /** A worker joined: load, send and profile the selected model there now, not on the next image. */
  mesh.on('peer-ready', () => {
    readyModel(selected)
      .then(async (r) => {
        progress({ text: 'Measuring the new worker…', fraction: null });
        await r.classifier.warmUp();
      })
      .catch(() => {}) // the next classification reports problems
      .finally(() => progress(null));
  });

  function readyModel(id: string): Promise<Ready> {
    const entry = entries.get(id);
    if (!entry) return Promise.reject(new Error(`modnn-web: unknown model ${id}`));
    let r = ready.get(id);
    if (!r) {
      r = (async () => {
        progress({ text: `Loading ${entry.label}…`, fraction: null });
        await backend;
        const { spec, model, labels, packageBytes } = await entry.load();
        progress({ text: 'Measuring this device…', fraction: null });
        const ownerProfile = await profileCompute(model.graph);
        const onUpload = (deviceId: string, sent: number, total: number) =>
          progress(sent >= total ? null : { text: `Sending the model to worker ${deviceId.slice(0, 6)}…`, fraction: sent / total });
        const classifier = new Classifier({ tf, mesh, spec, model, ownerProfile, onUpload, ...(packageBytes ? { packageBytes } : {}) });
        return { classifier, labels, input: entry.input };
      })();
      ready.set(id, r);
      r.catch(() => ready.delete(id)).finally(() => progress(null));
    }
    return r;
  }

  async function loadServed(url: string): Promise<{ spec: ModelSpec; model: LoadedModel }> {
    const full = await fetchServedModel(tf)(url);
    const hash = await contentHash(full);
    return { spec: { kind: 'served', url, hash }, model: await loadPackage(tf, full) };
  }

  /**
   * Loads a TF.js LayersModel from its files (model.json and the weight files it lists), as a
   * user drops them in; returns its id. Workers get it over the data channel. A model that cannot
   * be loaded or run throws with the reason and changes nothing.
   */
  async function useModelFiles(files: File[]): Promise<string> {
    const json = files.filter((f) => f.name.endsWith('.json'));
    if (json.length !== 1) throw new Error('modnn-web: choose one model.json file together with its weight files (.bin)');
    const jsonFile = json[0] as File;
    const weights = files.filter((f) => f !== jsonFile);
    // TF.js's file loader throws a bad JSON's error where no one can catch it: read it here first.
    let manifestPaths: string[];
    try {
      const parsed = JSON.parse(await jsonFile.text()) as { modelTopology?: unknown; weightsManifest?: unknown } | null;
      if (typeof parsed?.modelTopology !== 'object' || !Array.isArray(parsed.weightsManifest)) throw new Error('it has no modelTopology or weightsManifest');
      manifestPaths = (parsed.weightsManifest as { paths?: unknown }[]).flatMap((group) => (Array.isArray(group.paths) ? group.paths.map(String) : []));
    } catch (err) {
      throw new Error(`modnn-web: ${jsonFile.name} is not a TF.js LayersModel (${(err as Error).message})`, { cause: err });
    }
    const missing = manifestPaths.filter((p) => !weights.some((f) => f.name === p.split('/').pop()));
    if (missing.length > 0) throw new Error(`modnn-web: the model’s weight file${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing: choose ${jsonFile.name} together with ${missing.length === 1 ? 'it' : 'them'}.`);
    let artifacts: ModelArtifactsLike;
    try {
      const handler = tf.io.browserFiles([jsonFile, ...weights]);
      if (!handler.load) throw new Error('no loader');
      artifacts = (await handler.load()) as unknown as ModelArtifactsLike;
    } catch (err) {
      throw new Error(`modnn-web: this is not a TF.js LayersModel with all its weight files (${(err as Error).message})`, { cause: err });
    }
    let full: Uint8Array;
    let model: LoadedModel;
    try {
      full = packModel(artifacts);
      model = await loadPackage(tf, full);
    } catch (err) {
      throw new Error(`modnn-web: this model cannot be run here (${(err as Error).message.replace(/^modnn-web: /, '')})`, { cause: err });
    }
    const inputShape = model.graph.nodes[model.graph.inputId]?.outputShape ?? [];
    if (inputShape.length !== 3 || (inputShape[2] !== 1 && inputShape[2] !== 3)) {
      throw new Error(`modnn-web: this model takes input ${JSON.stringify(inputShape)}; only images [height, width, 1 or 3 channels] can be classified`);
    }
    // Workers get only what they can be asked to run: no Dense kernels (see packRunnable).
    const bytes = packRunnable(model.graph, model.weights);
    const hash = await contentHash(bytes);
    const id = `package:${hash.slice(0, 12)}`;
    entries.set(id, {
      label: `${jsonFile.name} (${(full.byteLength / 1e6).toFixed(1)} MB, yours)`,
      note: 'Your model: workers receive it over the data channel once, then keep it. Class names are not known: answers show class numbers.',
      input: { background: 'any' },
      load: () => Promise.resolve({ spec: { kind: 'package', hash, bytes: bytes.byteLength }, model, labels: null, packageBytes: bytes }),
    });
    for (const listener of changeListeners) listener();
    return id;
  }

  /** Uses a TF.js model this server serves (`/models/…/model.json`); every worker loads it from the server too. */
  async function useServedModel(url: string): Promise<string> {
    const { spec, model } = await loadServed(url);
    const id = `served:${(spec as { hash: string }).hash.slice(0, 12)}`;
    entries.set(id, { label: `${url} (served)`, note: 'Served by this server: each worker loads it from there.', input: { background: 'any' }, load: () => Promise.resolve({ spec, model, labels: null }) });
    for (const listener of changeListeners) listener();
    return id;
  }

  /** The model's input for an image: centre-cropped, resized, grayscale or RGB, background handled. */
  async function prepareImage(image: RgbaImage, modelId = selected): Promise<{ values: Float32Array; shape: [number, number, number]; inverted: boolean }> {
    const r = await readyModel(modelId);
    return preprocessImage(image, { inputShape: r.classifier.inputShape, background: r.input.background });
  }

  /** The classifier's options for a request: what it names, else the page's settings. */
  function optionsOf(request: Omit<ClassifyRequest, 'seed' | 'values' | 'compareAlone'>): ClassifyOptions {
    const { fc, split, ownerComputes, replan, reprofile, workers, maxFusedDepth } = request;
    const fraction = settings.checkFraction;
    const verify = request.verify ?? (fraction === null ? undefined : { fraction, budget: fraction });
    const privacy = request.privacy ?? settings.privacy;
    const wire = request.wire ?? settings.wire;
    return { scheme: request.scheme ?? 'auto', fc, split, ownerComputes, replan, reprofile, workers, maxFusedDepth, verify, privacy, wire };
  }

  function summarise(c: Classification, r: Ready, modelId: string): ClassifySummary {
    const alone = aloneTimes.get(modelId);
    const remote = c.result.trace.filter((t) => t.device > 0);
    return {
      model: modelId,
      scheme: c.scheme,
      top: c.top.map((t) => ({ ...t, label: r.labels?.[t.index] ?? `class ${t.index}` })),
      logits: Array.from(c.logits),
      devices: c.devices,
      excluded: c.excluded,
      failed: c.result.failed,
      suspended: c.suspended,
      fcWeightBytes: c.fcWeightBytes,
      steps: c.steps,
      totalMs: c.result.totalMs,
      predictedMs: c.predictedMs,
      ownerAlonePredictedMs: c.ownerAlonePredictedMs,
      alone: alone ? { ms: alone.ms, ageMs: performance.now() - alone.atMs } : null,
      bytesMoved: remote.reduce((s, t) => s + t.bytesOut + t.bytesIn, 0),
      messages: 2 * remote.length,
      modelBytesSent: Object.fromEntries(r.classifier.runtime.uploadedBytes),
      trace: c.result.trace,
      verification: c.result.verification,
      evicted: c.evicted,
      exposure: c.exposure,
      privacy: c.privacy,
    };
  }

  async function classify(request: ClassifyRequest = {}): Promise<ClassifySummary> {
    const modelId = request.model ?? selected;
    const r = await readyModel(modelId);
    const shape = r.classifier.inputShape;
    const image = request.values
      ? tf.tensor3d(request.values, shape, 'float32')
      : tf.randomUniform<tf.Rank.R3>(shape, 0, 1, 'float32', request.seed ?? 1);
    try {
      const c = await r.classifier.classify(image, optionsOf(request));
      if (c.devices.length === 1) aloneTimes.set(modelId, { ms: c.result.totalMs, atMs: performance.now() });
      else if (request.compareAlone) {
        const last = aloneTimes.get(modelId);
        if (!last || performance.now() - last.atMs > ALONE_STALE_MS) {
          const alone = await r.classifier.classify(image, { scheme: 'owner' });
          aloneTimes.set(modelId, { ms: alone.result.totalMs, atMs: performance.now() });
        }
      }
      return summarise(c, r, modelId);
    } finally {
      image.dispose();
    }
  }

  /**
   * Several images through the mesh with `inFlight` of them under way at once, so one image's
   * transfers overlap another's computing. Each image is made (decoded, preprocessed) only when its
   * turn comes; one that fails is reported and the rest go on.
   */
  async function classifyMany(request: BatchRequest): Promise<BatchSummary> {
    const modelId = request.model ?? selected;
    const r = await readyModel(modelId);
    const shape = r.classifier.inputShape;
    const loaders = request.images.map((image) => async () => {
      const values = typeof image === 'function' ? await image() : image;
      return tf.tensor3d(values as number[] | Float32Array, shape, 'float32');
    });
    const { onImage, signal, inFlight, mode } = request;
    return r.classifier.classifyMany(loaders, {
      ...optionsOf(request),
      ...(inFlight !== undefined ? { inFlight } : {}),
      ...(mode !== undefined ? { mode } : {}),
      ...(signal ? { signal } : {}),
      ...(onImage
        ? { onImage: (index: number, outcome: { ok: true; result: Classification } | { ok: false; error: Error }) => onImage(index, outcome.ok ? { ok: true, summary: summarise(outcome.result, r, modelId) } : { ok: false, error: outcome.error.message.replace(/^modnn-web: /, '') }) }
        : {}),
    });
  }

  /**
   * The page API's batch: plain data in and out (tests and benchmarks call it through
   * `page.evaluate`). Images are model inputs, as `classify`'s `values`.
   */
  async function classifyManyValues(request: Omit<BatchRequest, 'images' | 'onImage' | 'signal'> & ({ images: number[][] } | { seeds: number[] })): Promise<{ summary: BatchSummary; results: BatchValuesOutcome[] }> {
    // Seeds: the same random test images `classify({ seed })` draws, made here when their turn comes.
    const images: readonly BatchImage[] = 'seeds' in request
      ? await (async () => {
        const shape = (await readyModel(request.model ?? selected)).classifier.inputShape;
        return request.seeds.map((seed) => () => tf.tidy(() => tf.randomUniform<tf.Rank.R3>(shape, 0, 1, 'float32', seed).dataSync() as Float32Array));
      })()
      : request.images;
    const results: BatchValuesOutcome[] = images.map(() => null);
    const summary = await classifyMany({
      ...request,
      images,
      onImage: (index, outcome) => {
        results[index] = outcome.ok ? { ok: true, top: outcome.summary.top, logits: outcome.summary.logits, totalMs: outcome.summary.totalMs, devices: outcome.summary.devices, steps: outcome.summary.steps } : outcome;
      },
    });
    return { summary, results };
  }

  /** What each worker said about itself on the selected model (backend, GFLOP/s), by peer id. */
  async function workerCapabilities(): Promise<Map<string, { backend: string; gflops: number }>> {
    const r = await ready.get(selected);
    const out = new Map<string, { backend: string; gflops: number }>();
    if (!r) return out;
    const measured = r.classifier.profiles();
    for (const [peerId, p] of r.classifier.workerProfilesAnswered()) {
      const aMsPerFlop = measured.get(peerId)?.aMsPerFlop ?? p.aMsPerFlop;
      out.set(peerId, { backend: p.adapter ? `${p.backend} (${p.adapter})` : p.backend, gflops: 1 / (aMsPerFlop * 1e6) });
    }
    return out;
  }

  return {
    classify,
    classifyMany,
    classifyManyValues,
    prepareImage,
    useModelFiles,
    useServedModel,
    workerCapabilities,
    models: () => [...entries].map(([id, e]) => ({ id, label: e.label, note: e.note })),
    /** Input privacy and result checking for the next images (the settings card changes them). */
    settings,
    get selected() {
      return selected;
    },
    select(id: string) {
      if (!entries.has(id)) throw new Error(`modnn-web: unknown model ${id}`);
      selected = id;
      for (const listener of changeListeners) listener();
      // Load it now and get the workers ready for it, so the first image does not wait.
      void readyModel(id).then((r) => r.classifier.warmUp()).catch(() => {});
    },
    inputShape: async (id = selected) => (await readyModel(id)).classifier.inputShape,
    onChange: (listener: () => void) => changeListeners.add(listener),
    onProgress: (listener: (p: Progress) => void) => progressListeners.add(listener),
    /** Live tensors beyond the weights kept for models (a leak check's number). */
    tensorCount: () => tf.memory().numTensors - keptWeightTensorCount(),
  };
}

export type ModelRunner = ReturnType<typeof createModelRunner>;

async function fetchLabels(url: string): Promise<string[] | null> {
  try {
    const response = await fetch(url);
    if (!response.ok) return null;
    const body = (await response.json()) as { labels?: unknown };
    return Array.isArray(body.labels) && body.labels.every((l) => typeof l === 'string') ? (body.labels) : null;
  } catch {
    return null; // answers show class numbers
  }
}
