import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildVgg16 } from '../model/index.ts';
import { fitLinear, profileCompute } from './profile.ts';

describe('fitLinear', () => {
  it.each([
    ['exact line', [{ flops: 1e6, ms: 3 }, { flops: 3e6, ms: 7 }, { flops: 5e6, ms: 11 }], 2e-6, 1],
    ['through the origin when noise tilts b below zero', [{ flops: 1e6, ms: 0.5 }, { flops: 2e6, ms: 2.5 }], (1e6 * 0.5 + 2e6 * 2.5) / (1e12 + 4e12), 0],
  ])('%s', (_name, samples, a, b) => {
    const fit = fitLinear(samples);
    expect(fit.aMsPerFlop).toBeCloseTo(a, 12);
    expect(fit.bMs).toBeCloseTo(b, 9);
  });
});

describe('profileCompute', () => {
  it('times the model’s own conv shapes and fits a positive a and b', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const vgg = buildVgg16({ inputSize: 32, widthMultiplier: 1 / 16, classes: 10 });
    const profile = await profileCompute(vgg.graph, { maxShapes: 2, repetitions: 1 });
    expect(profile.samples).toHaveLength(4);
    expect(profile.samples.every((s) => s.flops > 0 && s.ms >= 0)).toBe(true);
    expect(profile.aMsPerFlop).toBeGreaterThan(0);
    expect(profile.bMs).toBeGreaterThanOrEqual(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
