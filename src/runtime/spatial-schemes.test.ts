import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import type { PlanStep, TileAssignment } from '../partition/index.ts';
import { gridTiling, layerUnits, sliceBlock, stripTiling } from '../partition/index.ts';
import type { ModelGraph } from '../model/index.ts';
import { lowerModelJson } from '../model/index.ts';
import { seededWeights } from '../model/index.ts';
import type { ModelWeights } from '../model/index.ts';
import { TopologyBuilder } from '../model/index.ts';
import { executePlan } from './local-executor.ts';
import { toLayersModel } from '../model/index.ts';

/** One random layer of a stack; sizes that do not fit the running map fall back to 'same'. */
type LayerSpec =
  | { kind: 'conv' | 'depthwise' | 'separable'; kernel: number; stride: number; dilation: number; same: boolean; filters: number }
  | { kind: 'maxPool' | 'avgPool'; kernel: number; stride: number; same: boolean }
  | { kind: 'zeroPad'; top: number; bottom: number; left: number; right: number }
  | { kind: 'batchNorm' | 'relu6' | 'leakyRelu' }
  | { kind: 'residual'; kernel: number; dilation: number };

const layerSpec: fc.Arbitrary<LayerSpec> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('conv' as const, 'depthwise' as const, 'separable' as const),
    kernel: fc.integer({ min: 1, max: 7 }),
    stride: fc.integer({ min: 1, max: 3 }),
    dilation: fc.integer({ min: 1, max: 2 }),
    same: fc.boolean(),
    filters: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({ kind: fc.constantFrom('maxPool' as const, 'avgPool' as const), kernel: fc.integer({ min: 1, max: 4 }), stride: fc.integer({ min: 1, max: 3 }), same: fc.boolean() }),
  fc.record({ kind: fc.constant('zeroPad' as const), top: fc.nat(2), bottom: fc.nat(2), left: fc.nat(2), right: fc.nat(2) }),
  fc.record({ kind: fc.constantFrom('batchNorm' as const, 'relu6' as const, 'leakyRelu' as const) }),
  fc.record({ kind: fc.constant('residual' as const), kernel: fc.integer({ min: 1, max: 5 }), dilation: fc.integer({ min: 1, max: 2 }) }),
);

interface StackCase {
  height: number;
  width: number;
  channels: number;
  layers: LayerSpec[];
  capabilities: number[];
  grid: [number, number];
  seed: number;
}

const stackCase: fc.Arbitrary<StackCase> = fc.record({
  height: fc.integer({ min: 5, max: 17 }),
  width: fc.integer({ min: 5, max: 17 }),
  channels: fc.integer({ min: 1, max: 3 }),
  layers: fc.array(layerSpec, { minLength: 1, maxLength: 4 }),
  capabilities: fc.array(fc.double({ min: 0.1, max: 4, noNaN: true }), { minLength: 1, maxLength: 6 }),
  grid: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  seed: fc.nat(1000),
});

/** Builds the stack as a Keras topology; returns undefined when a layer cannot fit at all. */
function buildStack(spec: StackCase): Record<string, unknown> {
  const builder = new TopologyBuilder('stack');
  let x = builder.input('input', [spec.height, spec.width, spec.channels]);
  let [h, w, c] = [spec.height, spec.width, spec.channels];
  spec.layers.forEach((layer, i) => {
    const name = `l${i}_${layer.kind}`;
    switch (layer.kind) {
      case 'conv':
      case 'depthwise':
      case 'separable': {
        // TF.js refuses stride > 1 with dilation > 1, and (HACK: tfjs-layers 4.22
        // convolutional_depthwise.js calls depthwiseConv2d with dilationRate null) its DepthwiseConv2D
        // layer ignores dilation. Both are covered against TF.js ops in singleLayer.test.ts.
        const dilation = layer.stride > 1 || layer.kind === 'depthwise' ? 1 : layer.dilation;
        const extent = dilation * (layer.kernel - 1) + 1;
        const same = layer.same || extent > Math.min(h, w);
        const className = { conv: 'Conv2D', depthwise: 'DepthwiseConv2D', separable: 'SeparableConv2D' }[layer.kind];
        x = builder.layer(className, name, {
          filters: layer.filters, kernel_size: [layer.kernel, layer.kernel], strides: [layer.stride, layer.stride],
          dilation_rate: [dilation, dilation], padding: same ? 'same' : 'valid', use_bias: true, activation: 'relu', depth_multiplier: 1,
        }, [x]);
        [h, w] = same ? [Math.ceil(h / layer.stride), Math.ceil(w / layer.stride)]
          : [Math.floor((h - extent) / layer.stride) + 1, Math.floor((w - extent) / layer.stride) + 1];
        if (layer.kind !== 'depthwise') c = layer.filters;
        break;
      }
      case 'maxPool':
      case 'avgPool': {
        const same = layer.same || layer.kernel > Math.min(h, w);
        x = builder.layer(layer.kind === 'maxPool' ? 'MaxPooling2D' : 'AveragePooling2D', name, {
          pool_size: [layer.kernel, layer.kernel], strides: [layer.stride, layer.stride], padding: same ? 'same' : 'valid',
        }, [x]);
        [h, w] = same ? [Math.ceil(h / layer.stride), Math.ceil(w / layer.stride)]
          : [Math.floor((h - layer.kernel) / layer.stride) + 1, Math.floor((w - layer.kernel) / layer.stride) + 1];
        break;
      }
      case 'zeroPad':
        x = builder.layer('ZeroPadding2D', name, { padding: [[layer.top, layer.bottom], [layer.left, layer.right]] }, [x]);
        h += layer.top + layer.bottom;
        w += layer.left + layer.right;
        break;
      case 'batchNorm':
        x = builder.layer('BatchNormalization', name, { axis: -1, epsilon: 1e-3 }, [x]);
        break;
      case 'relu6':
        x = builder.layer('ReLU', name, { max_value: 6 }, [x]);
        break;
      case 'leakyRelu':
        x = builder.layer('LeakyReLU', name, { alpha: 0.2 }, [x]);
        break;
      case 'residual': {
        const branch = builder.layer('Conv2D', `${name}_conv`, {
          filters: c, kernel_size: [layer.kernel, layer.kernel], strides: [1, 1], dilation_rate: [layer.dilation, layer.dilation],
          padding: 'same', use_bias: true, activation: 'relu',
        }, [x]);
        const depthwise = builder.layer('DepthwiseConv2D', `${name}_dw`, { kernel_size: [3, 3], padding: 'same', use_bias: false }, [branch]);
        x = builder.layer('Add', `${name}_add`, {}, [x, depthwise]);
        break;
      }
    }
  });
  return builder.build(x);
}

function spatialStep(graph: ModelGraph, nodeIds: number[], tiles: (hw: [number, number]) => TileAssignment[]): PlanStep {
  const output = graph.nodes[nodeIds[nodeIds.length - 1] as number];
  const hw = output?.outputShape.slice(0, 2) as [number, number];
  return { kind: 'spatial', scheme: 'fused', nodeIds, depth: 1, slices: sliceBlock(graph, nodeIds, tiles(hw)) };
}

/** The schemes under test, each as the plan steps for the whole stack. */
function schemes(graph: ModelGraph, spec: StackCase): Record<string, PlanStep[]> {
  const units = layerUnits(graph);
  const all = units.flatMap((unit) => unit.nodeIds);
  const n = spec.capabilities.length;
  const [p, q] = spec.grid;
  return {
    'BODP rows, per layer': units.map((unit) => spatialStep(graph, [...unit.nodeIds], (hw) => stripTiling(hw, spec.capabilities, 'rows'))),
    'BODP cols, per layer': units.map((unit) => spatialStep(graph, [...unit.nodeIds], (hw) => stripTiling(hw, spec.capabilities, 'cols'))),
    '2D grid, per layer': units.map((unit) => spatialStep(graph, [...unit.nodeIds], (hw) => gridTiling(hw, p, q, n))),
    'fused block, rows': [spatialStep(graph, all, (hw) => stripTiling(hw, spec.capabilities, 'rows'))],
    'fused block, 2D grid': [spatialStep(graph, all, (hw) => gridTiling(hw, p, q, n))],
  };
}

function maxAbsDifference(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return a.length === b.length ? max : Number.POSITIVE_INFINITY;
}

async function checkStack(spec: StackCase): Promise<void> {
  const topology = buildStack(spec);
  const graph = lowerModelJson(topology);
  const weights: ModelWeights = seededWeights(graph, { seed: spec.seed });
  const model = await toLayersModel(tf, { topology, graph }, weights);
  const input = tf.randomUniform([spec.height, spec.width, spec.channels], -1, 1, 'float32', spec.seed);
  const reference = tf.tidy(() => (model.predict(tf.expandDims(input, 0)) as tf.Tensor).squeeze([0]));
  const expected = reference.dataSync();
  for (const [scheme, steps] of Object.entries(schemes(graph, spec))) {
    const actual = tf.tidy(() => executePlan(tf, graph, weights, steps, input).dataSync());
    const difference = maxAbsDifference(actual, expected);
    if (!(difference <= 1e-4)) {
      throw new Error(`${scheme}: max |distributed − whole| = ${difference} for ${JSON.stringify(spec)}`);
    }
  }
  tf.dispose([input, reference]);
  model.dispose();
}

describe('spatial schemes executed slice by slice == the unsplit TF.js model', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([
    ['k=3 s=1 same, 6×6, 4 equal devices', { height: 6, width: 6, channels: 2, layers: [{ kind: 'conv', kernel: 3, stride: 1, dilation: 1, same: true, filters: 3 }], capabilities: [1, 1, 1, 1], grid: [2, 2], seed: 1 }],
    ['k=7 s=3 valid then maxPool same, 17×11, 3 biased devices', { height: 17, width: 11, channels: 3, layers: [{ kind: 'conv', kernel: 7, stride: 3, dilation: 1, same: false, filters: 2 }, { kind: 'maxPool', kernel: 3, stride: 2, same: true }], capabilities: [2, 1, 1], grid: [3, 1], seed: 2 }],
    ['avgPool same excludes padding at every border, 9×9', { height: 9, width: 9, channels: 1, layers: [{ kind: 'avgPool', kernel: 4, stride: 1, same: true }], capabilities: [1, 3], grid: [2, 3], seed: 3 }],
    ['asymmetric zero padding then depthwise s=2 valid (MobileNetV2 stem)', { height: 8, width: 8, channels: 2, layers: [{ kind: 'zeroPad', top: 0, bottom: 1, left: 0, right: 1 }, { kind: 'depthwise', kernel: 3, stride: 2, dilation: 1, same: false, filters: 1 }], capabilities: [1, 1, 1, 1, 1, 1], grid: [2, 2], seed: 4 }],
    ['residual block with dilation 2, 6 devices, more devices than rows', { height: 5, width: 7, channels: 2, layers: [{ kind: 'residual', kernel: 3, dilation: 2 }, { kind: 'batchNorm' }], capabilities: [1, 1, 1, 1, 1, 1], grid: [3, 3], seed: 5 }],
  ] satisfies [string, StackCase][])('%s', async (_name, spec) => {
    await checkStack(spec);
  });

  it('holds for random conv/depthwise/separable/pool/padding/residual stacks on 1–6 devices', async () => {
    await fc.assert(fc.asyncProperty(stackCase, checkStack), { numRuns: 100, seed: 20170327 });
  }, 120_000);
});
