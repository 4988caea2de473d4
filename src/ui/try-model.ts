/**
 * The owner's "run a model" card (until images and the full product UI arrive): choose a built-in
 * model or load your own TF.js model (model.json + weight files), pick a scheme, classify a
 * seeded test image across the mesh and compare with this device alone. Also the page API
 * `window.modnn.classify(...)` / `useModelFiles(...)` used by tests and benchmarks.
 */
import * as tf from '@tensorflow/tfjs';
import { profileCompute, type BackendChoice } from '../compute/index.ts';
import type { OwnerMesh } from '../mesh/index.ts';
import { contentHash, packModel, packRunnable, type ModelArtifactsLike } from '../model/index.ts';
import { Classifier, SCHEMES, fetchServedModel, loadPackage, resolveZooModel, type Classification, type LoadedModel, type ModelSpec, type Scheme } from '../runtime/index.ts';
import { h } from './dom.ts';
import { BUILT_IN_MODELS } from './models.ts';

export interface ClassifyRequest {
  /** A built-in model id, or the id `useModelFiles` returned. Default 'vgg16-small'. */
  model?: string;
  scheme?: Scheme;
  /** Seed of the test image (the same seed gives the same image on every run). */
  seed?: number;
}

/** A plain-data summary of a classification (what the page API returns). */
export interface ClassifySummary {
  model: string;
  scheme: Scheme;
  top: { index: number; probability: number }[];
  logits: number[];
  devices: string[];
  excluded: { deviceId: string; reason: string }[];
  failed: { deviceId: string; reason: string }[];
  steps: string;
  totalMs: number;
  predictedMs: number;
  /** Model package bytes sent to each worker so far (dropped-in models only). */
  modelBytesSent: Record<string, number>;
  trace: Classification['result']['trace'];
}

interface Entry {
  label: string;
  spec: ModelSpec;
  load: () => Promise<LoadedModel>;
  packageBytes?: Uint8Array;
}

export function createModelRunner(mesh: OwnerMesh, backend: Promise<BackendChoice>) {
  const entries = new Map<string, Entry>(
    Object.entries(BUILT_IN_MODELS).map(([id, m]) => [id, { label: m.label, spec: m.spec, load: () => resolveZooModel(m.spec) }]),
  );
  const classifiers = new Map<string, Promise<Classifier>>();
  const listeners = new Set<() => void>();
  const progressListeners = new Set<(text: string) => void>();
  let selectedModel = 'vgg16-small';

  /** A worker joined: load, send and profile the selected model there now, not on the next image. */
  mesh.on('peer-ready', () => {
    classifierFor(selectedModel)
      .then((c) => c.warmUp())
      .catch(() => {}); // the next classify reports problems
  });

  const classifierFor = (id: string): Promise<Classifier> => {
    const entry = entries.get(id);
    if (!entry) return Promise.reject(new Error(`modnn-web: unknown model ${id}`));
    let classifier = classifiers.get(id);
    if (!classifier) {
      classifier = (async () => {
        await backend;
        const model = await entry.load();
        const ownerProfile = await profileCompute(model.graph);
        const onUpload = (deviceId: string, sent: number, total: number) => {
          for (const listener of progressListeners) listener(`Sending the model to ${deviceId.slice(0, 6)}…: ${Math.round((100 * sent) / total)}%`);
        };
        return new Classifier({ tf, mesh, spec: entry.spec, model, ownerProfile, onUpload, ...(entry.packageBytes ? { packageBytes: entry.packageBytes } : {}) });
      })();
      classifiers.set(id, classifier);
      classifier.catch(() => classifiers.delete(id));
    }
    return classifier;
  };

  /**
   * Loads a TF.js LayersModel from its files (model.json and the weight files it lists), as a
   * user drops them in; returns its id for `classify`. Workers get it over the data channel.
   */
  async function useModelFiles(files: File[]): Promise<string> {
    const json = files.find((f) => f.name.endsWith('.json'));
    if (!json) throw new Error('modnn-web: choose the model.json file together with its weight files (.bin)');
    const weights = files.filter((f) => f !== json);
    let artifacts: ModelArtifactsLike;
    try {
      const handler = tf.io.browserFiles([json, ...weights]);
      if (!handler.load) throw new Error('no loader');
      artifacts = (await handler.load()) as unknown as ModelArtifactsLike;
    } catch (err) {
      throw new Error(`modnn-web: this is not a TF.js LayersModel with all its weight files (${(err as Error).message})`, { cause: err });
    }
    const full = packModel(artifacts);
    const model = await loadPackage(tf, full); // fails here, with a clear reason, for a model we cannot run
    // Workers get only what they can be asked to run: no Dense kernels (see packRunnable).
    const bytes = packRunnable(model.graph, model.weights);
    const hash = await contentHash(bytes);
    const id = `package:${hash.slice(0, 12)}`;
    entries.set(id, { label: `${json.name} (${(full.byteLength / 1e6).toFixed(1)} MB)`, spec: { kind: 'package', hash, bytes: bytes.byteLength }, load: () => Promise.resolve(model), packageBytes: bytes });
    for (const listener of listeners) listener();
    return id;
  }

  /**
   * Uses a TF.js model this server serves (`/models/…/model.json`): every worker loads it from the
   * server too, so nothing crosses the data channel. Returns its id for `classify`.
   */
  async function useServedModel(url: string): Promise<string> {
    const full = await fetchServedModel(tf)(url);
    const hash = await contentHash(full);
    const model = await loadPackage(tf, full);
    const id = `served:${hash.slice(0, 12)}`;
    entries.set(id, { label: `${url} (served)`, spec: { kind: 'served', url, hash }, load: () => Promise.resolve(model) });
    for (const listener of listeners) listener();
    return id;
  }

  async function classify(request: ClassifyRequest = {}): Promise<ClassifySummary> {
    const modelId = request.model ?? 'vgg16-small';
    const classifier = await classifierFor(modelId);
    const [h0, w0, c0] = classifier.inputShape;
    const image = tf.randomUniform<tf.Rank.R3>([h0, w0, c0], 0, 1, 'float32', request.seed ?? 1);
    try {
      const c = await classifier.classify(image, { scheme: request.scheme ?? 'auto' });
      return {
        model: modelId,
        scheme: c.scheme,
        top: c.top,
        logits: Array.from(c.logits),
        devices: c.devices,
        excluded: c.excluded,
        failed: c.result.failed,
        steps: c.steps,
        totalMs: c.result.totalMs,
        predictedMs: c.predictedMs,
        modelBytesSent: Object.fromEntries(classifier.runtime.uploadedBytes),
        trace: c.result.trace,
      };
    } finally {
      image.dispose();
    }
  }

  function render(container: HTMLElement): void {
    const modelSelect = h('select', { 'aria-label': 'Model' });
    const fillModels = () => {
      const selected = modelSelect.value;
      modelSelect.replaceChildren(...[...entries].map(([id, e]) => h('option', { value: id }, e.label)));
      if (entries.has(selected)) modelSelect.value = selected;
    };
    fillModels();
    listeners.add(fillModels);
    const schemeSelect = h(
      'select',
      { 'aria-label': 'Scheme' },
      ...SCHEMES.map((s) => h('option', { value: s }, { auto: 'automatic', bodp: 'BODP per layer', fused: 'fused blocks', grid: '2D grid', owner: 'this device alone' }[s])),
    );
    const fileInput = h('input', { type: 'file', multiple: true, accept: '.json,.bin', 'aria-label': 'Your model: model.json and its weight files' });
    const runButton = h('button', { type: 'button' }, 'Run');
    const note = h('p', { class: 'muted' });
    const output = h('div', { class: 'run-result', 'data-field': 'run-result' });
    const showNote = () => {
      const builtIn = (BUILT_IN_MODELS as Record<string, { note: string }>)[modelSelect.value];
      note.textContent = builtIn ? builtIn.note : 'Your model: workers receive it over the data channel once, then keep it.';
    };
    modelSelect.addEventListener('change', () => {
      selectedModel = modelSelect.value;
      showNote();
    });
    showNote();
    progressListeners.add((text) => (note.textContent = text));
    fileInput.addEventListener('change', () => {
      const files = [...(fileInput.files ?? [])];
      output.textContent = 'Loading your model…';
      useModelFiles(files).then(
        (id) => {
          modelSelect.value = id;
          selectedModel = id;
          showNote();
          output.textContent = `Loaded ${entries.get(id)?.label ?? id}.`;
        },
        (err: Error) => (output.textContent = err.message.replace(/^modnn-web: /, '')),
      );
    });
    runButton.addEventListener('click', () => {
      runButton.disabled = true;
      output.textContent = 'Running… (the first run builds the model and measures every device)';
      const model = modelSelect.value;
      void (async () => {
        try {
          const onMesh = await classify({ model, scheme: schemeSelect.value as Scheme });
          const alone = await classify({ model, scheme: 'owner' });
          const speedUp = alone.totalMs / onMesh.totalMs;
          output.replaceChildren(
            h('p', {}, `Top class ${onMesh.top[0]?.index ?? '–'} (${((onMesh.top[0]?.probability ?? 0) * 100).toFixed(1)}%) — same as this device alone: ${onMesh.top[0]?.index === alone.top[0]?.index ? 'yes' : 'NO'}`),
            h('p', {}, `Mesh: ${onMesh.totalMs.toFixed(0)} ms on ${onMesh.devices.length} device(s) · alone: ${alone.totalMs.toFixed(0)} ms · ${speedUp.toFixed(2)}×`),
            h('p', { class: 'muted' }, `Plan: ${onMesh.steps}${onMesh.excluded.length ? ` · left out: ${onMesh.excluded.map((e) => e.reason).join('; ')}` : ''}${onMesh.failed.length ? ` · recovered from: ${onMesh.failed.map((f) => f.reason).join('; ')}` : ''}`),
          );
        } catch (err) {
          output.textContent = `Failed: ${(err as Error).message.replace(/^modnn-web: /, '')}`;
        } finally {
          runButton.disabled = false;
        }
      })();
    });
    container.replaceChildren(
      h('h2', {}, 'Run a model'),
      h('div', { class: 'row' }, modelSelect, schemeSelect, runButton),
      h('label', { class: 'muted' }, 'Or load your own TF.js model (model.json + weight files): ', fileInput),
      note,
      output,
    );
  }

  return { classify, useModelFiles, useServedModel, render, tensorCount: () => tf.memory().numTensors };
}
