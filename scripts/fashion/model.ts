/**
 * The clothing classifier: a small VGG-style CNN for 28×28×1 Fashion-MNIST images (light garment
 * on black, floats in [0, 1]). Built only from layer classes the repo's lowering understands
 * (src/model/lowerLayer.ts). The convolutions stay narrow so training in Node is quick; the
 * fully-connected layers are wide on purpose, so that pruning them and splitting them across
 * devices (MSCC + FGCP) has real work to share.
 */
import * as tf from '@tensorflow/tfjs';

export interface ModelSpec {
  /** Filters per 3×3 conv layer, one array per block (each block ends in 2×2 max-pooling). */
  convBlocks: number[][];
  /** Units of the hidden Dense layers (ReLU), before the 10-way softmax. */
  hidden: number[];
  dropout: number;
}

// No dropout: TF.js draws a seeded dropout layer's mask from the same seed on every call, so it
// would drop the same units each step; three epochs do not overfit enough to need it.
export const DEFAULT_SPEC: ModelSpec = { convBlocks: [[16], [32, 32]], hidden: [512, 256], dropout: 0 };

/** Names of the hidden Dense layers (the ones that get pruned). */
export function hiddenDenseNames(spec: ModelSpec): string[] {
  return spec.hidden.map((_, i) => `fc${i + 1}`);
}

export function buildModel(spec: ModelSpec, seed: number): tf.Sequential {
  // Every initializer gets its own seed so the whole model is reproducible from one number.
  let next = seed;
  const init = (): ReturnType<typeof tf.initializers.heNormal> => tf.initializers.heNormal({ seed: next++ });
  const model = tf.sequential({ name: 'clothing' });
  let first = true;
  spec.convBlocks.forEach((block, b) => {
    block.forEach((filters, c) => {
      model.add(tf.layers.conv2d({
        name: `conv${b + 1}_${c + 1}`, filters, kernelSize: 3, padding: 'same', activation: 'relu',
        kernelInitializer: init(), ...(first ? { inputShape: [28, 28, 1] } : {}),
      }));
      first = false;
    });
    model.add(tf.layers.maxPooling2d({ name: `pool${b + 1}`, poolSize: 2, strides: 2 }));
  });
  model.add(tf.layers.flatten({ name: 'flatten' }));
  hiddenDenseNames(spec).forEach((name, i) => {
    model.add(tf.layers.dense({ name, units: spec.hidden[i] ?? 0, activation: 'relu', kernelInitializer: init() }));
    // Dropout only acts in training; the lowering treats it as identity.
    if (spec.dropout > 0) model.add(tf.layers.dropout({ name: `drop${i + 1}`, rate: spec.dropout, seed: next++ }));
  });
  model.add(tf.layers.dense({
    name: 'logits', units: 10, activation: 'softmax',
    kernelInitializer: tf.initializers.glorotUniform({ seed: next++ }),
  }));
  return model;
}
