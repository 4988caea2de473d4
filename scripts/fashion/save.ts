/**
 * Writes the trained model as a standard TF.js layers model (model.json + one float32 shard,
 * loadable by tf.loadLayersModel) and the labels/metadata file the app reads beside it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export const CLASS_NAMES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export const WEIGHTS_FILE = 'weights.bin';

function joined(data: tf.io.WeightData): Uint8Array {
  return new Uint8Array(Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data);
}

/** Saves `model` into `dir`; returns the weight file's size in bytes. */
export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<number> {
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  await model.save(tf.io.withSaveHandler((artifacts) => {
    if (!artifacts.weightData || !artifacts.weightSpecs) throw new Error('model has no weights to save');
    const weights = joined(artifacts.weightData);
    bytes = weights.byteLength;
    writeFileSync(join(dir, WEIGHTS_FILE), weights);
    const modelJson = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs} (npm run train:fashion)`,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
    };
    writeFileSync(join(dir, 'model.json'), `${JSON.stringify(modelJson)}\n`);
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
  }));
  return bytes;
}

export interface LabelsFile {
  labels: readonly string[];
  inputShape: [number, number, number];
  background: 'dark';
  testAccuracy: { dense: number; pruned: number; prunedBeforeFineTune: number };
  denseSparsity: Record<string, number>;
  trainedWith: string;
  seed: number;
}

export function writeLabels(dir: string, labels: LabelsFile): void {
  writeFileSync(join(dir, 'labels.json'), `${JSON.stringify(labels, null, 2)}\n`);
}
