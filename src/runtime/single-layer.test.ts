import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import type { PlanStep } from '../partition/index.ts';
import { gridTiling, sliceBlock, stripTiling } from '../partition/index.ts';
import { lowerModelJson } from '../model/index.ts';
import { seededWeights } from '../model/index.ts';
import { denseWeight } from '../model/index.ts';
import { resolvePadding1d } from '../model/index.ts';
import { TopologyBuilder } from '../model/index.ts';
import { executePlan } from './local-executor.ts';

/**
 * One conv or depthwise layer with any kernel, stride, dilation and padding — including
 * stride > 1 with dilation > 1, which TF.js ops refuse — checked against TF.js ops directly.
 */
interface LayerCase {
  kind: 'conv' | 'depthwise';
  height: number;
  width: number;
  channels: number;
  filters: number;
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
  same: boolean;
  capabilities: number[];
  grid: [number, number];
}

const layerCase: fc.Arbitrary<LayerCase> = fc.record({
  kind: fc.constantFrom('conv' as const, 'depthwise' as const),
  height: fc.integer({ min: 1, max: 19 }),
  width: fc.integer({ min: 1, max: 19 }),
  channels: fc.integer({ min: 1, max: 3 }),
  filters: fc.integer({ min: 1, max: 3 }),
  kernel: fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 })),
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  same: fc.boolean(),
  capabilities: fc.array(fc.double({ min: 0.1, max: 4, noNaN: true }), { minLength: 1, maxLength: 6 }),
  grid: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
}).filter((c) => c.same || (c.dilation[0] * (c.kernel[0] - 1) < c.height && c.dilation[1] * (c.kernel[1] - 1) < c.width));

/**
 * Reference: a stride-1 convolution (TF.js accepts any dilation then) over the input padded as
 * TF pads 'same', keeping every s-th output — the definition of a strided convolution.
 */
function reference(spec: LayerCase, x: tf.Tensor3D, kernel: tf.Tensor4D): tf.Tensor {
  const [top, bottom] = spec.same ? resolvePadding1d('same', spec.height, spec.kernel[0], spec.stride[0], spec.dilation[0]) : [0, 0];
  const [left, right] = spec.same ? resolvePadding1d('same', spec.width, spec.kernel[1], spec.stride[1], spec.dilation[1]) : [0, 0];
  const padded = tf.pad(x, [[top, bottom], [left, right], [0, 0]]);
  const dense = spec.kind === 'conv'
    ? tf.conv2d(padded, kernel, 1, 'valid', 'NHWC', spec.dilation)
    : tf.depthwiseConv2d(padded, kernel, 1, 'valid', 'NHWC', spec.dilation);
  const [h, w] = dense.shape;
  const rows = Array.from({ length: Math.ceil(h / spec.stride[0]) }, (_, i) => i * spec.stride[0]);
  const cols = Array.from({ length: Math.ceil(w / spec.stride[1]) }, (_, i) => i * spec.stride[1]);
  return tf.gather(tf.gather(dense, rows, 0), cols, 1);
}

function check(spec: LayerCase): void {
  const builder = new TopologyBuilder('one');
  const x = builder.input('input', [spec.height, spec.width, spec.channels]);
  const output = builder.layer(spec.kind === 'conv' ? 'Conv2D' : 'DepthwiseConv2D', 'layer', {
    filters: spec.filters, kernel_size: spec.kernel, strides: spec.stride, dilation_rate: spec.dilation,
    padding: spec.same ? 'same' : 'valid', use_bias: false, activation: 'linear',
  }, [x]);
  const graph = lowerModelJson(builder.build(output));
  const weights = seededWeights(graph, { seed: spec.height * 31 + spec.width });
  const node = graph.nodes[1];
  const kernelRef = node?.weights[0];
  if (node === undefined || kernelRef === undefined) throw new Error('check: lowering lost the layer');
  tf.tidy(() => {
    const input = tf.randomUniform<tf.Rank.R3>([spec.height, spec.width, spec.channels], -1, 1, 'float32', spec.width);
    const kernel = tf.tensor4d(denseWeight(weights, kernelRef.name, kernelRef.shape), kernelRef.shape as [number, number, number, number]);
    const expected = reference(spec, input, kernel);
    const hw = node.outputShape.slice(0, 2) as [number, number];
    const tilings = {
      'BODP rows': stripTiling(hw, spec.capabilities, 'rows'),
      'BODP cols': stripTiling(hw, spec.capabilities, 'cols'),
      '2D grid': gridTiling(hw, spec.grid[0], spec.grid[1], spec.capabilities.length),
    };
    for (const [scheme, tiles] of Object.entries(tilings)) {
      const steps: PlanStep[] = [{ kind: 'spatial', scheme: 'bodp', nodeIds: [1], depth: 1, slices: sliceBlock(graph, [1], tiles) }];
      const actual = executePlan(tf, graph, weights, steps, input);
      const difference = actual.shape.join() === expected.shape.join() ? tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0] : Infinity;
      if (!((difference ?? Infinity) <= 1e-4)) {
        throw new Error(`${scheme}: got ${actual.shape.join('×')}, expected ${expected.shape.join('×')}, max diff ${difference} for ${JSON.stringify(spec)}`);
      }
    }
  });
}

describe('one conv/depthwise layer split any way == TF.js ops on the whole input', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([
    ['conv k=3×3 s=2×2 d=2×2 same 9×9', { kind: 'conv', height: 9, width: 9, channels: 2, filters: 2, kernel: [3, 3], stride: [2, 2], dilation: [2, 2], same: true, capabilities: [1, 1, 1], grid: [2, 2] }],
    ['depthwise k=7×1 s=3×1 d=2×1 valid 19×5', { kind: 'depthwise', height: 19, width: 5, channels: 3, filters: 1, kernel: [7, 1], stride: [3, 1], dilation: [2, 1], same: false, capabilities: [3, 1], grid: [3, 1] }],
    ['depthwise k=3 d=2 same 8×8 (the dilation tfjs-layers drops)', { kind: 'depthwise', height: 8, width: 8, channels: 2, filters: 1, kernel: [3, 3], stride: [1, 1], dilation: [2, 2], same: true, capabilities: [1, 2, 3, 4], grid: [2, 2] }],
  ] satisfies [string, LayerCase][])('%s', (_name, spec) => {
    check(spec);
  });

  it('holds for random kernels 1–7, strides 1–3, dilations 1–2, same/valid, odd sizes, 1–6 devices', () => {
    fc.assert(fc.property(layerCase, check), { numRuns: 150, seed: 7927211 });
  }, 60_000);
});
