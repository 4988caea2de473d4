import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ModelGraph } from '../model/index.ts';
import { TopologyBuilder, buildMobileNetV2, buildVgg16, lowerModelJson } from '../model/index.ts';
import type { DeviceProfile } from './cost.ts';
import type { PartitionError } from './errors.ts';
import { stepLabel } from './plan.ts';
import type { PlannerOptions } from './planner.ts';
import { planInference, planSteps } from './planner.ts';
import { privateUnitCount, type InputPrivacy } from './privacy.ts';
import { layerUnits } from './units.ts';

/** A phone: GFLOP/s of compute, MB/s of link. */
function phone(id: string, gflops: number, megabytesPerSecond: number, wakeMs = 5): DeviceProfile {
  return { id, aMsPerFlop: 1 / (gflops * 1e6), bMs: 2, bandwidthBytesPerMs: megabytesPerSecond * 1000, wakeMs, memoryBytes: 2e9 };
}

const smallVgg = buildVgg16({ inputSize: 64, widthMultiplier: 1 / 8, classes: 10 });
const smallVggWeights = smallVgg.weights();
const mobileNet = buildMobileNetV2();
/** Big enough (≈2 GFLOPs) that distributing can pay; graph only, no weights. */
const quarterVgg = buildVgg16({ widthMultiplier: 1 / 4 }).graph;
const models: [string, ModelGraph, PlannerOptions][] = [
  ['VGG-16 64×64 width 1/8', smallVgg.graph, { fcWeights: smallVggWeights.sparse }],
  ['MobileNetV2-style 32×32', mobileNet.graph, {}],
];

/** Every non-input node in exactly one step, producers before consumers. */
function expectCoversGraphOnce(graph: ModelGraph, steps: ReturnType<typeof planSteps>): void {
  const done = new Set<number>([graph.inputId]);
  for (const step of steps) {
    const ids = step.kind === 'fc' ? [step.nodeId] : step.nodeIds;
    for (const id of ids) {
      expect(done.has(id)).toBe(false);
      for (const input of graph.nodes[id]?.inputs ?? []) expect(done.has(input) || ids.includes(input)).toBe(true);
      done.add(id);
    }
  }
  expect(done.size).toBe(graph.nodes.length);
}

const deviceArbitrary = fc.record({
  gflops: fc.double({ min: 0.1, max: 20, noNaN: true }),
  megabytesPerSecond: fc.double({ min: 0.05, max: 50, noNaN: true }),
  wakeMs: fc.double({ min: 0, max: 30, noNaN: true }),
});

describe('planInference', () => {
  it.each(models)('%s on the owner alone: every step is owner-only and the prediction is the owner time', (_name, graph, options) => {
    const plan = planInference(graph, [phone('owner', 5, 10)], options);
    expect(plan.steps.every((s) => s.step.kind === 'owner')).toBe(true);
    expect(plan.predictedMs).toBeCloseTo(plan.ownerAloneMs, 6);
  });

  it.each(models)('%s: never predicts worse than the owner alone, and covers every node once in order', (_name, graph, options) => {
    fc.assert(fc.property(fc.array(deviceArbitrary, { minLength: 1, maxLength: 5 }), (profiles) => {
      const devices = profiles.map((p, i) => phone(i === 0 ? 'owner' : `w${i}`, p.gflops, p.megabytesPerSecond, p.wakeMs));
      const plan = planInference(graph, devices, { ...options, mscc: { refinePasses: 1 } });
      expect(plan.predictedMs).toBeLessThanOrEqual(plan.ownerAloneMs + 1e-9);
      expectCoversGraphOnce(graph, planSteps(plan));
      expect(plan.devices[0]?.id).toBe('owner');
    }), { numRuns: 25 });
  });

  it('same graph, devices and seed → the same plan', () => {
    const devices = [phone('owner', 4, 20), phone('a', 8, 20), phone('b', 2, 5)];
    const first = planInference(smallVgg.graph, devices, { fcWeights: smallVggWeights.sparse, seed: 3 });
    const second = planInference(smallVgg.graph, devices, { fcWeights: smallVggWeights.sparse, seed: 3 });
    expect(second).toEqual(first);
  });

  it('leaves out a worker on a hopeless link and says why', () => {
    const devices = [phone('owner', 2, 20), phone('good1', 2, 20), phone('good2', 2, 20), phone('dial-up', 2, 0.001)];
    const plan = planInference(quarterVgg, devices);
    expect(plan.excluded.map((e) => e.deviceId)).toEqual(['dial-up']);
    expect(plan.excluded[0]?.reason).toMatch(/predicted .* ms with it, .* ms without/);
    expect(plan.devices.map((d) => d.id)).toEqual(['owner', 'good1', 'good2']);
  });

  it('distributes when workers are fast and links are good, fusing layers when wake-ups are costly', () => {
    const cheapWake = planInference(quarterVgg, [phone('owner', 1, 100, 0.1), phone('a', 1, 100, 0.1), phone('b', 1, 100, 0.1)]);
    const costlyWake = planInference(quarterVgg, [phone('owner', 1, 100, 40), phone('a', 1, 100, 40), phone('b', 1, 100, 40)]);
    expect(cheapWake.predictedMs).toBeLessThan(cheapWake.ownerAloneMs);
    const depth = (plan: typeof cheapWake): number => Math.max(...plan.steps.map((s) => (s.step.kind === 'spatial' ? s.step.depth : 0)));
    expect(depth(costlyWake)).toBeGreaterThan(1);
    expect(costlyWake.totalMessages).toBeLessThanOrEqual(cheapWake.totalMessages);
  });

  it('forced schemes yield exactly those schemes', () => {
    const devices = [phone('owner', 1, 10), phone('a', 1, 10), phone('b', 1, 10), phone('c', 1, 10)];
    const options = { allowOwnerOnly: false, excludeDevices: false, fcWeights: smallVggWeights.sparse } as const;
    const bodp = planInference(smallVgg.graph, devices, { ...options, spatialSchemes: ['bodp'], maxFusedDepth: 1, fcSchemes: ['outputSplit'] });
    const grid = planInference(smallVgg.graph, devices, { ...options, spatialSchemes: ['grid'], maxFusedDepth: 1, fcSchemes: ['msccFgcp'] });
    const schemesOf = (plan: typeof bodp): string[] => [...new Set(plan.steps.filter((s) => s.step.kind !== 'owner').map((s) => (s.step.kind === 'owner' || s.step.kind === 'resident' ? s.step.kind : s.step.scheme)))].sort();
    expect(schemesOf(bodp)).toEqual(['bodp', 'outputSplit']);
    expect(schemesOf(grid)).toEqual(['grid', 'msccFgcp']);
    // Per-layer BODP: 13 conv + 5 pool layers, one scatter and one gather per worker each.
    expect(bodp.steps.filter((s) => s.step.kind === 'spatial')).toHaveLength(18);
  });

  it('bandwidth-aware strips (OCBP) never predict worse than the capability-biased split, and help when a fast device has a slow link', () => {
    const devices = [phone('owner', 2, 20), phone('fast-but-far', 8, 0.5), phone('near', 2, 20)];
    const forcedBodp = { allowOwnerOnly: false, excludeDevices: false, spatialSchemes: ['bodp'], maxFusedDepth: 1 } as const;
    const biased = planInference(quarterVgg, devices, forcedBodp);
    const balanced = planInference(quarterVgg, devices, { ...forcedBodp, bandwidthAware: true });
    expect(balanced.predictedMs).toBeLessThan(biased.predictedMs);
    expect(balanced.computeMs[1]).toBeLessThan(biased.computeMs[1] as number);
  });

  it('gives no conv slice to a device that cannot hold the layer weights, then leaves it out', () => {
    const tiny = { ...phone('tiny', 50, 100), memoryBytes: 1000 };
    const devices = [phone('owner', 1, 100), tiny, phone('ok', 1, 100)];
    const kept = planInference(quarterVgg, devices, { excludeDevices: false });
    expect(kept.computeMs[1]).toBe(0);
    const plan = planInference(quarterVgg, devices);
    expect(plan.excluded.map((e) => e.deviceId)).toEqual(['tiny']);
    expect(plan.computeMs[1]).toBeGreaterThan(0);
  });

  it('per-device totals add up to the plan totals', () => {
    const plan = planInference(quarterVgg, [phone('owner', 1, 10), phone('a', 2, 10), phone('b', 1, 5)]);
    const sum = (list: readonly number[]): number => list.reduce((a, b) => a + b, 0);
    expect(sum(plan.bytesToDevice) + sum(plan.bytesFromDevice) + plan.peerBytes).toBe(plan.totalBytes);
    expect(plan.bytesToDevice[0]).toBe(0);
  });

  it('rejects a device with a non-positive a with ERR_PARTITION_ARGUMENT', () => {
    expect(() => planInference(mobileNet.graph, [{ ...phone('owner', 1, 1), aMsPerFlop: 0 }]))
      .toThrow(expect.objectContaining({ code: 'ERR_PARTITION_ARGUMENT' }) as PartitionError);
  });
});

describe('planInference benchmark options', () => {
  const forced = { allowOwnerOnly: false, excludeDevices: false, fcWeights: smallVggWeights.sparse, fcSchemes: ['outputSplit'] } as const;
  const hetero = [phone('owner', 4, 20), phone('half', 2, 20), phone('quarter', 1, 20), phone('eighth', 0.5, 20)];
  const rowsPerDevice = (plan: ReturnType<typeof planInference>): number[][] =>
    plan.steps.flatMap((s) => (s.step.kind === 'spatial' ? [s.step.slices.map((slice) => slice.tile.rows.end - slice.tile.rows.start + 1)] : []));

  it('the defaults of the new options leave every plan as it was', () => {
    const devices = [phone('owner', 4, 20), phone('a', 8, 20), phone('b', 2, 5)];
    const base = planInference(smallVgg.graph, devices, { fcWeights: smallVggWeights.sparse });
    expect(planInference(smallVgg.graph, devices, { fcWeights: smallVggWeights.sparse, equalSplit: false, ownerComputes: true, wire: 'float32', peerLinks: false })).toEqual(base);
  });

  it('equalSplit=true gives every device the same rows (±1) however different they are; the default biases them', () => {
    const equal = planInference(smallVgg.graph, hetero, { ...forced, spatialSchemes: ['bodp'], maxFusedDepth: 1, equalSplit: true });
    for (const rows of rowsPerDevice(equal)) expect(Math.max(...rows) - Math.min(...rows)).toBeLessThanOrEqual(1);
    const biased = planInference(smallVgg.graph, hetero, { ...forced, spatialSchemes: ['bodp'], maxFusedDepth: 1 });
    const first = rowsPerDevice(biased)[0] as number[];
    expect(first[0]).toBeGreaterThan(first[3] as number);
  });

  it.each([['bodp', 1], ['fused', 8], ['grid', 1]] as const)('ownerComputes=false with %s: the owner gets no tile and no FC columns; the workers get them all', (scheme, maxFusedDepth) => {
    const devices = [phone('owner', 1, 10), phone('a', 1, 10), phone('b', 1, 10), phone('c', 1, 10)];
    const plan = planInference(smallVgg.graph, devices, { ...forced, spatialSchemes: [scheme], maxFusedDepth, ownerComputes: false });
    const ownerTiles = plan.steps.flatMap((s) => (s.step.kind === 'spatial' ? s.step.slices.filter((slice) => slice.device === 0 && slice.tile.rows.end >= slice.tile.rows.start) : []));
    expect(ownerTiles).toEqual([]);
    const fc = plan.steps.filter((s) => s.step.kind === 'fc');
    expect(fc.length).toBeGreaterThan(0);
    for (const s of fc) {
      if (s.step.kind !== 'fc') continue;
      expect(s.step.workers.filter((w) => w.device === 0 && w.weights.values.length > 0)).toEqual([]);
    }
    expect(plan.steps.some((s) => s.step.kind === 'spatial' && s.step.slices.some((slice) => slice.device === 3))).toBe(true);
  });

  it('ownerComputes=false with one worker: the worker does every split step', () => {
    const plan = planInference(smallVgg.graph, [phone('owner', 1, 10), phone('a', 1, 10)], { ...forced, spatialSchemes: ['fused'], ownerComputes: false });
    const spatial = plan.steps.filter((s) => s.step.kind === 'spatial');
    expect(spatial.length).toBeGreaterThan(0);
    expect(plan.computeMs[1]).toBeGreaterThan(0);
    // What stays on the owner is only what cannot be split (flatten, and the like).
    for (const s of spatial) expect(s.prediction.computeMs[0]).toBe(0);
  });

  it('fcSchemes=[] keeps pruned Dense layers on the owner even when a spatial scheme is forced', () => {
    const devices = [phone('owner', 1, 10), phone('a', 1, 10)];
    const plan = planInference(smallVgg.graph, devices, { ...forced, spatialSchemes: ['fused'], fcSchemes: [] });
    expect(plan.steps.some((s) => s.step.kind === 'fc')).toBe(false);
    expect(plan.steps.some((s) => s.step.kind === 'spatial')).toBe(true);
  });
});

describe('planInference on VGG-16 at 224×224 (the paper setting)', () => {
  it('plans five devices, MSCC + FGCP on the pruned fc6 (25088 × 4096, 4%) included', () => {
    const vgg = buildVgg16();
    const fc6 = vgg.weights().sparse.get('fc6/kernel');
    if (fc6 === undefined) throw new Error('the zoo lost fc6');
    const sparse = new Map([['fc6/kernel', fc6]]);
    const devices = [phone('owner', 5, 12), phone('w1', 5, 12), phone('w2', 5, 12), phone('w3', 5, 12), phone('w4', 5, 12)];
    const plan = planInference(vgg.graph, devices, { fcWeights: sparse, fcSchemes: ['msccFgcp'], allowOwnerOnly: false, excludeDevices: false });
    expect(plan.steps.filter((s) => s.step.kind === 'fc').map((s) => (s.step.kind === 'fc' ? vgg.graph.nodes[s.step.nodeId]?.name : ''))).toEqual(['fc6']);
    expect(plan.predictedMs).toBeLessThan(plan.ownerAloneMs);
  }, 60_000);
});

describe('input privacy (ownerFirstUnits)', () => {
  const forcedSplit: PlannerOptions = { allowOwnerOnly: false, excludeDevices: false };
  const devices = [phone('owner', 1, 50), phone('w1', 1, 50), phone('w2', 1, 50)];
  /** Node ids some worker is sent (spatial slice inputs, and a Dense layer's input for FC workers). */
  function sentToWorkers(graph: ModelGraph, plan: ReturnType<typeof planInference>): Set<number> {
    const sent = new Set<number>();
    for (const { step } of plan.steps) {
      if (step.kind === 'spatial') for (const s of step.slices) if (s.device !== 0) for (const i of s.inputs) sent.add(i.nodeId);
      if (step.kind === 'fc' && step.workers.some((w) => w.device !== 0)) sent.add(graph.nodes[step.nodeId]?.inputs[0] as number);
    }
    return sent;
  }
  const ownerNodes = (plan: ReturnType<typeof planInference>): Set<number> =>
    new Set(plan.steps.flatMap(({ step }) => (step.kind === 'owner' ? step.nodeIds : [])));

  it('privateUnitCount: VGG-16 keeps block1_conv1 for the first layer and block1 through its pooling for the first block; MobileNetV2 keeps its padding with Conv1', () => {
    const names = (graph: ModelGraph, count: number) => layerUnits(graph).slice(0, count).map((u) => graph.nodes[u.outputId]?.name);
    expect(privateUnitCount(smallVgg.graph, 'off')).toBe(0);
    expect(names(smallVgg.graph, privateUnitCount(smallVgg.graph, 'firstLayer'))).toEqual(['block1_conv1']);
    expect(names(smallVgg.graph, privateUnitCount(smallVgg.graph, 'firstBlock'))).toEqual(['block1_conv1', 'block1_conv2', 'block1_pool']);
    // The zero padding only copies pixels: it cannot be where the owner stops.
    expect(names(mobileNet.graph, privateUnitCount(mobileNet.graph, 'firstLayer'))).toEqual(['Conv1_pad', 'Conv1_relu']);
  });

  it('privateUnitCount keeps every layer that reads a pooled copy of the image, not just the image itself', () => {
    // input → conv a → conv b → conv c → add(c, pool(pool(input))): the twice-pooled image is still pixels.
    const b = new TopologyBuilder('skip-from-pooled-image');
    const input = b.input('input', [8, 8, 3]);
    const conv = (name: string, from: string, stride = 1) =>
      b.layer('Conv2D', name, { filters: 3, kernel_size: [3, 3], strides: [stride, stride], padding: 'same', dilation_rate: [1, 1], activation: 'relu', use_bias: true }, [from]);
    const pool = (name: string, from: string) => b.layer('MaxPooling2D', name, { pool_size: [2, 2], strides: [2, 2], padding: 'valid' }, [from]);
    const pooled = pool('pooled_image', pool('half_image', input));
    const c = conv('conv_c', conv('conv_b', conv('conv_a', input, 2), 2));
    const graph = lowerModelJson(b.build(b.layer('Add', 'skip', {}, [c, pooled])));
    const names = layerUnits(graph).slice(0, privateUnitCount(graph, 'firstLayer')).flatMap((u) => u.nodeIds.map((id) => graph.nodes[id]?.name));
    expect(names).toContain('skip');
    expect(names).toContain('pooled_image');
  });

  const privacyCases: [string, ModelGraph, PlannerOptions, InputPrivacy][] = [
    ['VGG-16 64×64 fused, first layer', smallVgg.graph, { ...forcedSplit, spatialSchemes: ['fused'], fcWeights: smallVggWeights.sparse }, 'firstLayer'],
    ['VGG-16 64×64 bodp, first block', smallVgg.graph, { ...forcedSplit, spatialSchemes: ['bodp'], fcWeights: smallVggWeights.sparse }, 'firstBlock'],
    ['VGG-16 64×64 grid, first layer', smallVgg.graph, { ...forcedSplit, spatialSchemes: ['grid'] }, 'firstLayer'],
    ['MobileNetV2-style fused, first layer', mobileNet.graph, { ...forcedSplit, spatialSchemes: ['fused'] }, 'firstLayer'],
    ['quarter VGG-16 planner’s choice, first block', quarterVgg, {}, 'firstBlock'],
  ];

  it.each(privacyCases)('%s: without it a worker gets the image; with it the kept layers run on the owner, no worker gets the image or a kept layer’s inner map, and every node is still computed once in order', (_name, graph, options, privacy) => {
    const open = planInference(graph, devices, options);
    expect(sentToWorkers(graph, open).has(graph.inputId)).toBe(true);

    const kept = privateUnitCount(graph, privacy);
    const plan = planInference(graph, devices, { ...options, ownerFirstUnits: kept });
    const keptUnits = layerUnits(graph).slice(0, kept);
    const keptNodes = keptUnits.flatMap((u) => u.nodeIds);
    const boundary = keptUnits[keptUnits.length - 1]?.outputId;
    const onOwner = ownerNodes(plan);
    for (const id of keptNodes) expect(onOwner.has(id)).toBe(true);
    const sent = sentToWorkers(graph, plan);
    expect(sent.size).toBeGreaterThan(0); // the rest is still distributed
    expect(sent.has(graph.inputId)).toBe(false);
    for (const id of keptNodes) if (id !== boundary) expect(sent.has(id)).toBe(false);
    expectCoversGraphOnce(graph, planSteps(plan));
  });
});

/** A VGG-like chain: `convs` 3×3 'same' convolutions on a size × size × channels map. */
function vggChain(size: number, channels: number, convs: number): ModelGraph {
  const b = new TopologyBuilder('vgg-chain');
  let x = b.input('input', [size, size, channels]);
  for (let i = 0; i < convs; i++) {
    x = b.layer('Conv2D', `conv${i}`, { filters: channels, kernel_size: [3, 3], strides: [1, 1], padding: 'same', dilation_rate: [1, 1], activation: 'relu', use_bias: true }, [x]);
  }
  return lowerModelJson(b.build(x));
}

const sum = (list: readonly number[]): number => list.reduce((a, b) => a + b, 0);
const labels = (plan: ReturnType<typeof planInference>): string[] => plan.steps.map((s) => stepLabel(s.step));

describe('resident runs (peerLinks)', () => {
  const chain16 = vggChain(32, 64, 16);
  // Fast phones (4 GFLOP/s) on slow links (5 MB/s) to the owner: shipping maps through the owner does not pay.
  const transferBound = [phone('owner', 4, 5, 1), phone('a', 4, 5, 1), phone('b', 4, 5, 1), phone('c', 4, 5, 1)];

  it('on a transfer-bound VGG-like chain the planner keeps the strips resident with peer links, and cannot without', () => {
    const without = planInference(chain16, transferBound);
    expect(labels(without)).toEqual(['owner']);
    expect(without.peerBytes).toBe(0);
    const withPeers = planInference(chain16, transferBound, { peerLinks: true });
    expect(labels(withPeers)).toEqual(['resident(16)']);
    expect(withPeers.predictedMs).toBeLessThan(without.predictedMs);
    const run = withPeers.steps[0]?.step;
    if (run?.kind !== 'resident') throw new Error('no resident step');
    expect(run.devices).toEqual([0, 1, 2, 3]);
    expect(run.layers.map((l) => l.nodeId)).toEqual(run.nodeIds);
    // Three device boundaries, a row each way per layer after the first: 15 × 6 halos of one 32 × 64 float32 row.
    expect(withPeers.peerBytes).toBe(15 * 6 * 32 * 64 * 4);
    expect(withPeers.totalMessages).toBe(3 + 15 * 6 + 3);
    expect(sum(withPeers.bytesToDevice) + sum(withPeers.bytesFromDevice) + withPeers.peerBytes).toBe(withPeers.totalBytes);
    expect(withPeers.bytesToDevice[0]).toBe(0);
  });

  it("'resident' in spatialSchemes is ignored without peerLinks", () => {
    const plan = planInference(chain16, transferBound, { spatialSchemes: ['bodp', 'fused', 'grid', 'resident'] });
    expect(plan.steps.some((s) => s.step.kind === 'resident')).toBe(false);
  });

  it('ownerComputes=false keeps the owner out of resident runs: it only scatters and gathers', () => {
    const plan = planInference(vggChain(16, 8, 4), transferBound, { peerLinks: true, spatialSchemes: ['resident'], allowOwnerOnly: false, excludeDevices: false, ownerComputes: false });
    expect(labels(plan)).toEqual(['resident(4)']);
    const run = plan.steps[0]?.step;
    expect(run?.kind === 'resident' ? run.devices : []).toEqual([1, 2, 3]);
    expect(plan.computeMs[0]).toBe(0);
  });

  it('same graph, devices and options → the same plan', () => {
    const options: PlannerOptions = { peerLinks: true, wire: 'auto' };
    expect(planInference(chain16, transferBound, options)).toEqual(planInference(chain16, transferBound, options));
  });

  it.each(models)('%s with peer links and wire auto: never predicts worse than the owner alone, and covers every node once in order', (_name, graph, options) => {
    fc.assert(fc.property(fc.array(deviceArbitrary, { minLength: 1, maxLength: 4 }), (profiles) => {
      const devices = profiles.map((p, i) => phone(i === 0 ? 'owner' : `w${i}`, p.gflops, p.megabytesPerSecond, p.wakeMs));
      const plan = planInference(graph, devices, { ...options, peerLinks: true, wire: 'auto', mscc: { refinePasses: 1 } });
      expect(plan.predictedMs).toBeLessThanOrEqual(plan.ownerAloneMs + 1e-9);
      expectCoversGraphOnce(graph, planSteps(plan));
    }), { numRuns: 8 });
  });
});

describe('wire precision', () => {
  const chain4 = vggChain(32, 64, 4);
  const devices = [phone('owner', 1, 5), phone('a', 1, 5), phone('b', 1, 5), phone('c', 1, 5)];
  const forcedBodp: PlannerOptions = { allowOwnerOnly: false, excludeDevices: false, spatialSchemes: ['bodp'], maxFusedDepth: 1 };
  const forcedResident: PlannerOptions = { allowOwnerOnly: false, excludeDevices: false, spatialSchemes: ['resident'], peerLinks: true };

  it("'auto' sends float16 on transfer-bound steps and float32 on compute-bound ones", () => {
    const transfer = planInference(chain4, devices, { ...forcedBodp, wire: 'auto' });
    expect(labels(transfer)).toEqual(['bodp(1)·f16', 'bodp(1)·f16', 'bodp(1)·f16', 'bodp(1)·f16']);
    const computeBound = [phone('owner', 0.2, 10_000, 0), phone('a', 0.2, 10_000, 0), phone('b', 0.2, 10_000, 0), phone('c', 0.2, 10_000, 0)];
    const compute = planInference(chain4, computeBound, { ...forcedBodp, wire: 'auto' });
    expect(labels(compute)).toEqual(['bodp(1)', 'bodp(1)', 'bodp(1)', 'bodp(1)']);
    expect(compute.steps.every((s) => s.step.kind === 'spatial' && s.step.wire === undefined)).toBe(true);
    // Never int8 unless asked for.
    expect(transfer.steps.some((s) => s.step.kind === 'spatial' && s.step.wire === 'int8')).toBe(false);
  });

  it('bytes halve at float16 and quarter at int8 (plus 8 bytes of scale and offset per tensor); the split is the same', () => {
    const f32 = planInference(chain4, devices, forcedBodp);
    const f16 = planInference(chain4, devices, { ...forcedBodp, wire: 'float16' });
    const i8 = planInference(chain4, devices, { ...forcedBodp, wire: 'int8' });
    expect(f16.totalBytes).toBe(f32.totalBytes / 2);
    expect(f16.bytesToDevice).toEqual(f32.bytesToDevice.map((b) => b / 2));
    expect(i8.totalMessages).toBe(f32.totalMessages);
    expect(i8.totalBytes).toBe(f32.totalBytes / 4 + 8 * f32.totalMessages);
    expect(planSteps(f16).map((s) => (s.kind === 'spatial' ? s.slices : []))).toEqual(planSteps(f32).map((s) => (s.kind === 'spatial' ? s.slices : [])));
    expect(f16.predictedMs).toBeLessThan(f32.predictedMs);
  });

  it('resident runs: halo, scatter and gather bytes scale the same way', () => {
    const f32 = planInference(chain4, devices, forcedResident);
    const f16 = planInference(chain4, devices, { ...forcedResident, wire: 'float16' });
    const i8 = planInference(chain4, devices, { ...forcedResident, wire: 'int8' });
    expect(labels(f32)).toEqual(['resident(4)']);
    expect(labels(i8)).toEqual(['resident(4)·i8']);
    expect(f16.peerBytes).toBe(f32.peerBytes / 2);
    expect(f16.totalBytes).toBe(f32.totalBytes / 2);
    expect(i8.peerBytes).toBe(f32.peerBytes / 4 + 8 * 3 * 6);
    expect(i8.totalBytes).toBe(f32.totalBytes / 4 + 8 * f32.totalMessages);
  });

  it('a forced int8 sets wire on every spatial and resident step; Dense steps stay float32', () => {
    const plan = planInference(smallVgg.graph, devices, { allowOwnerOnly: false, excludeDevices: false, fcWeights: smallVggWeights.sparse, fcSchemes: ['outputSplit'], peerLinks: true, wire: 'int8' });
    const split = plan.steps.filter((s) => s.step.kind === 'spatial' || s.step.kind === 'resident');
    expect(split.length).toBeGreaterThan(0);
    for (const { step } of split) expect(step.kind !== 'owner' && step.kind !== 'fc' ? step.wire : undefined).toBe('int8');
    const dense = plan.steps.filter((s) => s.step.kind === 'fc');
    expect(dense.length).toBeGreaterThan(0);
    for (const { step } of dense) expect('wire' in step).toBe(false);
  });
});
