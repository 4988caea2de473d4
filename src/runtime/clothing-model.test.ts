/**
 * The committed clothing classifier (public/models/clothing, trained by `npm run train:fashion`):
 * it loads as a plain TF.js layers model, lowers with its hidden Dense layers stored sparse, and
 * both TF.js and this project's own executor classify the held-out test fixtures correctly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { csrNnz, packModel, type ModelArtifactsLike } from '../model/index.ts';
import { executeWhole } from './local-executor.ts';
import { loadPackage, type LoadedModel } from './worker-executor.ts';

const MODEL_DIR = join(import.meta.dirname, '../../public/models/clothing');
const FIXTURES = join(import.meta.dirname, '../model/testdata/fashion-mnist-samples.json');

interface Fixtures { samples: { index: number; label: number; name: string; pixelsBase64: string }[] }
interface Labels { labels: string[]; inputShape: number[]; testAccuracy: { dense: number; pruned: number }; denseSparsity: Record<string, number> }

/** model.json + its weight files, as TF.js's loaders hand them over. */
function artifactsFromDisk(): ModelArtifactsLike {
  const json = JSON.parse(readFileSync(join(MODEL_DIR, 'model.json'), 'utf8')) as {
    modelTopology: Record<string, unknown>;
    weightsManifest: { paths: string[]; weights: ModelArtifactsLike['weightSpecs'] }[];
  };
  const groups = json.weightsManifest;
  const weightData = groups.flatMap((g) => g.paths).map((p) => {
    const bytes = readFileSync(join(MODEL_DIR, p));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  });
  return { modelTopology: json.modelTopology, weightSpecs: groups.flatMap((g) => g.weights), weightData };
}

/** A fixture's pixels as the model's input: [28, 28, 1] floats in [0, 1]. */
function fixtureImage(pixelsBase64: string): tf.Tensor3D {
  const bytes = Buffer.from(pixelsBase64, 'base64');
  expect(bytes.length).toBe(784);
  return tf.tidy(() => tf.div(tf.tensor3d(Uint8Array.from(bytes), [28, 28, 1], 'int32').toFloat(), 255));
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

const fixtures = JSON.parse(readFileSync(FIXTURES, 'utf8')) as Fixtures;
const labels = JSON.parse(readFileSync(join(MODEL_DIR, 'labels.json'), 'utf8')) as Labels;

describe('the clothing classifier (Fashion-MNIST)', () => {
  let tfModel: tf.LayersModel;
  let lowered: LoadedModel;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    tfModel = await tf.loadLayersModel(tf.io.fromMemory(artifactsFromDisk()));
    // The path a dropped-in or served model takes in the app: package, then load and lower.
    lowered = await loadPackage(tf, packModel(artifactsFromDisk()));
  });

  it('is what labels.json describes', () => {
    expect(labels.labels).toHaveLength(10);
    expect(labels.inputShape).toEqual([28, 28, 1]);
    expect(tfModel.inputs[0]?.shape).toEqual([null, 28, 28, 1]);
    expect(tfModel.outputs[0]?.shape).toEqual([null, 10]);
    expect(labels.testAccuracy.dense).toBeGreaterThanOrEqual(0.9);
    expect(labels.testAccuracy.pruned).toBeGreaterThanOrEqual(0.9);
  });

  it('lowers with its pruned hidden Dense kernels stored sparse, zeros as labels.json says', () => {
    const names = Object.keys(labels.denseSparsity).map((layer) => `${layer}/kernel`);
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect([...lowered.weights.sparse.keys()].sort()).toEqual(names.sort());
    for (const [layer, zeros] of Object.entries(labels.denseSparsity)) {
      const csr = lowered.weights.sparse.get(`${layer}/kernel`);
      expect(csr).toBeDefined();
      if (!csr) continue;
      expect(zeros).toBeGreaterThanOrEqual(0.85);
      // Exact zeros in the saved weights are exactly what the CSR leaves out.
      expect(1 - csrNnz(csr) / (csr.rows * csr.cols)).toBeCloseTo(zeros, 6);
    }
  });

  it('classifies every held-out fixture correctly, in TF.js and in the executor', () => {
    expect(fixtures.samples.length).toBeGreaterThanOrEqual(10);
    for (const sample of fixtures.samples) {
      const image = fixtureImage(sample.pixelsBase64);
      const viaTf = tf.tidy(() => (tfModel.predict(tf.expandDims(image, 0)) as tf.Tensor).dataSync());
      const viaExecutor = tf.tidy(() => executeWhole(tf, lowered.graph, lowered.weights, image).dataSync());
      image.dispose();
      expect({ index: sample.index, tf: argmax(viaTf), executor: argmax(viaExecutor) })
        .toEqual({ index: sample.index, tf: sample.label, executor: sample.label });
      let maxDiff = 0;
      viaTf.forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - (viaExecutor[i] as number))); });
      expect(maxDiff).toBeLessThan(1e-4);
    }
  });
});
