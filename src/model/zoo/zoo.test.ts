import { describe, expect, it } from 'vitest';
import { shapeSize } from '../graph.ts';
import { csrNnz } from '../sparse.ts';
import { buildMobileNetV2 } from './mobilenetV2.ts';
import { buildVgg16 } from './vgg16.ts';

describe('buildVgg16 (paper setting: 224×224×3, width 1)', () => {
  const vgg = buildVgg16();
  const ops = vgg.graph.nodes.map((n) => n.attrs.op);

  it('has 13 conv, 5 max-pool and 3 dense layers', () => {
    expect([ops.filter((o) => o === 'conv2d').length, ops.filter((o) => o === 'maxPool2d').length, ops.filter((o) => o === 'dense').length]).toEqual([13, 5, 3]);
  });

  it('has the 138,357,544 parameters of the published VGG-16', () => {
    const parameters = vgg.graph.nodes.flatMap((n) => n.weights).reduce((sum, w) => sum + shapeSize(w.shape), 0);
    expect(parameters).toBe(138_357_544);
  });

  it('costs 30.9 GFLOPs (15.5 G multiply-adds, the usual figure)', () => {
    const flops = vgg.graph.nodes.reduce((sum, n) => sum + n.flops, 0);
    expect(flops / 1e9).toBeCloseTo(30.95, 1);
  });

  it('feeds fc6 a 7×7×512 = 25088 vector', () => {
    expect(vgg.graph.nodes.find((n) => n.name === 'fc6')?.inputShapes[0]).toEqual([25088]);
  });
});

describe('zoo weights', () => {
  const smallVggWeights = buildVgg16({ widthMultiplier: 0.125, inputSize: 64 }).weights();

  it.each([
    ['fc6', 0.04],
    ['fc7', 0.04],
    ['fc8', 0.25],
  ])('VGG-16 (width 1/8) %s is pruned to density %s', (name, density) => {
    const kernel = smallVggWeights.sparse.get(`${name}/kernel`);
    expect(kernel && csrNnz(kernel) / (kernel.rows * kernel.cols)).toBeCloseTo(density, 4);
  });

  it('same seed → same weights, other seed → other weights', () => {
    const digest = (seed: number): number[] => {
      const weights = buildMobileNetV2({ seed }).weights();
      return [...weights.dense.values()].map((t) => t.values.reduce((a, b) => a + b, 0));
    };
    expect(digest(5)).toEqual(digest(5));
    expect(digest(5)).not.toEqual(digest(6));
  });
});

describe('zoo models: structure', () => {
  it('MobileNetV2-style has depthwise, BN, ReLU6, residual add and asymmetric zero padding', () => {
    const graph = buildMobileNetV2().graph;
    const ops = graph.nodes.map((n) => n.attrs);
    expect(ops.some((a) => a.op === 'depthwiseConv2d')).toBe(true);
    expect(ops.some((a) => a.op === 'batchNorm')).toBe(true);
    expect(ops.some((a) => a.op === 'activation' && a.activation.kind === 'relu6')).toBe(true);
    expect(ops.filter((a) => a.op === 'add').length).toBeGreaterThanOrEqual(2);
    expect(ops.some((a) => a.op === 'zeroPadding2d' && a.padding.top !== a.padding.bottom)).toBe(true);
  });
});
