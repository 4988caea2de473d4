/**
 * The per-image timeline, as data (no DOM): an inference's task trace turned into one lane per
 * device, each a list of time segments (compute / send / wait / receive) and recovery markers,
 * with per-lane totals and a summary that says where the time went. `timeline.ts` draws it.
 *
 * The overlap row marks the stretches when some transfer and some computation ran at once (any
 * devices): the time a pipelined plan hides its transfers in.
 *
 * What OwnerRuntime records (and so what is drawn):
 *  - work done on the owner (kind 'owner', or a spatial/fc share of device 0): one compute span;
 *  - a worker's task that came back: startMs → sendEndMs (input leaving the owner) → the worker's
 *    compute window (its clock mapped through an offset estimate; null when unknown) → endMs;
 *  - a worker's share computed by the owner instead: ONE entry, outcome 'local-fallback', carrying
 *    the worker's device index and id but the owner's compute times (startMs…endMs), with `error`
 *    when this task is the one that failed, without it when the worker was already out (failed
 *    earlier in this image, or never readied). The failed attempt itself is not in the trace.
 *    So the recompute is drawn on the owner lane and a marker on the worker's lane.
 */
import type { TaskTrace } from '../runtime/index.ts';
import { formatBytes, formatMs } from './format.ts';

export type SegmentKind = 'compute' | 'send' | 'receive' | 'wait';

export interface TimelineInput {
  trace: readonly TaskTrace[];
  totalMs: number;
  /** Workers that failed during this inference. */
  failed?: readonly { deviceId: string; reason: string }[];
  /** A display label per device id (e.g. 'Pixel 7 (webgl)'); the owner defaults to 'owner'. */
  labels?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** The same image on the owner alone (measured or predicted), ms: adds a speed-up to the summary. */
  baselineMs?: number | null;
}

export interface SegmentDetails {
  deviceId: string;
  /** Device index in the plan (0: the owner). */
  device: number;
  flops: number;
  layers: number;
  /** Bytes this segment moved: the input for 'send', the result for 'receive', else 0. */
  bytes: number;
  /** Effective throughput of a transfer segment (bytes / duration), MB/s; null otherwise or when unmeasurable. */
  mbPerSec: number | null;
  /** The device's own reported compute time for the task, ms (null when it sent none). */
  computeMs: number | null;
  /** For the owner's recompute of a worker's share: whose share, and why. */
  recoveryOf?: { deviceId: string; label: string; reason: string };
  /** ms the task's reported times were moved to make them consistent (clock-offset estimates); 0 if none. */
  adjustedMs: number;
  /** A caveat, e.g. the compute window is unknown. */
  note?: string;
}

export interface TimelineSegment {
  kind: SegmentKind;
  startMs: number;
  endMs: number;
  step: number;
  taskKind: TaskTrace['kind'];
  details: SegmentDetails;
}

export interface TimelineMarker {
  /** 'failure': the task that failed (its share recomputed on the owner); 'rerouted': the worker was already out, its share ran on the owner. */
  kind: 'failure' | 'rerouted';
  /** When the owner took the share over (null: a device named in `failed` with no task in the trace). */
  atMs: number | null;
  step: number | null;
  taskKind: TaskTrace['kind'] | null;
  reason: string;
}

export interface LaneTotals {
  tasks: number;
  computeMs: number;
  sendMs: number;
  receiveMs: number;
  /** sendMs + receiveMs. */
  transferMs: number;
  waitMs: number;
  /** Bytes sent to the device / received from it (owner's view, as in the trace). */
  bytesOut: number;
  bytesIn: number;
  flops: number;
  /** Owner lane: shares recomputed for workers; worker lane: its markers. */
  recoveries: number;
  /** Time computing (overlaps counted once) / the image's total time, 0…1. */
  busyFraction: number;
}

export interface TimelineLane {
  deviceId: string;
  /** Device index in the plan; null for a device known only from `failed`. */
  device: number | null;
  label: string;
  isOwner: boolean;
  segments: TimelineSegment[];
  markers: TimelineMarker[];
  totals: LaneTotals;
  /** Why the device was left out of the rest of this image, when it was. */
  failedReason?: string;
}

export interface TimelineSummary {
  totalMs: number;
  /** The axis length: totalMs, or the last segment's end when later. */
  spanMs: number;
  devices: number;
  tasks: number;
  bytesOut: number;
  bytesIn: number;
  bytesTotal: number;
  /** Sums over all lanes. */
  computeMs: number;
  transferMs: number;
  waitMs: number;
  /** Σ compute time / total: how many devices were computing at once, on average. */
  parallelism: number;
  /** Share of the image's FLOPs that workers computed (0…1). */
  workerFlopsFraction: number;
  /** Time the owner was not computing (sending, waiting for workers, merging). */
  ownerIdleMs: number;
  recoveries: number;
  busy: { deviceId: string; label: string; fraction: number }[];
  baselineMs: number | null;
  /** baselineMs / totalMs (> 1: the mesh was faster); null without a baseline. */
  speedup: number | null;
  /** Time during which at least one transfer (send or receive) and one computation ran at once, on any devices. */
  overlapMs: number;
  /** Time during which at least one transfer ran (overlapping transfers counted once). */
  transferUnionMs: number;
}

export interface Interval {
  startMs: number;
  endMs: number;
}

export interface TimelineLayout {
  lanes: TimelineLane[];
  summary: TimelineSummary;
  /** The stretches counted in `summary.overlapMs`, in time order, disjoint. */
  overlaps: Interval[];
}

const finite = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const nonNeg = (x: number | null | undefined): number => Math.max(0, finite(x) ?? 0);

function labelOf(labels: TimelineInput['labels'], deviceId: string, isOwner: boolean): string {
  const named = labels instanceof Map ? (labels as ReadonlyMap<string, string>).get(deviceId) : (labels as Readonly<Record<string, string>> | undefined)?.[deviceId];
  if (named) return named;
  return isOwner ? 'owner' : deviceId.slice(0, 6) || '?';
}

/** [start, end) intervals merged into disjoint ones in time order; empty and non-finite ones dropped. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => Number.isFinite(i.startMs) && Number.isFinite(i.endMs) && i.endMs > i.startMs).sort((a, b) => a.startMs - b.startMs);
  const out: Interval[] = [];
  for (const { startMs, endMs } of sorted) {
    const last = out[out.length - 1];
    if (last && startMs <= last.endMs) last.endMs = Math.max(last.endMs, endMs);
    else out.push({ startMs, endMs });
  }
  return out;
}

/** Union length of [start, end) intervals. */
function unionMs(intervals: readonly Interval[]): number {
  return mergeIntervals(intervals).reduce((sum, i) => sum + (i.endMs - i.startMs), 0);
}

/** Where the union of `a` meets the union of `b`: disjoint intervals in time order. */
export function intersectIntervals(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const x = mergeIntervals(a);
  const y = mergeIntervals(b);
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const p = x[i] as Interval;
    const q = y[j] as Interval;
    const startMs = Math.max(p.startMs, q.startMs);
    const endMs = Math.min(p.endMs, q.endMs);
    if (endMs > startMs) out.push({ startMs, endMs });
    if (p.endMs < q.endMs) i++;
    else j++;
  }
  return out;
}

const mbPerSec = (bytes: number, ms: number): number | null => (bytes > 0 && ms >= 0.05 ? bytes / ms / 1000 : null);

/** A worker task's segments: send → wait → compute → receive, made consistent. */
function workerSegments(t: TaskTrace): TimelineSegment[] {
  const start = finite(t.startMs) ?? 0;
  let adjusted = 0;
  let end = finite(t.endMs) ?? start;
  if (end < start) {
    adjusted += start - end;
    end = start;
  }
  const cs = finite(t.computeStartMs);
  const ce = finite(t.computeEndMs);
  const hasCompute = cs !== null && ce !== null;
  const rawSendEnd = finite(t.sendEndMs);
  let note: string | undefined;
  let sendEnd: number;
  if (rawSendEnd !== null) {
    sendEnd = clamp(rawSendEnd, start, end);
    adjusted += Math.abs(sendEnd - rawSendEnd);
  } else if (hasCompute) {
    sendEnd = clamp(cs, start, end);
    note = 'the input’s send end was not recorded: the transfer includes any queueing';
  } else {
    sendEnd = start;
  }
  const base = { deviceId: t.deviceId, device: t.device, flops: nonNeg(t.flops), layers: nonNeg(t.layers), computeMs: finite(t.computeMs) };
  const bytesOut = nonNeg(t.bytesOut);
  const bytesIn = nonNeg(t.bytesIn);
  const seg = (kind: SegmentKind, a: number, b: number, extra: Partial<SegmentDetails> = {}): TimelineSegment => ({
    kind,
    startMs: a,
    endMs: b,
    step: t.step,
    taskKind: t.kind,
    details: { ...base, bytes: 0, mbPerSec: null, adjustedMs: 0, ...extra },
  });
  const out: TimelineSegment[] = [];
  if (hasCompute) {
    // The window's length is the worker's own measurement; its position rests on a clock-offset
    // estimate, so keep the length and slide it inside [send end, result back].
    let duration = ce - cs;
    if (duration < 0) {
      const reported = finite(t.computeMs);
      duration = reported !== null && reported >= 0 ? reported : 0;
      adjusted += Math.abs(ce - cs - duration);
    }
    const room = end - sendEnd;
    if (duration > room) {
      adjusted += duration - room;
      duration = room;
    }
    const computeStart = clamp(cs, sendEnd, end - duration);
    const computeEnd = computeStart + duration;
    adjusted += Math.abs(computeStart - cs);
    out.push(
      seg('send', start, sendEnd, { bytes: bytesOut, mbPerSec: mbPerSec(bytesOut, sendEnd - start) }),
      seg('wait', sendEnd, computeStart),
      seg('compute', computeStart, computeEnd),
      seg('receive', computeEnd, end, { bytes: bytesIn, mbPerSec: mbPerSec(bytesIn, end - computeEnd) }),
    );
  } else {
    out.push(
      seg('send', start, sendEnd, { bytes: bytesOut, mbPerSec: mbPerSec(bytesOut, sendEnd - start) }),
      seg('wait', sendEnd, end, {
        bytes: 0,
        note: rawSendEnd === null ? 'no send or compute times: the whole task, transfers included' : 'compute window unknown: waiting, computing and the result’s trip back together',
      }),
    );
  }
  for (const s of out) {
    s.details.adjustedMs = adjusted;
    if (note && s.kind === 'send') s.details.note = note;
  }
  const kept = out.filter((s) => s.endMs - s.startMs > 1e-9);
  if (kept.length > 0) return kept;
  const main = out.find((s) => s.kind === 'compute') ?? out[out.length - 1];
  return main ? [main] : [];
}

function ownerSegment(t: TaskTrace, recoveryOf?: SegmentDetails['recoveryOf']): TimelineSegment {
  const start = finite(t.computeStartMs) ?? finite(t.startMs) ?? 0;
  const rawEnd = finite(t.computeEndMs) ?? finite(t.endMs) ?? start;
  const end = Math.max(start, rawEnd);
  const details: SegmentDetails = {
    deviceId: t.deviceId,
    device: t.device,
    flops: nonNeg(t.flops),
    layers: nonNeg(t.layers),
    bytes: 0,
    mbPerSec: null,
    computeMs: finite(t.computeMs),
    adjustedMs: end - rawEnd,
  };
  if (recoveryOf) details.recoveryOf = recoveryOf;
  return { kind: 'compute', startMs: start, endMs: end, step: t.step, taskKind: t.kind, details };
}

function emptyTotals(): LaneTotals {
  return { tasks: 0, computeMs: 0, sendMs: 0, receiveMs: 0, transferMs: 0, waitMs: 0, bytesOut: 0, bytesIn: 0, flops: 0, recoveries: 0, busyFraction: 0 };
}

/** Lays out one image's trace. Never throws on odd numbers; never yields NaN. */
export function layoutTimeline(input: TimelineInput): TimelineLayout {
  const trace = input.trace ?? [];
  const failedReason = new Map<string, string>();
  for (const f of input.failed ?? []) if (!failedReason.has(f.deviceId)) failedReason.set(f.deviceId, f.reason);

  const ownerId = trace.find((t) => t.device === 0)?.deviceId ?? 'owner';
  const lanes = new Map<string, TimelineLane>();
  const laneFor = (deviceId: string, device: number | null): TimelineLane => {
    let lane = lanes.get(deviceId);
    if (!lane) {
      const isOwner = device === 0;
      lane = { deviceId, device, label: labelOf(input.labels, deviceId, isOwner), isOwner, segments: [], markers: [], totals: emptyTotals() };
      const reason = failedReason.get(deviceId);
      if (reason !== undefined) lane.failedReason = reason;
      lanes.set(deviceId, lane);
    } else if (device !== null && (lane.device === null || device < lane.device)) lane.device = device;
    return lane;
  };
  const owner = laneFor(ownerId, 0);

  for (const t of trace) {
    const device = finite(t.device) ?? 0;
    if (device === 0) {
      owner.segments.push(ownerSegment(t));
      owner.totals.tasks++;
      owner.totals.flops += nonNeg(t.flops);
    } else if (t.outcome === 'local-fallback') {
      const worker = laneFor(t.deviceId, device);
      const reason = t.error ?? (failedReason.has(t.deviceId) ? `out since an earlier failure: ${failedReason.get(t.deviceId)}` : 'not available for this image');
      const at = finite(t.startMs) ?? 0;
      worker.markers.push({ kind: t.error !== undefined ? 'failure' : 'rerouted', atMs: Math.max(0, at), step: t.step, taskKind: t.kind, reason });
      worker.totals.recoveries++;
      owner.segments.push(ownerSegment(t, { deviceId: t.deviceId, label: worker.label, reason }));
      owner.totals.tasks++;
      owner.totals.recoveries++;
      owner.totals.flops += nonNeg(t.flops);
    } else {
      const worker = laneFor(t.deviceId, device);
      worker.segments.push(...workerSegments(t));
      worker.totals.tasks++;
      worker.totals.bytesOut += nonNeg(t.bytesOut);
      worker.totals.bytesIn += nonNeg(t.bytesIn);
      worker.totals.flops += nonNeg(t.flops);
    }
  }
  for (const [deviceId, reason] of failedReason) {
    if (lanes.has(deviceId)) continue;
    laneFor(deviceId, null).markers.push({ kind: 'failure', atMs: null, step: null, taskKind: null, reason });
  }

  const ordered = [...lanes.values()].sort((a, b) => {
    if (a.isOwner !== b.isOwner) return a.isOwner ? -1 : 1;
    return (a.device ?? Infinity) - (b.device ?? Infinity);
  });

  const lastEnd = ordered.reduce((m, l) => l.segments.reduce((mm, s) => Math.max(mm, s.endMs), l.markers.reduce((mm, k) => Math.max(mm, k.atMs ?? 0), m)), 0);
  const totalMs = Math.max(0, finite(input.totalMs) ?? lastEnd);
  const spanMs = Math.max(totalMs, lastEnd);
  const denominator = totalMs > 0 ? totalMs : spanMs;

  for (const lane of ordered) {
    lane.segments.sort((a, b) => a.startMs - b.startMs || a.step - b.step);
    lane.markers.sort((a, b) => (a.atMs ?? -1) - (b.atMs ?? -1));
    const sum = (kind: SegmentKind) => lane.segments.filter((s) => s.kind === kind).reduce((acc, s) => acc + (s.endMs - s.startMs), 0);
    const t = lane.totals;
    t.computeMs = sum('compute');
    t.sendMs = sum('send');
    t.receiveMs = sum('receive');
    t.transferMs = t.sendMs + t.receiveMs;
    t.waitMs = sum('wait');
    const busy = unionMs(lane.segments.filter((s) => s.kind === 'compute'));
    t.busyFraction = denominator > 0 ? clamp(busy / denominator, 0, 1) : 0;
  }

  const totals = ordered.map((l) => l.totals);
  const add = (pick: (t: LaneTotals) => number) => totals.reduce((acc, t) => acc + pick(t), 0);
  const flops = add((t) => t.flops);
  const workerFlops = ordered.filter((l) => !l.isOwner).reduce((acc, l) => acc + l.totals.flops, 0);
  const computeMs = add((t) => t.computeMs);
  const ownerBusy = unionMs(owner.segments);
  const baseline = finite(input.baselineMs ?? null);
  const allSegments = ordered.flatMap((l) => l.segments);
  const transfers = allSegments.filter((seg) => seg.kind === 'send' || seg.kind === 'receive');
  const overlaps = intersectIntervals(transfers, allSegments.filter((seg) => seg.kind === 'compute'));
  const summary: TimelineSummary = {
    totalMs,
    spanMs,
    devices: ordered.length,
    tasks: add((t) => t.tasks),
    bytesOut: add((t) => t.bytesOut),
    bytesIn: add((t) => t.bytesIn),
    bytesTotal: add((t) => t.bytesOut + t.bytesIn),
    computeMs,
    transferMs: add((t) => t.transferMs),
    waitMs: add((t) => t.waitMs),
    parallelism: denominator > 0 ? computeMs / denominator : 0,
    workerFlopsFraction: flops > 0 ? workerFlops / flops : 0,
    ownerIdleMs: Math.max(0, totalMs - ownerBusy),
    recoveries: owner.totals.recoveries,
    busy: ordered.map((l) => ({ deviceId: l.deviceId, label: l.label, fraction: l.totals.busyFraction })),
    baselineMs: baseline !== null && baseline > 0 ? baseline : null,
    speedup: baseline !== null && baseline > 0 && totalMs > 0 ? baseline / totalMs : null,
    overlapMs: overlaps.reduce((sum, o) => sum + (o.endMs - o.startMs), 0),
    transferUnionMs: unionMs(transfers),
  };
  return { lanes: ordered, summary, overlaps };
}

/** Axis ticks: 0, step, 2·step… ≤ spanMs with step 1, 2 or 5 × 10^k, at most about `maxTicks`. */
export function niceTicks(spanMs: number, maxTicks: number): number[] {
  const span = finite(spanMs) ?? 0;
  const count = Math.max(1, Math.floor(finite(maxTicks) ?? 1));
  if (span <= 0) return [0];
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude);
  const ticks: number[] = [];
  for (let i = 0; i * step <= span + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

// ---- Words (shared by the chart's details line and aria-labels) ----

/** "20.5–26.0 ms": one decimal below a second. */
export function fmtRange(startMs: number, endMs: number): string {
  const num = (ms: number) => (!Number.isFinite(ms) ? '–' : Math.abs(ms) < 1000 ? ms.toFixed(1) : String(Math.round(ms)));
  return `${num(startMs)}–${num(endMs)} ms`;
}

export function fmtFlops(flops: number): string {
  if (!Number.isFinite(flops) || flops <= 0) return '0 FLOP';
  const units: [number, string][] = [[1e12, 'TFLOP'], [1e9, 'GFLOP'], [1e6, 'MFLOP'], [1e3, 'kFLOP']];
  for (const [scale, unit] of units) {
    const v = flops / scale;
    if (v >= 1) return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${unit}`;
  }
  return `${Math.round(flops)} FLOP`;
}

export const SEGMENT_WORDS: Record<SegmentKind, string> = {
  compute: 'computing',
  send: 'input sent',
  wait: 'waiting',
  receive: 'result back',
};

/** One line about a segment: what, which step, when, how long, how much. */
export function describeSegment(lane: Pick<TimelineLane, 'label'>, s: TimelineSegment): string {
  const d = s.details;
  const duration = s.endMs - s.startMs;
  const parts = [
    `${lane.label}: ${SEGMENT_WORDS[s.kind]}${d.recoveryOf ? ` (recovering ${d.recoveryOf.label}’s share)` : ''}`,
    `step ${s.step} (${s.taskKind}${d.layers ? `, ${d.layers} layer${d.layers === 1 ? '' : 's'}` : ''})`,
    `${fmtRange(s.startMs, s.endMs)} (${formatMs(duration)})`,
  ];
  if (s.kind === 'send' || s.kind === 'receive') parts.push(`${formatBytes(d.bytes)}${d.mbPerSec !== null ? ` at ${d.mbPerSec.toFixed(d.mbPerSec < 10 ? 1 : 0)} MB/s` : ''}`);
  if (s.kind === 'compute') {
    parts.push(fmtFlops(d.flops));
    if (duration >= 0.05 && d.flops > 0) parts.push(`${(d.flops / duration / 1e6).toFixed(1)} GFLOP/s`);
  }
  if (d.recoveryOf) parts.push(`why: ${d.recoveryOf.reason}`);
  if (d.note) parts.push(d.note);
  if (d.adjustedMs >= 0.05) parts.push(`times adjusted by ${formatMs(d.adjustedMs)} (clock estimate)`);
  return parts.join(' · ');
}

export function describeMarker(lane: Pick<TimelineLane, 'label'>, m: TimelineMarker): string {
  const what = m.kind === 'failure' ? 'failed' : 'share run on the owner';
  const where = m.step !== null ? ` at step ${m.step} (${m.taskKind ?? '?'})` : '';
  const when = m.atMs !== null ? `, owner took over at ${formatMs(m.atMs)}` : ', left out of this image';
  return `⚠ ${lane.label}: ${what}${where}${when} · ${m.reason}`;
}

/** "transfer/compute overlap: 12 ms of 91 ms": how much of the image's time transfers hid behind computing. */
export function describeOverlap(s: Pick<TimelineSummary, 'overlapMs' | 'totalMs' | 'spanMs'>): string {
  return `transfer/compute overlap: ${formatMs(s.overlapMs)} of ${formatMs(s.totalMs > 0 ? s.totalMs : s.spanMs)}`;
}

/** The summary sentence: how long, who computed, what moved. */
export function describeSummary(s: TimelineSummary): string {
  if (s.tasks === 0) return `No tasks recorded · ${formatMs(s.totalMs)} in all`;
  const parts = [`${formatMs(s.totalMs)} in all`];
  if (s.speedup !== null && s.baselineMs !== null) {
    parts.push(s.speedup >= 1 ? `${s.speedup.toFixed(2)}× faster than the owner alone (${formatMs(s.baselineMs)})` : `${(1 / s.speedup).toFixed(2)}× slower than the owner alone (${formatMs(s.baselineMs)})`);
  }
  if (s.devices > 1) {
    parts.push(`workers did ${Math.round(s.workerFlopsFraction * 100)}% of the FLOPs`);
    parts.push(`${s.parallelism.toFixed(1)} devices computing on average`);
    parts.push(`owner idle ${formatMs(s.ownerIdleMs)}`);
    parts.push(`${formatBytes(s.bytesOut)} sent, ${formatBytes(s.bytesIn)} back`);
    if (s.transferUnionMs > 0) parts.push(describeOverlap(s));
  }
  if (s.recoveries > 0) parts.push(`${s.recoveries} share${s.recoveries === 1 ? '' : 's'} recovered on the owner`);
  return parts.join(' · ');
}
