import { describe, expect, it } from 'vitest';
import type { TaskTrace } from '../runtime/index.ts';
import { describeMarker, describeOverlap, describeSegment, describeSummary, intersectIntervals, layoutTimeline, mergeIntervals, niceTicks, type TimelineLayout } from './timeline-layout.ts';

const OWNER = 'owner-peer';
const A = 'aaaaaa-worker';
const B = 'bbbbbb-worker';

/** Work on the owner, as OwnerRuntime records it. */
function ownerTask(step: number, startMs: number, endMs: number, over: Partial<TaskTrace> = {}): TaskTrace {
  return { step, kind: 'owner', device: 0, deviceId: OWNER, startMs, sendEndMs: null, computeStartMs: startMs, computeEndMs: endMs, endMs, computeMs: endMs - startMs, flops: 1e8, layers: 2, bytesOut: 0, bytesIn: 0, outcome: 'ok', ...over };
}

/** A worker's task that came back. */
function workerTask(step: number, device: number, deviceId: string, t: [number, number | null, number | null, number | null, number], over: Partial<TaskTrace> = {}): TaskTrace {
  const [startMs, sendEndMs, computeStartMs, computeEndMs, endMs] = t;
  return {
    step, kind: 'spatial', device, deviceId, startMs, sendEndMs, computeStartMs, computeEndMs, endMs,
    computeMs: computeStartMs !== null && computeEndMs !== null ? computeEndMs - computeStartMs : null,
    flops: 4e8, layers: 3, bytesOut: 200_000, bytesIn: 100_000, outcome: 'ok', ...over,
  };
}

/** The owner's recompute of a worker's share (one entry, the worker's index and id, the owner's times). */
function fallbackTask(step: number, device: number, deviceId: string, startMs: number, endMs: number, error?: string): TaskTrace {
  const t: TaskTrace = { step, kind: 'spatial', device, deviceId, startMs, sendEndMs: null, computeStartMs: startMs, computeEndMs: endMs, endMs, computeMs: endMs - startMs, flops: 4e8, layers: 3, bytesOut: 0, bytesIn: 0, outcome: 'local-fallback' };
  if (error !== undefined) t.error = error;
  return t;
}

function allNumbers(layout: TimelineLayout): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number') out.push(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(layout);
  return out;
}

function expectSane(layout: TimelineLayout): void {
  for (const n of allNumbers(layout)) expect(Number.isFinite(n)).toBe(true);
  for (const lane of layout.lanes) {
    for (const s of lane.segments) {
      expect(s.endMs).toBeGreaterThanOrEqual(s.startMs);
      expect(s.startMs).toBeGreaterThanOrEqual(0);
    }
    expect(lane.totals.busyFraction).toBeGreaterThanOrEqual(0);
    expect(lane.totals.busyFraction).toBeLessThanOrEqual(1);
  }
}

const kinds = (layout: TimelineLayout, lane: number) => layout.lanes[lane]?.segments.map((s) => s.kind);

describe('layoutTimeline', () => {
  it('lays out a realistic two-worker image: owner first, workers by device index, send → wait → compute → receive', () => {
    const trace = [
      ownerTask(0, 0, 12),
      // Step 1: spatial, B (device 2) sent first (largest share), then A, the owner's own share meanwhile.
      workerTask(1, 2, B, [12.5, 20, 21, 61, 70]),
      workerTask(1, 1, A, [20.5, 26, 27, 57, 62]),
      { ...ownerTask(1, 26.2, 58), kind: 'spatial' as const },
      // Step 2: fc across the three.
      workerTask(2, 1, A, [71, 72, 73, 80, 82], { kind: 'fc', bytesOut: 16_384, bytesIn: 2_048 }),
      workerTask(2, 2, B, [71.5, 72.5, 74, 83, 84], { kind: 'fc', bytesOut: 16_384, bytesIn: 2_048 }),
      { ...ownerTask(2, 72.6, 79), kind: 'fc' as const },
      ownerTask(3, 84.2, 90),
    ];
    const layout = layoutTimeline({ trace, totalMs: 91, failed: [], labels: { [A]: 'Pixel 7 (webgl)', [B]: 'iPhone 13 (webgpu)' }, baselineMs: 160 });
    expectSane(layout);
    expect(layout.lanes.map((l) => l.label)).toEqual(['owner', 'Pixel 7 (webgl)', 'iPhone 13 (webgpu)']);
    expect(layout.lanes[0]?.isOwner).toBe(true);
    expect(kinds(layout, 0)).toEqual(['compute', 'compute', 'compute', 'compute']);
    expect(kinds(layout, 1)).toEqual(['send', 'wait', 'compute', 'receive', 'send', 'wait', 'compute', 'receive']);
    const a = layout.lanes[1];
    expect(a?.segments[0]).toMatchObject({ kind: 'send', startMs: 20.5, endMs: 26, step: 1, taskKind: 'spatial' });
    expect(a?.segments[0]?.details.bytes).toBe(200_000);
    expect(a?.segments[0]?.details.mbPerSec).toBeCloseTo(200_000 / 5.5 / 1000);
    expect(a?.segments[3]).toMatchObject({ kind: 'receive', startMs: 57, endMs: 62 });
    expect(a?.segments[3]?.details.bytes).toBe(100_000);
    expect(a?.totals).toMatchObject({ tasks: 2, computeMs: 37, bytesOut: 216_384, bytesIn: 102_048, recoveries: 0 });
    expect(a?.totals.sendMs).toBeCloseTo(5.5 + 1);
    expect(a?.totals.receiveMs).toBeCloseTo(5 + 2);
    expect(a?.totals.waitMs).toBeCloseTo(1 + 1);
    expect(a?.totals.busyFraction).toBeCloseTo(37 / 91);
    const s = layout.summary;
    expect(s.totalMs).toBe(91);
    expect(s.devices).toBe(3);
    expect(s.tasks).toBe(8);
    expect(s.bytesTotal).toBe(2 * (200_000 + 100_000 + 16_384 + 2_048));
    expect(s.computeMs).toBeCloseTo(12 + 31.8 + 6.4 + 5.8 + 40 + 30 + 7 + 9);
    expect(s.parallelism).toBeCloseTo(s.computeMs / 91);
    expect(s.workerFlopsFraction).toBeCloseTo(16e8 / 20e8);
    expect(s.ownerIdleMs).toBeCloseTo(91 - (12 + 31.8 + 6.4 + 5.8));
    expect(s.speedup).toBeCloseTo(160 / 91);
    expect(s.busy.map((b) => b.deviceId)).toEqual([OWNER, A, B]);
    const words = describeSummary(s);
    expect(words).toContain('1.76× faster than the owner alone');
    expect(words).toContain('workers did 80% of the FLOPs');
    expect(describeSegment(a as never, a?.segments[0] as never)).toBe('Pixel 7 (webgl): input sent · step 1 (spatial, 3 layers) · 20.5–26.0 ms (5.5 ms) · 200 kB at 36 MB/s');
    expect(describeSegment(a as never, a?.segments[2] as never)).toContain('400 MFLOP · 13.3 GFLOP/s');
  });

  it('shows a fallback as a marker on the worker and a recompute on the owner, and later shares as rerouted', () => {
    const trace = [
      ownerTask(0, 0, 10),
      workerTask(1, 2, B, [10.2, 15, 16, 40, 44]),
      { ...ownerTask(1, 15.5, 38), kind: 'spatial' as const },
      // A timed out: its step-1 share is recomputed on the owner, with the error.
      fallbackTask(1, 1, A, 44.1, 70, 'worker aaaaaa: deadline of 40 ms passed'),
      // Step 2: A is out; its share goes straight to the owner (no error on this entry).
      { ...fallbackTask(2, 1, A, 70.2, 80), kind: 'fc' as const },
      workerTask(2, 2, B, [70.1, 71, 72, 79, 81], { kind: 'fc' }),
    ];
    const layout = layoutTimeline({ trace, totalMs: 82, failed: [{ deviceId: A, reason: 'worker aaaaaa: deadline of 40 ms passed' }], labels: new Map([[A, 'Pixel 7'], [B, 'iPad']]) });
    expectSane(layout);
    expect(layout.lanes.map((l) => l.deviceId)).toEqual([OWNER, A, B]);
    const [owner, a, b] = layout.lanes;
    expect(a?.segments).toEqual([]);
    expect(a?.failedReason).toBe('worker aaaaaa: deadline of 40 ms passed');
    expect(a?.markers).toEqual([
      { kind: 'failure', atMs: 44.1, step: 1, taskKind: 'spatial', reason: 'worker aaaaaa: deadline of 40 ms passed' },
      { kind: 'rerouted', atMs: 70.2, step: 2, taskKind: 'fc', reason: 'out since an earlier failure: worker aaaaaa: deadline of 40 ms passed' },
    ]);
    expect(a?.totals.recoveries).toBe(2);
    expect(a?.totals.tasks).toBe(0);
    const recomputes = owner?.segments.filter((s) => s.details.recoveryOf);
    expect(recomputes?.map((s) => [s.startMs, s.endMs, s.details.recoveryOf?.label])).toEqual([[44.1, 70, 'Pixel 7'], [70.2, 80, 'Pixel 7']]);
    expect(owner?.totals).toMatchObject({ tasks: 4, recoveries: 2 });
    expect(b?.totals.tasks).toBe(2);
    expect(layout.summary.recoveries).toBe(2);
    expect(describeMarker(a as never, a?.markers[0] as never)).toBe('⚠ Pixel 7: failed at step 1 (spatial), owner took over at 44 ms · worker aaaaaa: deadline of 40 ms passed');
    expect(describeSegment(owner as never, recomputes?.[0] as never)).toContain('recovering Pixel 7’s share');
    expect(describeSummary(layout.summary)).toContain('2 shares recovered on the owner');
  });

  it('gives a lane to a device named in failed but absent from the trace', () => {
    const layout = layoutTimeline({ trace: [ownerTask(0, 0, 5)], totalMs: 5, failed: [{ deviceId: 'gone-1', reason: 'channel closed' }] });
    expect(layout.lanes.map((l) => [l.deviceId, l.device, l.label])).toEqual([[OWNER, 0, 'owner'], ['gone-1', null, 'gone-1']]);
    expect(layout.lanes[1]?.markers).toEqual([{ kind: 'failure', atMs: null, step: null, taskKind: null, reason: 'channel closed' }]);
    expect(describeMarker(layout.lanes[1] as never, layout.lanes[1]?.markers[0] as never)).toContain('left out of this image');
  });

  it('shows a task without compute times as send then one wait (unknown split)', () => {
    const layout = layoutTimeline({ trace: [workerTask(0, 1, A, [0, 4, null, null, 30])], totalMs: 31 });
    expectSane(layout);
    const segs = layout.lanes[1]?.segments ?? [];
    expect(segs.map((s) => [s.kind, s.startMs, s.endMs])).toEqual([['send', 0, 4], ['wait', 4, 30]]);
    expect(segs[1]?.details.note).toMatch(/compute window unknown/);
    expect(layout.lanes[1]?.totals).toMatchObject({ computeMs: 0, waitMs: 26, busyFraction: 0 });
  });

  it('handles missing send end: with compute times the pre-compute span is the send; without, the whole task is one wait', () => {
    const withCompute = layoutTimeline({ trace: [workerTask(0, 1, A, [0, null, 6, 20, 25])], totalMs: 25 });
    expect(withCompute.lanes[1]?.segments.map((s) => [s.kind, s.startMs, s.endMs])).toEqual([['send', 0, 6], ['compute', 6, 20], ['receive', 20, 25]]);
    const without = layoutTimeline({ trace: [workerTask(0, 1, A, [0, null, null, null, 25])], totalMs: 25 });
    expect(without.lanes[1]?.segments.map((s) => [s.kind, s.startMs, s.endMs])).toEqual([['wait', 0, 25]]);
  });

  it('keeps a skewed compute window inside the task, keeping its length, and says so', () => {
    // The offset estimate is 2 ms off: compute "starts" before the input finished sending.
    const early = layoutTimeline({ trace: [workerTask(0, 1, A, [0, 10, 8, 30, 40])], totalMs: 40 });
    expectSane(early);
    expect(early.lanes[1]?.segments.map((s) => [s.kind, s.startMs, s.endMs])).toEqual([['send', 0, 10], ['compute', 10, 32], ['receive', 32, 40]]);
    expect(early.lanes[1]?.segments[1]?.details.adjustedMs).toBe(2);
    // …or ends after the result was back.
    const late = layoutTimeline({ trace: [workerTask(0, 1, A, [0, 10, 21, 41.5, 40])], totalMs: 40 });
    expect(late.lanes[1]?.segments.map((s) => [s.kind, s.startMs, s.endMs])).toEqual([['send', 0, 10], ['wait', 10, 19.5], ['compute', 19.5, 40]]);
    // A window longer than the whole round trip is cut to it.
    const long = layoutTimeline({ trace: [workerTask(0, 1, A, [5, 6, 0, 50, 30])], totalMs: 30 });
    expect(long.lanes[1]?.segments.map((s) => [s.kind, s.startMs, s.endMs])).toEqual([['send', 5, 6], ['compute', 6, 30]]);
    expect(describeSegment(long.lanes[1] as never, long.lanes[1]?.segments[1] as never)).toMatch(/times adjusted by .* \(clock estimate\)/);
  });

  it('never produces NaN or backwards spans from nonsense times', () => {
    const trace = [
      workerTask(0, 1, A, [10, 5, 30, 20, 8], { computeMs: 4 }),
      workerTask(1, 1, A, [NaN, Infinity, null, -3, 12]),
      workerTask(2, 2, B, [20, 20, 20, 20, 20], { bytesOut: NaN, flops: -1 }),
      ownerTask(3, 15, 12),
    ];
    const layout = layoutTimeline({ trace, totalMs: NaN });
    expectSane(layout);
    expect(layout.summary.totalMs).toBeGreaterThan(0);
    // The zero-length task still shows (as its compute).
    expect(layout.lanes.find((l) => l.deviceId === B)?.segments.map((s) => s.kind)).toEqual(['compute']);
    const first = layout.lanes.find((l) => l.deviceId === A)?.segments.filter((s) => s.step === 0);
    expect(first?.map((s) => [s.kind, s.startMs, s.endMs])).toEqual([['compute', 10, 10]]);
  });

  it('lays out an empty trace as an empty owner lane', () => {
    const layout = layoutTimeline({ trace: [], totalMs: 0, failed: [] });
    expectSane(layout);
    expect(layout.lanes).toHaveLength(1);
    expect(layout.lanes[0]).toMatchObject({ deviceId: 'owner', label: 'owner', isOwner: true, segments: [], markers: [] });
    expect(layout.summary).toMatchObject({ totalMs: 0, spanMs: 0, tasks: 0, parallelism: 0, workerFlopsFraction: 0, speedup: null });
    expect(describeSummary(layout.summary)).toBe('No tasks recorded · 0.0 ms in all');
  });

  it('lays out a single owner-only task', () => {
    const layout = layoutTimeline({ trace: [ownerTask(0, 0.3, 48)], totalMs: 48.5, labels: { [OWNER]: 'This phone' } });
    expectSane(layout);
    expect(layout.lanes).toHaveLength(1);
    expect(layout.lanes[0]?.label).toBe('This phone');
    expect(layout.lanes[0]?.segments.map((s) => [s.kind, s.startMs, s.endMs])).toEqual([['compute', 0.3, 48]]);
    expect(layout.lanes[0]?.totals.busyFraction).toBeCloseTo(47.7 / 48.5);
    expect(layout.summary.parallelism).toBeCloseTo(47.7 / 48.5);
    expect(describeSummary(layout.summary)).toBe('49 ms in all');
  });

  it('stretches the span to the last segment when totalMs is short', () => {
    const layout = layoutTimeline({ trace: [workerTask(0, 1, A, [0, 2, 3, 9, 12])], totalMs: 11 });
    expect(layout.summary.spanMs).toBe(12);
    expect(layout.summary.totalMs).toBe(11);
  });
});

describe('transfer/compute overlap', () => {
  it('counts the time some transfer and some computation ran at once, across devices, each instant once', () => {
    // A computes while B's input is still going out; the owner computes during A's send.
    const trace = [ownerTask(0, 0, 10), workerTask(1, 1, A, [2, 6, 6, 20, 24]), workerTask(1, 2, B, [6, 12, 12, 30, 33])];
    const layout = layoutTimeline({ trace, totalMs: 33 });
    expectSane(layout);
    // Transfers [2,12] [20,24] [30,33]; computing [0,30].
    expect(layout.overlaps).toEqual([{ startMs: 2, endMs: 12 }, { startMs: 20, endMs: 24 }]);
    expect(layout.summary.overlapMs).toBe(14);
    expect(layout.summary.transferUnionMs).toBe(17);
    expect(describeOverlap(layout.summary)).toBe('transfer/compute overlap: 14 ms of 33 ms');
    expect(describeSummary(layout.summary)).toContain('transfer/compute overlap: 14 ms of 33 ms');
  });

  it('is zero when transfers and computing take turns, and absent from the words when nothing moved', () => {
    const turns = layoutTimeline({ trace: [ownerTask(0, 0, 5), workerTask(1, 1, A, [5, 8, 8, 15, 18]), ownerTask(2, 18, 20)], totalMs: 20 });
    expect(turns.overlaps).toEqual([]);
    expect(turns.summary.overlapMs).toBe(0);
    expect(describeSummary(turns.summary)).toContain('transfer/compute overlap: 0.0 ms of 20 ms');
    const alone = layoutTimeline({ trace: [ownerTask(0, 0, 5)], totalMs: 5 });
    expect(alone.summary).toMatchObject({ overlapMs: 0, transferUnionMs: 0 });
    expect(describeSummary(alone.summary)).not.toContain('overlap');
  });

  it('ignores a wait (unknown split) and the owner’s recompute of a failed share is computing', () => {
    const trace = [workerTask(0, 1, A, [0, 4, null, null, 30]), fallbackTask(0, 2, B, 3, 10, 'gone')];
    const layout = layoutTimeline({ trace, totalMs: 30 });
    expect(layout.overlaps).toEqual([{ startMs: 3, endMs: 4 }]);
  });
});

describe('mergeIntervals / intersectIntervals', () => {
  it.each([
    ['disjoint', [[0, 1], [2, 3]], [[0, 1], [2, 3]]],
    ['touching', [[0, 1], [1, 3]], [[0, 3]]],
    ['nested, unsorted', [[5, 6], [0, 10], [2, 3]], [[0, 10]]],
    ['empty, backwards and NaN dropped', [[1, 1], [4, 2], [NaN, 3], [0, 2]], [[0, 2]]],
  ])('merge %s', (_name, input, expected) => {
    const toIntervals = (list: number[][]) => list.map(([startMs, endMs]) => ({ startMs: startMs as number, endMs: endMs as number }));
    expect(mergeIntervals(toIntervals(input))).toEqual(toIntervals(expected));
  });

  it('intersects two unions, whatever their order and overlaps', () => {
    const iv = (startMs: number, endMs: number) => ({ startMs, endMs });
    expect(intersectIntervals([iv(0, 4), iv(3, 8), iv(10, 12)], [iv(2, 11)])).toEqual([iv(2, 8), iv(10, 11)]);
    expect(intersectIntervals([iv(0, 1)], [iv(1, 2)])).toEqual([]);
    expect(intersectIntervals([], [iv(0, 1)])).toEqual([]);
    expect(intersectIntervals([iv(5, 9), iv(0, 2)], [iv(1, 6), iv(8, 20)])).toEqual([iv(1, 2), iv(5, 6), iv(8, 9)]);
  });
});

describe('niceTicks', () => {
  it('steps by 1, 2 or 5 × 10^k and covers the span', () => {
    expect(niceTicks(91, 5)).toEqual([0, 20, 40, 60, 80]);
    expect(niceTicks(100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(1234, 6)).toEqual([0, 500, 1000]);
    expect(niceTicks(0.8, 4)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(0, 5)).toEqual([0]);
    expect(niceTicks(NaN, 5)).toEqual([0]);
    for (const span of [3, 17, 250, 999, 12_345]) {
      const ticks = niceTicks(span, 6);
      expect(ticks.length).toBeLessThanOrEqual(7);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      expect(ticks[ticks.length - 1]).toBeLessThanOrEqual(span);
    }
  });
});
