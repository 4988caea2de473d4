import { describe, expect, it } from 'vitest';
import type { DeviceProfile } from './cost.ts';
import { computeMs, messageMs, predictOwnerOnly, predictStep, refreshProfile } from './cost.ts';

function device(id: string, aMsPerFlop: number, bMs: number, bandwidthBytesPerMs: number, wakeMs: number): DeviceProfile {
  return { id, aMsPerFlop, bMs, bandwidthBytesPerMs, wakeMs, memoryBytes: 1e9 };
}

describe('cost model (ALGORITHMS.md §2)', () => {
  const owner = device('owner', 0.01, 1, 1, 0);
  const fast = device('fast', 0.01, 1, 100, 2);
  const slow = device('slow', 0.02, 1, 10, 5);

  it.each([
    ['T_comp = a·FLOPs + b: 1000 FLOPs at a=0.01, b=1 → 11 ms', computeMs(owner, 1000), 11],
    ['no work costs nothing → 0 ms', computeMs(owner, 0), 0],
    ['b is paid per layer run: 1000 FLOPs in 3 layers → 13 ms', computeMs(owner, 1000, 3), 13],
    ['message = t_wake + s/B: 1000 B at 100 B/ms, wake 2 → 12 ms', messageMs(fast, 1000), 12],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toBeCloseTo(expected, 12);
  });

  it('owner alone: its compute only', () => {
    expect(predictOwnerOnly([owner, fast], 500).latencyMs).toBeCloseTo(6, 12);
  });

  it('one worker: scatter, compute, gather in series; owner computes meanwhile', () => {
    // Owner: 100 FLOPs → 2 ms. Worker: send 1000 B (12 ms), compute 1000 FLOPs (11 ms), return 500 B (7 ms) → 30 ms.
    const p = predictStep([owner, fast], [{ device: 0, flops: 100, layers: 1, sendBytes: [], returnBytes: [] }, { device: 1, flops: 1000, layers: 1, sendBytes: [1000], returnBytes: [500] }]);
    expect(p.latencyMs).toBeCloseTo(30, 12);
    expect([p.bytesToDevice, p.bytesFromDevice, p.messages]).toEqual([[0, 1000], [0, 500], 2]);
  });

  it('two workers share the medium: slowest worker is sent to first, gathers in order of readiness', () => {
    // slow: compute 2000·0.02+1 = 41 ms, send 100 B = 5+10 = 15 ms → ready at 56, return 100 B = 15 ms.
    // fast: compute 11 ms, send 1000 B = 12 ms after slow's send → arrives 27, ready 38, return 1000 B = 12 ms → 50.
    // Medium: 38 → 50 (fast), then max(50, 56) + 15 = 71 ms.
    const p = predictStep([owner, fast, slow], [
      { device: 1, flops: 1000, layers: 1, sendBytes: [1000], returnBytes: [1000] },
      { device: 2, flops: 2000, layers: 1, sendBytes: [100], returnBytes: [100] },
    ]);
    expect(p.latencyMs).toBeCloseTo(71, 12);
    expect(p.computeMs).toEqual([0, 11, 41]);
  });

  it('several messages per worker each pay the wake-up cost', () => {
    const one = predictStep([owner, fast], [{ device: 1, flops: 1, layers: 1, sendBytes: [1000], returnBytes: [100] }]);
    const split = predictStep([owner, fast], [{ device: 1, flops: 1, layers: 1, sendBytes: [500, 500], returnBytes: [50, 50] }]);
    expect(split.latencyMs - one.latencyMs).toBeCloseTo(2 * fast.wakeMs, 12);
    expect(split.messages).toBe(4);
  });
});

describe('refreshProfile', () => {
  const device: DeviceProfile = { id: 'w', aMsPerFlop: 0.01, bMs: 1, bandwidthBytesPerMs: 100, wakeMs: 2, memoryBytes: 1e9 };

  it.each([
    ['compute 1000 FLOPs in 1 layer took 21 ms → a observed 0.02, alpha 0.5 → 0.015', { compute: { flops: 1000, layers: 1, ms: 21 } }, 0.5, 0.015, 100],
    ['transfer 1000 B took 7 ms → B observed 200, alpha 0.5 → 150', { transfer: { bytes: 1000, ms: 7 } }, 0.5, 0.01, 150],
    ['nothing measured → unchanged', {}, 0.3, 0.01, 100],
  ])('%s', (_name, measured, alpha, a, bandwidth) => {
    const refreshed = refreshProfile(device, measured, alpha);
    expect([refreshed.aMsPerFlop, refreshed.bandwidthBytesPerMs]).toEqual([expect.closeTo(a, 12), expect.closeTo(bandwidth, 12)]);
  });
});
