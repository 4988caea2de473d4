import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelError } from './errors.ts';
import type { ModelGraph } from './graph.ts';
import { lowerLayersModel, lowerModelJson } from './lowerTopology.ts';

/** A live model with one of every supported layer (and one the project does not model). */
function kitchenSink(): tf.LayersModel {
  const input = tf.input({ shape: [11, 9, 3] });
  const padded = tf.layers.zeroPadding2d({ padding: [[0, 1], [2, 0]] }).apply(input) as tf.SymbolicTensor;
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: [3, 5], strides: [2, 1], padding: 'same', dilationRate: 1, activation: 'relu' }).apply(padded) as tf.SymbolicTensor;
  const dilated = tf.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same' }).apply(conv) as tf.SymbolicTensor;
  const depthwise = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'valid', useBias: false }).apply(dilated) as tf.SymbolicTensor;
  const separable = tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same' }).apply(depthwise) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({}).apply(separable) as tf.SymbolicTensor;
  const relu6 = tf.layers.reLU({ maxValue: 6 }).apply(bn) as tf.SymbolicTensor;
  const leaky = tf.layers.leakyReLU({ alpha: 0.1 }).apply(relu6) as tf.SymbolicTensor;
  const added = tf.layers.add().apply([leaky, depthwise.shape[3] === 8 ? depthwise : relu6]) as tf.SymbolicTensor;
  const concat = tf.layers.concatenate({ axis: -1 }).apply([added, relu6]) as tf.SymbolicTensor;
  const maxPool = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(concat) as tf.SymbolicTensor;
  const avgPool = tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'valid' }).apply(maxPool) as tf.SymbolicTensor;
  const upsampled = tf.layers.upSampling2d({ size: [2, 2] }).apply(avgPool) as tf.SymbolicTensor;
  const activation = tf.layers.activation({ activation: 'tanh' }).apply(upsampled) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({}).apply(activation) as tf.SymbolicTensor;
  const reshaped = tf.layers.reshape({ targetShape: [2, 8] }).apply(gap) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(reshaped) as tf.SymbolicTensor;
  const dropped = tf.layers.dropout({ rate: 0.5 }).apply(flat) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 5 }).apply(dropped) as tf.SymbolicTensor;
  const softmax = tf.layers.softmax().apply(dense) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: softmax });
}

describe('lowerLayersModel', () => {
  let model: tf.LayersModel;
  let graph: ModelGraph;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = kitchenSink();
    graph = lowerLayersModel(model);
  });

  it('infers every output shape exactly as TF.js does', () => {
    for (const layer of model.layers) {
      const node = graph.nodes.find((n) => n.name === layer.name);
      expect(node?.outputShape, layer.name).toEqual((layer.outputShape as number[]).slice(1));
    }
  });

  it('lists weights with the names and shapes TF.js gives them, in TF.js order', () => {
    for (const layer of model.layers) {
      const node = graph.nodes.find((n) => n.name === layer.name);
      expect(node?.weights.map((w) => [w.name.split('/')[1], w.shape]), layer.name)
        .toEqual(layer.weights.map((w) => [w.originalName.split('/').pop(), w.shape]));
    }
  });

  it.each([
    ['ZeroPadding2D', 'zeroPadding2d', 'window'],
    ['Conv2D', 'conv2d', 'window'],
    ['DepthwiseConv2D', 'depthwiseConv2d', 'window'],
    ['SeparableConv2D', 'separableConv2d', 'window'],
    ['BatchNormalization', 'batchNorm', 'pointwise'],
    ['ReLU', 'activation', 'pointwise'],
    ['LeakyReLU', 'activation', 'pointwise'],
    ['Add', 'add', 'pointwise'],
    ['Concatenate', 'concat', 'pointwise'],
    ['MaxPooling2D', 'maxPool2d', 'window'],
    ['AveragePooling2D', 'avgPool2d', 'window'],
    ['UpSampling2D', 'opaque', 'global'],
    ['Activation', 'activation', 'pointwise'],
    ['GlobalAveragePooling2D', 'globalAvgPool2d', 'global'],
    ['Reshape', 'reshape', 'global'],
    ['Flatten', 'flatten', 'global'],
    ['Dropout', 'dropout', 'pointwise'],
    ['Dense', 'dense', 'global'],
    ['Softmax', 'softmax', 'global'],
  ])('class=%s → op=%s role=%s', (className, op, role) => {
    const layer = model.layers.find((l) => l.getClassName() === className);
    const node = graph.nodes.find((n) => n.name === layer?.name);
    expect([node?.attrs.op, node?.spatialRole]).toEqual([op, role]);
  });

  it('resolves same padding to explicit numbers and counts conv FLOPs as 2·Ho·Wo·Co·Kh·Kw·Ci', () => {
    const conv = graph.nodes.find((n) => n.attrs.op === 'conv2d');
    expect(conv?.attrs.op === 'conv2d' && conv.attrs.window.padding).toEqual({ top: 0, bottom: 1, left: 2, right: 2 });
    // Input 12×11×3 after padding; stride 2 rows: 6 outputs need (6−1)·2+3−12 = 1 padding row, the odd one after.
    expect(conv?.flops).toBe(2 * 6 * 11 * 4 * 3 * 5 * 3);
  });

  it('orders nodes topologically with the output last', () => {
    for (const node of graph.nodes) for (const input of node.inputs) expect(input).toBeLessThan(node.id);
    expect(graph.nodes[graph.outputId]?.attrs.op).toBe('softmax');
  });
});

describe('lowerModelJson', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('lowers a Sequential model without an InputLayer', () => {
    const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 3 })] });
    const graph = lowerModelJson(model.toJSON(null, false));
    expect(graph.nodes.map((n) => [n.attrs.op, n.outputShape])).toEqual([['input', [8, 8, 1]], ['conv2d', [6, 6, 2]], ['flatten', [72]], ['dense', [3]]]);
  });

  it('accepts a whole model.json ({modelTopology, weightsManifest})', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
    expect(lowerModelJson({ modelTopology: model.toJSON(null, false), weightsManifest: [] }).nodes).toHaveLength(2);
  });

  it.each([
    ['an unmodelled layer without a known shape', (json: { config: { layers: { class_name: string }[] } }) => { (json.config.layers[1] as { class_name: string }).class_name = 'Mystery'; }],
    ['channels_first', (json: { config: { layers: { config: Record<string, unknown> }[] } }) => { (json.config.layers[1] as { config: Record<string, unknown> }).config['data_format'] = 'channels_first'; }],
    ['a missing inbound layer', (json: { config: { layers: { inbound_nodes: unknown }[] } }) => { (json.config.layers[1] as { inbound_nodes: unknown }).inbound_nodes = [[['nowhere', 0, 0, {}]]]; }],
  ])('rejects %s with ERR_MODEL_TOPOLOGY', (_name, corrupt) => {
    const input = tf.input({ shape: [6, 6, 1] });
    const output = tf.layers.conv2d({ filters: 1, kernelSize: 3 }).apply(input) as tf.SymbolicTensor;
    const json = tf.model({ inputs: input, outputs: output }).toJSON(null, false) as never;
    corrupt(json);
    expect(() => lowerModelJson(json)).toThrow(expect.objectContaining({ code: 'ERR_MODEL_TOPOLOGY' }) as ModelError);
  });
});
