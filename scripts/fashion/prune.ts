/**
 * Magnitude pruning of Dense kernels: per layer, the smallest |w| become zero (ties broken by
 * index, so the result is deterministic). The mask is kept and re-applied after every
 * fine-tuning step: Adam's momentum would otherwise revive pruned weights.
 */
import * as tf from '@tensorflow/tfjs';

export interface PruneMask {
  layer: string;
  /** true = kept. */
  mask: tf.Tensor;
  zeros: number;
  size: number;
}

function kernelOf(model: tf.LayersModel, layer: string): tf.LayerVariable {
  const kernel = model.getLayer(layer).trainableWeights[0];
  if (!kernel || !kernel.name.endsWith('kernel')) throw new Error(`${layer} has no kernel`);
  return kernel;
}

/** Zeroes the fraction `sparsity` of smallest-magnitude weights in each named layer's kernel. */
export function pruneDense(model: tf.LayersModel, layers: string[], sparsity: number): PruneMask[] {
  return layers.map((layer) => {
    const kernel = kernelOf(model, layer);
    const values = kernel.read().dataSync();
    const size = values.length;
    const order = Uint32Array.from({ length: size }, (_, i) => i)
      .sort((a, b) => Math.abs(values[a] as number) - Math.abs(values[b] as number) || a - b);
    const zeros = Math.round(size * sparsity);
    const keep = new Uint8Array(size).fill(1);
    for (let k = 0; k < zeros; k++) keep[order[k] as number] = 0;
    const mask = tf.tensor(keep, kernel.shape as number[], 'bool');
    const result = { layer, mask, zeros, size };
    applyMasks(model, [result]);
    return result;
  });
}

/** Writes +0 (not −0: `where`, not multiply) wherever a mask is false. */
export function applyMasks(model: tf.LayersModel, masks: PruneMask[]): void {
  for (const { layer, mask } of masks) {
    const kernel = kernelOf(model, layer);
    const masked = tf.tidy(() => {
      const w = kernel.read();
      return tf.where(mask, w, tf.zerosLike(w));
    });
    kernel.write(masked);
    masked.dispose();
  }
}

/** Fraction of exact zeros in each named layer's kernel, as it is now. */
export function measuredSparsity(model: tf.LayersModel, layers: string[]): Record<string, number> {
  return Object.fromEntries(layers.map((layer) => {
    const values = kernelOf(model, layer).read().dataSync();
    let zeros = 0;
    for (const v of values) if (v === 0) zeros++;
    return [layer, zeros / values.length];
  }));
}
