/**
 * Capability profiling: time the model's own convolution shapes on the backend that is running
 * and fit T = a·FLOPs + b (ALGORITHMS.md §2). Capability is 1/a. Bands of at most `maxRows`
 * rows keep it short on a slow phone; the fit covers the sizes the device will really get.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelGraph } from '../model/index.ts';
import { yieldToEventLoop } from './yield.ts';

export interface ProfileSample {
  flops: number;
  ms: number;
}

export interface ComputeProfile {
  /** ms per FLOP. */
  aMsPerFlop: number;
  /** Fixed ms per layer run. */
  bMs: number;
  samples: ProfileSample[];
}

export interface ProfileOptions {
  /** Distinct conv shapes to time (largest FLOPs first). Default 4. */
  maxShapes: number;
  /** Rows of each shape's output band. Default 8 and 2 (two sizes per shape fit b). */
  bandRows: readonly number[];
  /** Runs per measurement after a warm-up; the median counts. Default 2. */
  repetitions: number;
  now: () => number;
}

const DEFAULTS: ProfileOptions = { maxShapes: 4, bandRows: [8, 2], repetitions: 2, now: () => performance.now() };

/** Least-squares fit of ms = a·flops + b, with a and b kept positive (a tiny floor for a). */
export function fitLinear(samples: readonly ProfileSample[]): { aMsPerFlop: number; bMs: number } {
  const n = samples.length;
  if (n === 0) throw new RangeError('fitLinear: no samples');
  const meanX = samples.reduce((s, p) => s + p.flops, 0) / n;
  const meanY = samples.reduce((s, p) => s + p.ms, 0) / n;
  const sxx = samples.reduce((s, p) => s + (p.flops - meanX) ** 2, 0);
  const sxy = samples.reduce((s, p) => s + (p.flops - meanX) * (p.ms - meanY), 0);
  let a = sxx > 0 ? sxy / sxx : meanY / Math.max(meanX, 1);
  let b = meanY - a * meanX;
  if (b < 0 || a <= 0) {
    // Noise can tilt the line through zero: fall back to a line through the origin.
    b = 0;
    a = samples.reduce((s, p) => s + p.flops * p.ms, 0) / Math.max(samples.reduce((s, p) => s + p.flops ** 2, 0), 1);
  }
  return { aMsPerFlop: Math.max(a, 1e-12), bMs: b };
}

/** Times the graph's conv layers (on bands of a few rows) on the active backend and fits the profile. */
export async function profileCompute(graph: ModelGraph, options: Partial<ProfileOptions> = {}): Promise<ComputeProfile> {
  const { maxShapes, bandRows, repetitions, now } = { ...DEFAULTS, ...options };
  const seen = new Set<string>();
  const shapes: { inC: number; outC: number; width: number; kernel: [number, number]; strides: [number, number] }[] = [];
  for (const node of [...graph.nodes].sort((a, b) => b.flops - a.flops)) {
    if (node.attrs.op !== 'conv2d') continue;
    const input = node.inputShapes[0];
    const output = node.outputShape;
    if (!input || input.length !== 3 || output.length !== 3) continue;
    const shape = { inC: input[2] as number, outC: output[2] as number, width: output[1] as number, kernel: [...node.attrs.window.kernel] as [number, number], strides: [...node.attrs.window.strides] as [number, number] };
    const key = JSON.stringify(shape);
    if (seen.has(key)) continue;
    seen.add(key);
    shapes.push(shape);
    if (shapes.length >= maxShapes) break;
  }
  if (shapes.length === 0) shapes.push({ inC: 16, outC: 16, width: 28, kernel: [3, 3], strides: [1, 1] });

  const samples: ProfileSample[] = [];
  for (const s of shapes) {
    for (const rows of bandRows) {
      const inRows = (rows - 1) * s.strides[0] + s.kernel[0];
      const inCols = (s.width - 1) * s.strides[1] + s.kernel[1];
      const x = tf.randomUniform<tf.Rank.R4>([1, inRows, inCols, s.inC]);
      const w = tf.randomUniform<tf.Rank.R4>([s.kernel[0], s.kernel[1], s.inC, s.outC]);
      const run = async () => {
        const y = tf.conv2d(x, w, s.strides, 'valid');
        await y.data();
        y.dispose();
      };
      try {
        await run();
        // Profiling takes seconds on a slow phone; the page must keep answering its peers.
        await yieldToEventLoop();
        const times: number[] = [];
        for (let i = 0; i < repetitions; i++) {
          const t0 = now();
          await run();
          times.push(now() - t0);
          await yieldToEventLoop();
        }
        samples.push({ flops: 2 * rows * s.width * s.outC * s.kernel[0] * s.kernel[1] * s.inC, ms: times.sort((a, b) => a - b)[times.length >> 1] as number });
      } finally {
        x.dispose();
        w.dispose();
      }
    }
  }
  return { ...fitLinear(samples), samples };
}
