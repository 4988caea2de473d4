import { describe, expect, it } from 'vitest';
import { buildVgg16 } from '../model/index.ts';
import type { DeviceProfile } from './cost.ts';
import { buildPartitionReport } from './report.ts';

function phone(id: string, gflops: number, megabytesPerSecond: number): DeviceProfile {
  return { id, aMsPerFlop: 1 / (gflops * 1e6), bMs: 2, bandwidthBytesPerMs: megabytesPerSecond * 1000, wakeMs: 5, memoryBytes: 2e9 };
}

describe('buildPartitionReport', () => {
  // 96×96 leaves block5_pool 3×3, so each of 3 devices gets a row of every layer.
  const vgg = buildVgg16({ inputSize: 96, widthMultiplier: 1 / 8 });
  let tick = 0;
  const report = buildPartitionReport({
    graph: vgg.graph,
    fcWeights: vgg.weights().sparse,
    deviceSets: [{ name: 'owner + 2', devices: [phone('owner', 1, 10), phone('a', 1, 10), phone('b', 1, 10)] }],
    now: () => (tick += 10),
  });

  it('has a row per spatial scheme and per FC layer and scheme', () => {
    expect(report.spatial.map((r) => r.scheme)).toEqual([
      'BODP per layer', '2D grid p×q = n per layer', '2D grid 2×2 per layer', '2D grid 3×3 per layer', '2D grid 4×4 per layer',
      'fused blocks (rows, best depth)', "planner's choice (conv part)",
    ]);
    expect(report.fc.map((r) => `${r.layer} ${r.scheme}`)).toEqual([
      'fc6/kernel msccFgcp', 'fc6/kernel msccFgcp unbalanced', 'fc6/kernel outputSplit',
      'fc7/kernel msccFgcp', 'fc7/kernel msccFgcp unbalanced', 'fc7/kernel outputSplit',
    ]);
  });

  it('counts 18 distributed conv/pool layers × 2 workers × 2 messages for BODP per layer', () => {
    expect(report.spatial[0]?.messages).toBe(18 * 2 * 2);
  });

  it('keeps MSCC column loads within ε = 5% and the broadcast sends all of x to each worker', () => {
    const [mscc, , split] = report.fc;
    expect(mscc?.columnLoadImbalance).toBeLessThanOrEqual(0.05 + 1e-9);
    // fc6 input: 3×3×64 = 576 values to each of 2 workers, plus their outputs back.
    expect(split?.bytes).toBeGreaterThanOrEqual(2 * 576 * 4);
  });

  it('renders the tables and the planning time from the injected clock', () => {
    expect(report.markdown).toContain('| owner + 2 | BODP per layer |');
    expect(report.planner[0]?.planningMs).toBe(10);
    expect(report.markdown).toContain('with MSCC + FGCP forced on every pruned FC layer: 10 ms');
  });
});
