import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ModelGraph } from '../model/index.ts';
import { TopologyBuilder, buildMobileNetV2, lowerModelJson } from '../model/index.ts';
import type { DeviceProfile } from './cost.ts';
import { predictResident, wireBytes } from './cost.ts';
import type { PartitionError } from './errors.ts';
import type { ResidentStep } from './plan.ts';
import { isResidentChain, residentDevices, residentRun, residentTasks } from './resident.ts';
import { sliceBlock } from './spatialSlices.ts';

type LayerSpec =
  | { readonly kind: 'conv'; readonly kernel: number; readonly stride: number; readonly dilation: number; readonly same: boolean }
  | { readonly kind: 'pool'; readonly max: boolean; readonly size: number; readonly stride: number; readonly same: boolean }
  | { readonly kind: 'pad'; readonly top: number; readonly bottom: number };

/** A chain input → layers…; undefined when the map shrinks away. */
function chain(height: number, width: number, specs: readonly LayerSpec[]): { graph: ModelGraph; nodeIds: number[] } | undefined {
  const b = new TopologyBuilder('chain');
  let x = b.input('input', [height, width, 2]);
  specs.forEach((spec, i) => {
    const padding = 'same' in spec && spec.same ? 'same' : 'valid';
    if (spec.kind === 'conv') {
      const dilation = spec.stride > 1 ? 1 : spec.dilation;
      x = b.layer('Conv2D', `conv${i}`, { filters: 2, kernel_size: [spec.kernel, spec.kernel], strides: [spec.stride, 1], padding, dilation_rate: [dilation, 1], activation: 'relu', use_bias: true }, [x]);
    } else if (spec.kind === 'pool') {
      x = b.layer(spec.max ? 'MaxPooling2D' : 'AveragePooling2D', `pool${i}`, { pool_size: [spec.size, 2], strides: [spec.stride, 1], padding }, [x]);
    } else {
      x = b.layer('ZeroPadding2D', `pad${i}`, { padding: [[spec.top, spec.bottom], [1, 0]] }, [x]);
    }
  });
  try {
    const graph = lowerModelJson(b.build(x));
    if (graph.nodes.some((n) => n.outputShape.some((d) => d < 1))) return undefined;
    return { graph, nodeIds: graph.nodes.filter((n) => n.id !== graph.inputId).map((n) => n.id) };
  } catch {
    return undefined;
  }
}

const layerSpec: fc.Arbitrary<LayerSpec> = fc.oneof(
  fc.record({ kind: fc.constant('conv' as const), kernel: fc.integer({ min: 1, max: 5 }), stride: fc.integer({ min: 1, max: 3 }), dilation: fc.integer({ min: 1, max: 3 }), same: fc.boolean() }),
  fc.record({ kind: fc.constant('pool' as const), max: fc.boolean(), size: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 3 }), same: fc.boolean() }),
  fc.record({ kind: fc.constant('pad' as const), top: fc.integer({ min: 0, max: 3 }), bottom: fc.integer({ min: 0, max: 3 }) }),
);

/** Every row index of a range, for counting coverage. */
function rowsOf(range: { start: number; end: number }): number[] {
  const rows: number[] = [];
  for (let r = range.start; r <= range.end; r++) rows.push(r);
  return rows;
}

/** The properties every resident run must have (see ResidentStep). */
function expectValidRun(graph: ModelGraph, step: ResidentStep): void {
  step.layers.forEach((layer, k) => {
    const graphNode = graph.nodes[layer.nodeId];
    if (graphNode === undefined) throw new Error('unknown node');
    const [height, width] = graphNode.outputShape as [number, number];
    // One slice per device, in `devices` order, ≥ 1 full-width row each, the rows covered once, top to bottom.
    expect(layer.slices.map((s) => s.device)).toEqual(step.devices);
    expect(layer.slices.flatMap((s) => rowsOf(s.node.out.rows))).toEqual(rowsOf({ start: 0, end: height - 1 }));
    for (const slice of layer.slices) {
      expect(slice.node.out.rows.end).toBeGreaterThanOrEqual(slice.node.out.rows.start);
      expect(slice.node.out.cols).toEqual({ start: 0, end: width - 1 });
      expect(slice.node.nodeId).toBe(layer.nodeId);
      // The slice is sliceBlock's for the node and this strip.
      expect([slice.node]).toEqual(sliceBlock(graph, [layer.nodeId], [{ device: slice.device, tile: slice.node.out }])[0]?.nodes);
    }
    if (k === 0) {
      expect(layer.halos).toEqual([]);
      return;
    }
    const previous = step.layers[k - 1];
    if (previous === undefined) throw new Error('no previous layer');
    const computed = new Map(previous.slices.map((s) => [s.device, s.node.out.rows]));
    for (const slice of layer.slices) {
      const cut = slice.node.inputs[0];
      if (cut === undefined) throw new Error('no input cut');
      expect(cut.producerId).toBe(previous.nodeId);
      const needed = rowsOf(cut.rect.rows);
      const ownRows = computed.get(slice.device) as { start: number; end: number };
      const own = needed.filter((r) => r >= ownRows.start && r <= ownRows.end);
      const received = layer.halos.filter((h) => h.to === slice.device);
      for (const halo of received) {
        expect(halo.from).not.toBe(slice.device);
        const sent = computed.get(halo.from) as { start: number; end: number };
        // Halos come only from rows the sender computed in the previous layer.
        expect(halo.rows.start).toBeGreaterThanOrEqual(sent.start);
        expect(halo.rows.end).toBeLessThanOrEqual(sent.end);
      }
      // Own rows plus halos: exactly the needed rows, none twice.
      const got = [...own, ...received.flatMap((h) => rowsOf(h.rows))].sort((a, b) => a - b);
      expect(got).toEqual(needed);
    }
    // Halos listed by receiver, then sender, in strip order.
    const order = (d: number): number => step.devices.indexOf(d);
    const keys = layer.halos.map((h) => order(h.to) * 1000 + order(h.from));
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
  });
  // What the owner scatters: the layer-0 cut's rows, full width, of the run's input.
  const first = step.layers[0];
  const inputId = graph.nodes[step.nodeIds[0] as number]?.inputs[0] as number;
  const inputWidth = graph.nodes[inputId]?.outputShape[1] as number;
  expect(step.inputs).toEqual(first?.slices.map((s) => ({ device: s.device, nodeId: inputId, rect: { rows: s.node.inputs[0]?.rect.rows, cols: { start: 0, end: inputWidth - 1 } } })));
}

describe('residentRun (ALGORITHMS.md §5, strips resident on the devices)', () => {
  it('hand-worked: 8×4 map, conv 3×3 same → max pool 2×2 → conv 3×3 same, two equal devices', () => {
    const built = chain(8, 4, [
      { kind: 'conv', kernel: 3, stride: 1, dilation: 1, same: true },
      { kind: 'pool', max: true, size: 2, stride: 2, same: false },
      { kind: 'conv', kernel: 3, stride: 1, dilation: 1, same: true },
    ]);
    if (built === undefined) throw new Error('chain failed');
    const { graph, nodeIds } = built;
    const [conv0, pool1, conv2] = nodeIds as [number, number, number];
    const step = residentRun(graph, nodeIds, [0, 1], [1, 1]);
    expect(step.devices).toEqual([0, 1]);
    // conv0: rows 0..3 read input rows 0..4 (one padding row on top), rows 4..7 read 3..7 (one below).
    expect(step.inputs).toEqual([
      { device: 0, nodeId: graph.inputId, rect: { rows: { start: 0, end: 4 }, cols: { start: 0, end: 3 } } },
      { device: 1, nodeId: graph.inputId, rect: { rows: { start: 3, end: 7 }, cols: { start: 0, end: 3 } } },
    ]);
    const [l0, l1, l2] = step.layers as [typeof step.layers[0], typeof step.layers[0], typeof step.layers[0]];
    expect(l0.nodeId).toBe(conv0);
    expect(l0.slices.map((s) => [s.node.out.rows, s.node.inputs[0]?.pad])).toEqual([
      [{ start: 0, end: 3 }, { top: 1, bottom: 0, left: 1, right: 1 }],
      [{ start: 4, end: 7 }, { top: 0, bottom: 1, left: 1, right: 1 }],
    ]);
    // pool1: rows 0..1 read 0..3 and rows 2..3 read 4..7 — what each device already holds: no halos.
    expect(l1.nodeId).toBe(pool1);
    expect(l1.slices.map((s) => s.node.inputs[0]?.rect.rows)).toEqual([{ start: 0, end: 3 }, { start: 4, end: 7 }]);
    expect(l1.halos).toEqual([]);
    // conv2: rows 0..1 read 0..2 (row 2 from device 1), rows 2..3 read 1..3 (row 1 from device 0).
    expect(l2.nodeId).toBe(conv2);
    expect(l2.slices.map((s) => s.node.inputs[0]?.rect.rows)).toEqual([{ start: 0, end: 2 }, { start: 1, end: 3 }]);
    expect(l2.halos).toEqual([
      { from: 1, to: 0, rows: { start: 2, end: 2 } },
      { from: 0, to: 1, rows: { start: 1, end: 1 } },
    ]);
    expect(step.wire).toBeUndefined();
    expectValidRun(graph, step);
  });

  it('strips follow `devices` order, not plan order, and the wire precision is recorded', () => {
    const built = chain(12, 3, [{ kind: 'conv', kernel: 3, stride: 1, dilation: 1, same: true }, { kind: 'conv', kernel: 3, stride: 1, dilation: 1, same: true }]);
    if (built === undefined) throw new Error('chain failed');
    const step = residentRun(built.graph, built.nodeIds, [2, 0, 1], [1, 2, 1], 'float16');
    expect(step.layers[0]?.slices.map((s) => [s.device, s.node.out.rows])).toEqual([
      [2, { start: 0, end: 2 }], [0, { start: 3, end: 8 }], [1, { start: 9, end: 11 }],
    ]);
    expect(step.wire).toBe('float16');
    expectValidRun(built.graph, step);
  });

  it('holds for random chains of conv, pooling and zero padding, random weights and device counts; deterministic', () => {
    fc.assert(fc.property(
      fc.integer({ min: 6, max: 48 }), fc.integer({ min: 1, max: 6 }), fc.array(layerSpec, { minLength: 1, maxLength: 6 }),
      fc.array(fc.double({ min: 0.05, max: 10, noNaN: true }), { minLength: 1, maxLength: 5 }),
      (height, width, specs, weights) => {
        const built = chain(height, width, specs);
        fc.pre(built !== undefined);
        if (built === undefined) return;
        expect(isResidentChain(built.graph, built.nodeIds)).toBe(true);
        const run = residentDevices(built.graph, built.nodeIds, weights.map((_, i) => i), weights);
        fc.pre(run.devices.length > 0);
        const step = residentRun(built.graph, built.nodeIds, run.devices, run.weights);
        expectValidRun(built.graph, step);
        expect(residentRun(built.graph, built.nodeIds, run.devices, run.weights)).toEqual(step);
      },
    ), { numRuns: 300 });
  });

  it('residentDevices drops the weakest devices until each has a row at every layer', () => {
    // 8 rows pooled down to 2: at most two devices.
    const built = chain(8, 4, [{ kind: 'pool', max: true, size: 2, stride: 2, same: false }, { kind: 'pool', max: true, size: 2, stride: 2, same: false }]);
    if (built === undefined) throw new Error('chain failed');
    expect(residentDevices(built.graph, built.nodeIds, [0, 1, 2, 3], [3, 1, 2, 0])).toEqual({ devices: [0, 2], weights: [3, 2] });
    expect(() => residentRun(built.graph, built.nodeIds, [0, 1, 2], [1, 1, 1]))
      .toThrow(expect.objectContaining({ code: 'ERR_PARTITION_ARGUMENT' }) as PartitionError);
  });

  it('rejects what is not a closed single-input chain with ERR_PARTITION_BLOCK', () => {
    const mobileNet = buildMobileNetV2().graph;
    const add = mobileNet.nodes.find((n) => n.attrs.op === 'add');
    if (add === undefined) throw new Error('no residual add');
    const ids = mobileNet.nodes.filter((n) => n.id > add.id - 3 && n.id <= add.id).map((n) => n.id);
    expect(isResidentChain(mobileNet, ids)).toBe(false);
    expect(() => residentRun(mobileNet, ids, [0, 1], [1, 1]))
      .toThrow(expect.objectContaining({ code: 'ERR_PARTITION_BLOCK' }) as PartitionError);
  });

  it('residentTasks: scatter, halo and gather bytes at the wire precision', () => {
    const built = chain(8, 4, [{ kind: 'conv', kernel: 3, stride: 1, dilation: 1, same: true }, { kind: 'conv', kernel: 3, stride: 1, dilation: 1, same: true }]);
    if (built === undefined) throw new Error('chain failed');
    // 2 channels, width 4: 8 values a row.
    for (const [wire, row] of [['float32', 32], ['float16', 16]] as const) {
      const tasks = residentTasks(built.graph, residentRun(built.graph, built.nodeIds, [0, 1], [1, 1], wire));
      expect(tasks.scatterBytes).toEqual([5 * row, 5 * row]);
      expect(tasks.gatherBytes).toEqual([4 * row, 4 * row]);
      expect(tasks.layers[1]?.halos).toEqual([{ from: 1, to: 0, bytes: row }, { from: 0, to: 1, bytes: row }]);
    }
    const int8 = residentTasks(built.graph, residentRun(built.graph, built.nodeIds, [0, 1], [1, 1], 'int8'));
    expect(int8.layers[1]?.halos.map((h) => h.bytes)).toEqual([8 + 8, 8 + 8]);
    expect(int8.scatterBytes).toEqual([5 * 8 + 8, 5 * 8 + 8]);
  });
});

describe('resident cost model', () => {
  function device(id: string, aMsPerFlop: number, bMs: number, bandwidthBytesPerMs: number, wakeMs: number): DeviceProfile {
    return { id, aMsPerFlop, bMs, bandwidthBytesPerMs, wakeMs, memoryBytes: 1e9 };
  }
  const owner = device('owner', 0.01, 1, 1, 0);
  const fast = device('fast', 0.01, 1, 100, 2);
  const slow = device('slow', 0.02, 1, 10, 5);

  it('wireBytes: 4, 2 or 1 bytes a value, int8 plus 8 for its scale and offset, nothing for an empty tensor', () => {
    expect([wireBytes(10), wireBytes(10, 'float16'), wireBytes(10, 'int8'), wireBytes(0, 'int8')]).toEqual([40, 20, 18, 0]);
  });

  it('hand-worked: scatter in series, first layer on arrival, halos then compute per layer, slowest device decides, gathers in series', () => {
    // Compute per layer: owner 2 ms, fast 2 ms, slow 3 ms. Scatter: slow first (5 + 500/10 = 55), then fast (2 + 1000/100 = 12) → 67.
    // Layer 0 ends at max(2, 67 + 2, 55 + 3) = 69. Layer 1: slow receives fast→slow (wake 5, 10 B/ms: 15 ms) then computes 3 → 18;
    // fast receives owner→fast on its own link (2 + 1 = 3) then 2 → 5; the layer takes 18 → 87. Gathers: fast 2 + 2 = 4, slow 5 + 30 = 35 → 126.
    const p = predictResident([owner, fast, slow], {
      devices: [0, 1, 2],
      scatterBytes: [0, 1000, 500],
      layers: [
        { flops: [100, 100, 100], kernels: 1, halos: [] },
        { flops: [100, 100, 100], kernels: 1, halos: [{ from: 1, to: 2, bytes: 100 }, { from: 0, to: 1, bytes: 100 }] },
      ],
      gatherBytes: [0, 200, 300],
    });
    expect(p.latencyMs).toBeCloseTo(126, 9);
    expect(p.computeMs).toEqual([4, 4, 6]);
    expect(p.bytesToDevice).toEqual([0, 1000, 500]);
    expect(p.bytesFromDevice).toEqual([0, 200, 300]);
    expect(p.peerBytes).toBe(200);
    expect(p.messages).toBe(6);
  });
});
