import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMobileNetV2, buildVgg16, toLayersModel } from '../model/index.ts';
import { executeWhole } from './local-executor.ts';

describe('zoo models run in TF.js, and the graph executor agrees with model.predict', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([
    ['MobileNetV2-style 33×33 (odd size)', buildMobileNetV2({ inputSize: 33 })],
    ['VGG-16 width 1/16 at 32×32', buildVgg16({ inputSize: 32, widthMultiplier: 1 / 16, classes: 10 })],
  ])('%s', async (_name, zoo) => {
    const weights = zoo.weights();
    const model = await toLayersModel(tf, zoo, weights);
    const [h, w, c] = zoo.graph.nodes[zoo.graph.inputId]?.outputShape as [number, number, number];
    const input = tf.randomUniform([h, w, c], 0, 1, 'float32', 9);
    const expected = (model.predict(tf.expandDims(input, 0)) as tf.Tensor).squeeze([0]);
    const actual = executeWhole(tf, zoo.graph, weights, input);
    expect(tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0]).toBeLessThan(1e-5);
    const ops = new Set(zoo.graph.nodes.map((n) => n.attrs.op));
    expect(ops.has('conv2d')).toBe(true);
  });
});
