/**
 * The owner's "run a model" card (until images and the full product UI arrive): choose a built-in
 * model and a scheme, classify a seeded test image across the mesh, and compare with this device
 * alone. Also the page API `window.modnn.classify(...)` used by tests and benchmarks.
 */
import * as tf from '@tensorflow/tfjs';
import { profileCompute, type BackendChoice } from '../compute/index.ts';
import type { OwnerMesh } from '../mesh/index.ts';
import { Classifier, SCHEMES, resolveZooModel, type Classification, type Scheme } from '../runtime/index.ts';
import { h } from './dom.ts';
import { BUILT_IN_MODELS, isBuiltInModelId, type BuiltInModelId } from './models.ts';

export interface ClassifyRequest {
  model?: BuiltInModelId;
  scheme?: Scheme;
  /** Seed of the test image (the same seed gives the same image on every run). */
  seed?: number;
}

/** A plain-data summary of a classification (what the page API returns). */
export interface ClassifySummary {
  model: BuiltInModelId;
  scheme: Scheme;
  top: { index: number; probability: number }[];
  logits: number[];
  devices: string[];
  excluded: { deviceId: string; reason: string }[];
  failed: { deviceId: string; reason: string }[];
  steps: string;
  totalMs: number;
  predictedMs: number;
  trace: Classification['result']['trace'];
}

export function createModelRunner(mesh: OwnerMesh, backend: Promise<BackendChoice>) {
  const classifiers = new Map<BuiltInModelId, Promise<Classifier>>();

  const classifierFor = (id: BuiltInModelId): Promise<Classifier> => {
    let classifier = classifiers.get(id);
    if (!classifier) {
      classifier = (async () => {
        await backend;
        const { spec } = BUILT_IN_MODELS[id];
        const model = await resolveZooModel(spec);
        const ownerProfile = await profileCompute(model.graph);
        return new Classifier({ tf, mesh, spec, model, ownerProfile });
      })();
      classifiers.set(id, classifier);
      classifier.catch(() => classifiers.delete(id));
    }
    return classifier;
  };

  async function classify(request: ClassifyRequest = {}): Promise<ClassifySummary> {
    const modelId = request.model ?? 'vgg16-small';
    if (!isBuiltInModelId(modelId)) throw new Error(`modnn-web: unknown model ${String(modelId)}`);
    const classifier = await classifierFor(modelId);
    const { spec } = BUILT_IN_MODELS[modelId];
    const size = Number(spec.options['inputSize']);
    const image = tf.randomUniform<tf.Rank.R3>([size, size, 3], 0, 1, 'float32', request.seed ?? 1);
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
        trace: c.result.trace,
      };
    } finally {
      image.dispose();
    }
  }

  function render(container: HTMLElement): void {
    const modelSelect = h('select', { 'aria-label': 'Model' }, ...Object.entries(BUILT_IN_MODELS).map(([id, m]) => h('option', { value: id }, m.label)));
    const schemeSelect = h(
      'select',
      { 'aria-label': 'Scheme' },
      ...SCHEMES.map((s) => h('option', { value: s }, { auto: 'automatic', bodp: 'BODP per layer', fused: 'fused blocks', grid: '2D grid', owner: 'this device alone' }[s])),
    );
    const runButton = h('button', { type: 'button' }, 'Run');
    const note = h('p', { class: 'muted' });
    const output = h('div', { class: 'run-result', 'data-field': 'run-result' });
    const showNote = () => (note.textContent = isBuiltInModelId(modelSelect.value) ? BUILT_IN_MODELS[modelSelect.value].note : '');
    modelSelect.addEventListener('change', showNote);
    showNote();
    runButton.addEventListener('click', () => {
      runButton.disabled = true;
      output.textContent = 'Running… (the first run builds the model and measures every device)';
      const model = modelSelect.value as BuiltInModelId;
      void (async () => {
        try {
          const mesh = await classify({ model, scheme: schemeSelect.value as Scheme });
          const alone = await classify({ model, scheme: 'owner' });
          const speedUp = alone.totalMs / mesh.totalMs;
          output.replaceChildren(
            h('p', {}, `Top class ${mesh.top[0]?.index ?? '–'} (${((mesh.top[0]?.probability ?? 0) * 100).toFixed(1)}%) — same as this device alone: ${mesh.top[0]?.index === alone.top[0]?.index ? 'yes' : 'NO'}`),
            h('p', {}, `Mesh: ${mesh.totalMs.toFixed(0)} ms on ${mesh.devices.length} device(s) · alone: ${alone.totalMs.toFixed(0)} ms · ${speedUp.toFixed(2)}×`),
            h('p', { class: 'muted' }, `Plan: ${mesh.steps}${mesh.excluded.length ? ` · left out: ${mesh.excluded.map((e) => e.reason).join('; ')}` : ''}${mesh.failed.length ? ` · recovered from: ${mesh.failed.map((f) => f.reason).join('; ')}` : ''}`),
          );
        } catch (err) {
          output.textContent = `Failed: ${(err as Error).message}`;
        } finally {
          runButton.disabled = false;
        }
      })();
    });
    container.replaceChildren(h('h2', {}, 'Run a model'), h('div', { class: 'row' }, modelSelect, schemeSelect, runButton), note, output);
  }

  return { classify, render, tensorCount: () => tf.memory().numTensors };
}
