import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { chooseBackend, computesInFloat32 } from './backends.ts';

describe('chooseBackend', () => {
  it('measures every candidate that starts and activates the fastest of them', async () => {
    const choice = await chooseBackend({ repetitions: 1 }, ['wasm', 'cpu']);
    expect(Object.keys(choice.timingsMs).sort()).toEqual(['cpu', 'wasm']);
    const measured = Object.entries(choice.timingsMs).filter(([, ms]) => typeof ms === 'number') as [string, number][];
    expect(measured.length).toBeGreaterThan(0);
    expect(choice.timingsMs[choice.name]).toBe(Math.min(...measured.map(([, ms]) => ms)));
    expect(tf.getBackend()).toBe(choice.name);
  });

  it('takes the user’s override without measuring', async () => {
    const choice = await chooseBackend({ override: 'cpu' }, ['wasm', 'cpu']);
    expect(choice).toMatchObject({ name: 'cpu', timingsMs: {}, reason: 'chosen by the user' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('reports a backend that cannot start as null and falls back to one that can', async () => {
    const choice = await chooseBackend({ repetitions: 1 }, ['webgpu', 'cpu']);
    expect(choice.timingsMs['webgpu']).toBeNull();
    expect(choice.name).toBe('cpu');
  });

  it('never counts WebGL in half precision as computing in float32 (other backends always do)', () => {
    // Not read through getBool: in Node, evaluating the flag tries to make a WebGL context.
    const before = tf.env().getFlags()['WEBGL_RENDER_FLOAT32_ENABLED'];
    try {
      tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', false);
      expect(computesInFloat32('webgl')).toBe(false);
      for (const name of ['webgpu', 'wasm', 'cpu'] as const) expect(computesInFloat32(name)).toBe(true);
      tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', true);
      expect(computesInFloat32('webgl')).toBe(true);
    } finally {
      if (before === undefined) tf.env().reset();
      else tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', before);
    }
  });
});
