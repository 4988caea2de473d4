import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DeviceProfile, PlannerOptions } from '../partition/index.ts';
import { planInference, planSteps } from '../partition/index.ts';
import type { ZooModel } from '../model/index.ts';
import { buildMobileNetV2 } from '../model/index.ts';
import { buildVgg16 } from '../model/index.ts';
import { lowerLayersModel } from '../model/index.ts';
import { executePlan } from './local-executor.ts';
import { weightsFromLayersModel } from '../model/index.ts';
import { toLayersModel } from '../model/index.ts';

function phone(id: string, gflops: number, megabytesPerSecond: number): DeviceProfile {
  return { id, aMsPerFlop: 1 / (gflops * 1e6), bMs: 0.5, bandwidthBytesPerMs: megabytesPerSecond * 1000, wakeMs: 1, memoryBytes: 2e9 };
}

/** Forced schemes (no owner-only escape) so every scheme is executed on every model. */
const forced = { allowOwnerOnly: false, excludeDevices: false } as const;
const schemes: [string, PlannerOptions][] = [
  ['BODP per layer + output split', { ...forced, spatialSchemes: ['bodp'], maxFusedDepth: 1, fcSchemes: ['outputSplit'] }],
  ['BODP along columns', { ...forced, spatialSchemes: ['bodp'], maxFusedDepth: 1, axis: 'cols', fcSchemes: ['outputSplit'] }],
  ['2D grid per layer + MSCC/FGCP', { ...forced, spatialSchemes: ['grid'], maxFusedDepth: 1, fcSchemes: ['msccFgcp'] }],
  ['fused blocks (rows) + MSCC/FGCP', { ...forced, spatialSchemes: ['fused'], maxFusedDepth: 6, fcSchemes: ['msccFgcp'] }],
  ['bandwidth-aware strips (OCBP), per layer and fused', { ...forced, spatialSchemes: ['bodp', 'fused'], bandwidthAware: true, fcSchemes: ['outputSplit'] }],
  ['fused 2D grid (DeepThings FTP)', { ...forced, spatialSchemes: ['grid'], maxFusedDepth: 6, fcSchemes: ['outputSplit'] }],
  ["the planner's own choice", {}],
];

// Slow compute (tens of MFLOP/s) against fast links, so even these small models are worth splitting.
const heterogeneous = [phone('owner', 0.02, 50), phone('fast', 0.04, 50), phone('slow', 0.01, 20), phone('mid', 0.02, 30)];

describe('whole models: the plan executed slice by slice == model.predict', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const models: [string, ZooModel][] = [
    ['MobileNetV2-style 33×33', buildMobileNetV2({ inputSize: 33 })],
    ['VGG-16 width 1/16 at 48×48, pruned fc6/fc7/fc8', buildVgg16({ inputSize: 48, widthMultiplier: 1 / 16, classes: 10 })],
  ];

  it.each(models)('%s', async (_name, zoo) => {
    const weights = zoo.weights();
    const model = await toLayersModel(tf, zoo, weights);
    const [h, w, c] = zoo.graph.nodes[zoo.graph.inputId]?.outputShape as [number, number, number];
    const input = tf.randomUniform([h, w, c], 0, 1, 'float32', 5);
    const expected = tf.tidy(() => (model.predict(tf.expandDims(input, 0)) as tf.Tensor).squeeze([0]));
    for (const [scheme, options] of schemes) {
      const plan = planInference(zoo.graph, heterogeneous, { ...options, fcWeights: weights.sparse });
      const difference = tf.tidy(() => tf.max(tf.abs(tf.sub(executePlan(tf, zoo.graph, weights, planSteps(plan), input), expected))).dataSync()[0]);
      expect({ scheme, difference: (difference ?? Infinity) <= 1e-4 ? 'within 1e-4' : difference }).toEqual({ scheme, difference: 'within 1e-4' });
    }
    tf.dispose([input, expected]);
    model.dispose();
  }, 60_000);
});

describe("a user's own LayersModel: lowered live, weights read back, planned, executed", () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('residual + separable + concat + pooling + an unmodelled UpSampling2D + a pruned Dense layer == model.predict', async () => {
    const input = tf.input({ shape: [21, 19, 3] });
    const conv = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
    const separable = tf.layers.separableConv2d({ filters: 6, kernelSize: 5, padding: 'same', dilationRate: 2 }).apply(conv) as tf.SymbolicTensor;
    const normalized = tf.layers.batchNormalization({}).apply(separable) as tf.SymbolicTensor;
    const residual = tf.layers.add().apply([conv, normalized]) as tf.SymbolicTensor;
    const joined = tf.layers.concatenate().apply([residual, conv]) as tf.SymbolicTensor;
    const pooled = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(joined) as tf.SymbolicTensor;
    // A layer this project does not model: lowered as opaque, left to the owner, run by TF.js itself.
    const upsampled = tf.layers.upSampling2d({ size: [2, 2] }).apply(pooled) as tf.SymbolicTensor;
    const averaged = tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }).apply(upsampled) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(averaged) as tf.SymbolicTensor;
    const hidden = tf.layers.dense({ units: 64, activation: 'relu', name: 'pruned_fc' }).apply(flat) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 5, activation: 'softmax' }).apply(hidden) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    // Prune the hidden layer to about 10% by zeroing small weights, as a user's pruned model would be.
    const fcLayer = model.getLayer('pruned_fc');
    const [kernel, bias] = fcLayer.getWeights() as [tf.Tensor, tf.Tensor];
    const threshold = tf.tidy(() => tf.topk(tf.abs(kernel.flatten()), Math.round(kernel.size * 0.1)).values.min().dataSync()[0] ?? 0);
    fcLayer.setWeights([tf.tidy(() => tf.where(tf.greaterEqual(tf.abs(kernel), threshold), kernel, tf.zerosLike(kernel))), bias]);

    const graph = lowerLayersModel(model);
    expect(graph.nodes.filter((n) => n.attrs.op === 'opaque').map((n) => n.spatialRole)).toEqual(['global']);
    const weights = await weightsFromLayersModel(model, graph);
    expect([...weights.sparse.keys()]).toEqual(['pruned_fc/kernel']);
    const x = tf.randomUniform([21, 19, 3], -1, 1, 'float32', 3);
    const expected = tf.tidy(() => (model.predict(tf.expandDims(x, 0)) as tf.Tensor).squeeze([0]));
    for (const [scheme, options] of schemes) {
      const plan = planInference(graph, heterogeneous, { ...options, fcWeights: weights.sparse });
      const difference = tf.tidy(() => tf.max(tf.abs(tf.sub(executePlan(tf, graph, weights, planSteps(plan), x, { model }), expected))).dataSync()[0]);
      expect({ scheme, difference: (difference ?? Infinity) <= 1e-4 ? 'within 1e-4' : difference }).toEqual({ scheme, difference: 'within 1e-4' });
    }
  }, 60_000);
});
