/**
 * The training loop: seeded shuffling (our own PRNG, not Math.random), mini-batches built from
 * the uint8 images on the fly, an optional mask step after each update (pruned weights stay
 * exactly zero while fine-tuning), and batched evaluation.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng, permutation } from '../../src/model/index.ts';
import type { FashionSplit } from './idx.ts';

const PIXELS = 28 * 28;

/** Images `indices` of `split` as a [n, 28, 28, 1] tensor of floats in [0, 1]. */
export function imageBatch(split: FashionSplit, indices: ArrayLike<number>): tf.Tensor4D {
  const values = new Float32Array(indices.length * PIXELS);
  for (let i = 0; i < indices.length; i++) {
    const start = (indices[i] as number) * PIXELS;
    for (let p = 0; p < PIXELS; p++) values[i * PIXELS + p] = (split.images[start + p] as number) / 255;
  }
  return tf.tensor4d(values, [indices.length, 28, 28, 1]);
}

export interface EpochOptions {
  batchSize: number;
  seed: number;
  label: string;
  /** Runs after every optimizer step (e.g. re-applies pruning masks). */
  afterStep?: () => void;
}

/** One pass over `split` in a seeded order; returns the mean training loss. */
export function trainEpoch(model: tf.LayersModel, optimizer: tf.Optimizer, split: FashionSplit, options: EpochOptions): number {
  const order = permutation(split.count, createRng(options.seed));
  const steps = Math.ceil(split.count / options.batchSize);
  const started = performance.now();
  let lossSum = 0;
  for (let s = 0; s < steps; s++) {
    const indices = order.subarray(s * options.batchSize, (s + 1) * options.batchSize);
    const loss = tf.tidy(() => {
      const x = imageBatch(split, indices);
      const y = tf.oneHot(tf.tensor1d(Array.from(indices, (i) => split.labels[i] as number), 'int32'), 10);
      const cost = optimizer.minimize(() => {
        const probs = model.apply(x, { training: true }) as tf.Tensor;
        // The model ends in softmax (as the deployed model must); clip before the log for safety.
        return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(probs, 1e-7, 1))), -1)));
      }, true);
      return cost === null ? 0 : cost.dataSync()[0] ?? 0;
    });
    options.afterStep?.();
    lossSum += loss;
    if ((s + 1) % 100 === 0 || s + 1 === steps) {
      const elapsed = (performance.now() - started) / 1000;
      console.log(`  ${options.label} step ${s + 1}/${steps}  loss ${(lossSum / (s + 1)).toFixed(4)}  ${elapsed.toFixed(0)} s`);
    }
  }
  return lossSum / steps;
}

/** Predicted class of every image of `split`. */
export function predictAll(model: tf.LayersModel, split: FashionSplit, batchSize = 500): Uint8Array {
  const predictions = new Uint8Array(split.count);
  for (let start = 0; start < split.count; start += batchSize) {
    const end = Math.min(split.count, start + batchSize);
    const indices = Array.from({ length: end - start }, (_, i) => start + i);
    const argmax = tf.tidy(() => tf.argMax(model.predict(imageBatch(split, indices)) as tf.Tensor, -1).dataSync());
    predictions.set(argmax, start);
  }
  return predictions;
}

export function accuracy(predictions: Uint8Array, labels: Uint8Array): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) right++;
  return right / labels.length;
}
