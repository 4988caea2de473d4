import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useConvFilterGradViaConv } from './conv-filter-grad.ts';

interface Case {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
}

const cases: Case[] = [
  { name: '3×3 same, stride 1 (the clothing model)', x: [4, 9, 9, 3], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same' },
  { name: '3×3 valid, stride 1', x: [2, 8, 7, 2], filter: [3, 3, 2, 4], strides: [1, 1], pad: 'valid' },
  { name: '3×3 same, stride 2, odd size', x: [3, 9, 11, 2], filter: [3, 3, 2, 3], strides: [2, 2], pad: 'same' },
  { name: '3×3 valid, stride 2 (last row unused)', x: [2, 10, 10, 3], filter: [3, 3, 3, 2], strides: [2, 2], pad: 'valid' },
  { name: '5×3 explicit padding, strides 2×1', x: [2, 11, 8, 2], filter: [5, 3, 2, 3], strides: [2, 1], pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { name: '1×1, one image', x: [1, 5, 5, 4], filter: [1, 1, 4, 6], strides: [1, 1], pad: 'valid' },
];

/** The filter gradient of `c` through whatever kernel is registered now. */
function filterGrad(c: Case, x: tf.Tensor4D, filter: tf.Tensor4D): Float32Array {
  return tf.tidy(() => {
    // A seeded upstream gradient, so the check does not hinge on dy being all ones.
    const dy = tf.randomUniform(tf.conv2d(x, filter, c.strides, c.pad).shape, -1, 1, 'float32', 7);
    const g = tf.grad((w: tf.Tensor) => tf.conv2d(x, w as tf.Tensor4D, c.strides, c.pad).mul(dy).sum());
    return g(filter).dataSync() as Float32Array;
  });
}

describe('conv filter gradient as a forward convolution', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => {
    tf.disposeVariables();
  });

  for (const c of cases) {
    it(`matches the stock CPU kernel: ${c.name}`, () => {
      const x = tf.randomUniform<tf.Rank.R4>(c.x, -1, 1, 'float32', 1);
      const filter = tf.randomUniform<tf.Rank.R4>(c.filter, -1, 1, 'float32', 2);
      const stock = filterGrad(c, x, filter);
      const restore = useConvFilterGradViaConv('cpu');
      let replaced: Float32Array;
      const before = tf.memory().numTensors;
      try {
        replaced = filterGrad(c, x, filter);
      } finally {
        restore();
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(replaced.length).toBe(stock.length);
      let worst = 0;
      stock.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - (replaced[i] as number))); });
      expect(worst).toBeLessThan(1e-4);
      x.dispose();
      filter.dispose();
    });
  }

  it('on WASM (which has no stock kernel): matches the stock CPU kernel', async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const c = cases[2] as Case;
    const data = (shape: number[], seed: number): Float32Array => tf.tidy(() => tf.randomUniform(shape, -1, 1, 'float32', seed).dataSync() as Float32Array);
    const xValues = data(c.x, 1);
    const filterValues = data(c.filter, 2);
    const onCpu = filterGrad(c, tf.tensor4d(xValues, c.x), tf.tensor4d(filterValues, c.filter));
    expect(await tf.setBackend('wasm')).toBe(true);
    const restore = useConvFilterGradViaConv('wasm');
    try {
      const onWasm = filterGrad(c, tf.tensor4d(xValues, c.x), tf.tensor4d(filterValues, c.filter));
      let worst = 0;
      onCpu.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - (onWasm[i] as number))); });
      expect(worst).toBeLessThan(1e-4);
    } finally {
      restore();
      await tf.setBackend('cpu');
    }
  });

  it('puts the stock kernel back when restored', () => {
    const stock = tf.getKernel('Conv2DBackpropFilter', 'cpu');
    const restore = useConvFilterGradViaConv('cpu');
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc).not.toBe(stock?.kernelFunc);
    restore();
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc).toBe(stock?.kernelFunc);
  });
});
