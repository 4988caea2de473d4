/**
 * The benchmark report from the raw results of bench/run.ts: markdown with the summary table at
 * the top, and hand-written SVG charts. Pure: results in, file texts out.
 */
import type { MachineStamp } from './machine.ts';
import { median, stampMarkdown } from './machine.ts';

export interface ParallelSample {
  phones: number;
  /** Wall ms of the same CPU loop on each of the phones, run at once. */
  ms: number[];
  iterations: number;
}

export interface Sample {
  section: string;
  label: string;
  link: string;
  seed: number;
  workers: number;
  scheme: string;
  request: Record<string, unknown>;
  totalMs: number;
  predictedMs: number;
  top1: number;
  maxAbsDiff: number;
  /** A worker failed mid-image or was missing from the plan: kept in the JSON, left out of the statistics. */
  degraded: boolean;
  devices: string[];
  steps: string;
  /** Owner ↔ worker bytes of the image as the trace counts them (task inputs and results). */
  bytes: number;
  /** Halo bytes workers sent to other workers directly (resident runs), as the trace counts them. */
  peerBytes?: number;
  /** Bytes and messages measured on the links' own counters around the image (section 8): owner ↔ workers both ways, heartbeats included; worker → worker as sent. */
  links?: { ownerBytes: number; ownerMessages: number; neighbourBytes: number | null };
  /** The |Δ| bound this answer was held to, where the request had its own (compact wires); otherwise the run's `tolerance`. */
  tolerance?: number;
  messages: number;
  failed: { deviceId: string; reason: string }[];
  suspended: { deviceId: string; reason: string }[];
  excluded: { deviceId: string; reason: string }[];
  fcWeightBytes: Record<string, number>;
  perDevice: Record<string, { flops: number; computeMs: number; tasks: number; bytesOut: number; bytesIn: number; peerBytes?: number; fallbacks: number }>;
  trace: { step: number; kind: string; device: number; startMs: number; endMs: number; computeMs: number | null; flops: number; bytesOut: number; bytesIn: number; peerBytes?: number; haloWaitMs?: number; outcome: string }[];
  slowdowns?: number[];
  imageIndex?: number;
  slowedAfter?: number;
  slowedPeer?: string;
  /** The model classified, when the section names one (the full-size section does). */
  model?: string;
}

/** Several images in flight through the owner page's `classifyMany` (section 8). */
export interface BatchSample {
  section: string;
  /** The configuration of section 8 it ran (the fastest one there). */
  label: string;
  link: string;
  model: string;
  workers: number;
  request: Record<string, unknown>;
  /** 'pipeline': each image split over the mesh, `inFlight` at once; 'spread': each device takes whole images. Absent in older runs: pipeline. */
  mode?: 'pipeline' | 'spread';
  inFlight: number;
  /** Image k is the seeded image `classify({ seed })` draws. */
  seeds: number[];
  summary: { images: number; done: number; failed: number; totalMs: number; imagesPerSecond: number; medianLatencyMs: number; inFlight: number };
  perImage: ({ seed: number; ok: true; totalMs: number; top1: number; devices: number; steps: string; maxAbsDiff: number | null } | { seed: number; ok: false; error: string })[];
  /** Answers compared with the owner alone (the seeds it classified), and the largest |Δ| among them. */
  checked: number;
  maxAbsDiff: number;
  /** An image failed or ran with fewer devices. */
  degraded: boolean;
}

export interface BenchResults {
  machine: MachineStamp;
  backend: string;
  command: string;
  config: Record<string, unknown> & { model: string; cpuFraction: number; images: number; quick: boolean; shapedRate: string | null; heteroSlowdowns: number[] };
  loadAverage: { start: number[]; end: number[] };
  wallSeconds: number;
  parallel: ParallelSample[];
  /** Owner → worker requests between two phones at the equal quota: bytes and round-trip ms. */
  link: { bytes: number; ms: number }[];
  samples: Sample[];
  /** Section 8's throughput runs (absent in results from before it). */
  batches?: BatchSample[];
  error: string | null;
}

// ---------------------------------------------------------------- statistics

interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}
const stat = (values: readonly number[]): Stat => ({ median: values.length ? median(values) : Number.NaN, min: Math.min(...values), max: Math.max(...values), n: values.length });

/** Non-compute time on the critical path of the distributed steps: each step's span minus its longest compute. */
export function deliveryMs(sample: Sample): number {
  const steps = new Map<number, Sample['trace']>();
  for (const t of sample.trace) steps.set(t.step, [...(steps.get(t.step) ?? []), t]);
  let total = 0;
  for (const tasks of steps.values()) {
    if (!tasks.some((t) => t.device > 0 && t.bytesOut + t.bytesIn > 0)) continue;
    const span = Math.max(...tasks.map((t) => t.endMs)) - Math.min(...tasks.map((t) => t.startMs));
    total += Math.max(0, span - Math.max(...tasks.map((t) => t.computeMs ?? 0)));
  }
  return total;
}
const flopsOf = (s: Sample) => s.trace.reduce((sum, t) => sum + t.flops, 0);
const ownerComputeMs = (s: Sample) => s.trace.filter((t) => t.device === 0).reduce((sum, t) => sum + (t.computeMs ?? 0), 0);

interface Group {
  samples: Sample[];
  ms: Stat;
  bytes: number;
  messages: number;
  delivery: Stat;
  steps: string;
  flops: number;
}
function group(samples: readonly Sample[]): Group | null {
  if (samples.length === 0) return null;
  return {
    samples: [...samples],
    ms: stat(samples.map((s) => s.totalMs)),
    bytes: median(samples.map((s) => s.bytes)),
    messages: median(samples.map((s) => s.messages)),
    delivery: stat(samples.map(deliveryMs)),
    steps: samples[samples.length - 1]?.steps ?? '',
    flops: median(samples.map(flopsOf)),
  };
}

// ---------------------------------------------------------------- formatting

const ms0 = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)}` : '–');
const x2 = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '–');
const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
const mb = (bytes: number) => (bytes >= 1e5 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`);
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const COLORS: Record<string, string> = { bodp: '#d62728', grid: '#7f7f7f', fused: '#1f77b4', auto: '#2ca02c', ideal: '#000000', capacity: '#9467bd', replan: '#1f77b4', kept: '#d62728' };

function stampLine(r: BenchResults): string {
  const m = r.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Chromium ${m.browser ?? '?'}; TF.js ${r.backend}; ${m.date.slice(0, 16)}Z; load ${r.loadAverage.start.map((l) => l.toFixed(1)).join('/')}`;
}

interface LineSeries {
  name: string;
  color: string;
  dash?: string;
  points: { x: number; y: number; lo?: number; hi?: number }[];
}

function lineChart(o: { title: string; xLabel: string; yLabel: string; series: LineSeries[]; xTicks: number[]; stamp: string; marker?: { x: number; text: string } }): string {
  const W = 640, H = 400, L = 60, R = 150, T = 40, B = 70;
  const all = o.series.flatMap((s) => s.points.flatMap((p) => [p.y, p.hi ?? p.y]));
  const yMax = Math.max(1, ...all.filter(Number.isFinite)) * 1.1;
  const xMin = Math.min(...o.xTicks), xMax = Math.max(...o.xTicks);
  const sx = (x: number) => L + ((x - xMin) / Math.max(1e-9, xMax - xMin)) * (W - L - R);
  const sy = (y: number) => H - B - (y / yMax) * (H - T - B);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="#fff"/>`, `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`];
  const step = niceStep(yMax);
  for (let y = 0; y <= yMax; y += step) out.push(`<line x1="${L}" x2="${W - R}" y1="${sy(y)}" y2="${sy(y)}" stroke="#e5e5e5"/><text x="${L - 6}" y="${sy(y) + 4}" text-anchor="end">${+y.toFixed(2)}</text>`);
  for (const x of o.xTicks) out.push(`<text x="${sx(x)}" y="${H - B + 16}" text-anchor="middle">${x}</text>`);
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#000"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#000"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - B + 34}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  if (o.marker) out.push(`<line x1="${sx(o.marker.x)}" x2="${sx(o.marker.x)}" y1="${T}" y2="${H - B}" stroke="#999" stroke-dasharray="4 3"/><text x="${sx(o.marker.x) + 4}" y="${T + 12}" fill="#555">${esc(o.marker.text)}</text>`);
  o.series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}"` : ''} points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      if (p.lo !== undefined && p.hi !== undefined) out.push(`<line x1="${sx(p.x)}" x2="${sx(p.x)}" y1="${sy(p.lo)}" y2="${sy(p.hi)}" stroke="${s.color}"/>`);
      out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    const ly = T + 10 + i * 18;
    out.push(`<line x1="${W - R + 10}" x2="${W - R + 30}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}"` : ''}/><text x="${W - R + 34}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle" font-size="10" fill="#555">${esc(o.stamp)}</text>`, '</svg>');
  return out.join('\n');
}

function barChart(o: { title: string; yLabel: string; bars: { label: string; value: number; lo?: number; hi?: number; color: string }[]; stamp: string }): string {
  const W = 640, H = 400, L = 60, R = 20, T = 40, B = 100;
  const yMax = Math.max(1e-9, ...o.bars.map((b) => b.hi ?? b.value).filter(Number.isFinite)) * 1.1;
  const sy = (y: number) => H - B - (y / yMax) * (H - T - B);
  const slot = (W - L - R) / Math.max(1, o.bars.length);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="#fff"/>`, `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`];
  const step = niceStep(yMax);
  for (let y = 0; y <= yMax; y += step) out.push(`<line x1="${L}" x2="${W - R}" y1="${sy(y)}" y2="${sy(y)}" stroke="#e5e5e5"/><text x="${L - 6}" y="${sy(y) + 4}" text-anchor="end">${+y.toFixed(2)}</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  o.bars.forEach((b, i) => {
    const x = L + i * slot + slot * 0.15;
    const w = slot * 0.7;
    if (Number.isFinite(b.value)) out.push(`<rect x="${x.toFixed(1)}" y="${sy(b.value).toFixed(1)}" width="${w.toFixed(1)}" height="${(H - B - sy(b.value)).toFixed(1)}" fill="${b.color}"/>`);
    if (b.lo !== undefined && b.hi !== undefined) out.push(`<line x1="${x + w / 2}" x2="${x + w / 2}" y1="${sy(b.lo)}" y2="${sy(b.hi)}" stroke="#000"/>`);
    out.push(`<text x="${(x + w / 2).toFixed(1)}" y="${(sy(b.value) - 4).toFixed(1)}" text-anchor="middle" font-size="11">${Number.isFinite(b.value) ? +b.value.toPrecision(3) : ''}</text>`);
    out.push(`<text transform="translate(${(x + w / 2).toFixed(1)} ${H - B + 12}) rotate(30)" font-size="11">${esc(b.label)}</text>`);
  });
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#000"/>`);
  out.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle" font-size="10" fill="#555">${esc(o.stamp)}</text>`, '</svg>');
  return out.join('\n');
}

function niceStep(max: number): number {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
}

// ---------------------------------------------------------------- the report

export function renderReport(r: BenchResults, suffix = ''): Record<string, string> {
  const files: Record<string, string> = {};
  const stampText = stampLine(r);
  const measured = r.samples.filter((s) => !s.section.includes('warm-up') && !s.degraded);
  const degraded = r.samples.filter((s) => s.degraded);
  const pick = (f: (s: Sample) => boolean) => group(measured.filter(f));
  const links = [...new Set(measured.filter((s) => s.section === 'curve').map((s) => s.link))];
  const schemes = ['bodp', 'grid', 'fused', 'auto'];
  const schemeName: Record<string, string> = { bodp: 'BODP per layer', grid: '2D grid per layer', fused: 'fused blocks', auto: 'automatic planner' };

  // Parallelism.
  const oneMs = median(r.parallel.find((p) => p.phones === 1)?.ms ?? [Number.NaN]);
  const capacity = (k: number) => {
    const p = r.parallel.find((q) => q.phones === k);
    return p ? (k * oneMs) / Math.max(...p.ms) : Number.NaN;
  };

  // Curve per link.
  interface CurveRow { link: string; n: number; alone: Group; byScheme: Record<string, Group | null> }
  const curve: CurveRow[] = [];
  for (const link of links) {
    const counts = [...new Set(measured.filter((s) => s.section === 'curve' && s.link === link).map((s) => s.workers))].filter((n) => n > 0).sort((a, b) => a - b);
    for (const n of counts) {
      const alone = pick((s) => s.section === 'curve' && s.link === link && s.label === 'owner alone' && s.workers === n);
      if (!alone) continue;
      const byScheme: Record<string, Group | null> = {};
      for (const scheme of schemes) byScheme[scheme] = pick((s) => s.section === 'curve' && s.link === link && s.label === scheme && s.workers === n);
      curve.push({ link, n, alone, byScheme });
    }
  }
  const speedup = (row: CurveRow, scheme: string) => {
    const g = row.byScheme[scheme];
    return g ? { median: row.alone.ms.median / g.ms.median, lo: row.alone.ms.median / g.ms.max, hi: row.alone.ms.median / g.ms.min } : null;
  };
  const rowAt = (link: string, n: number) => curve.find((c) => c.link === link && c.n === n);

  // Charts: speed-up per link.
  for (const link of links) {
    const rows = curve.filter((c) => c.link === link);
    const series: LineSeries[] = [
      { name: 'ideal (N+1)', color: COLORS['ideal'] as string, dash: '6 4', points: [0, ...rows.map((c) => c.n)].map((n) => ({ x: n, y: n + 1 })) },
      { name: 'phones in parallel', color: COLORS['capacity'] as string, dash: '2 3', points: [0, ...rows.map((c) => c.n)].map((n) => ({ x: n, y: n === 0 ? 1 : capacity(n + 1) })).filter((p) => Number.isFinite(p.y)) },
      ...schemes.map((scheme) => ({
        name: schemeName[scheme] as string,
        color: COLORS[scheme] as string,
        points: [{ x: 0, y: 1 }, ...rows.map((c) => ({ x: c.n, ...toPoint(speedup(c, scheme)) }))],
      })),
    ];
    files[`speedup-${link}${suffix}.svg`] = lineChart({ title: `${r.config.model}: speed-up vs owner alone (${link === 'loopback' ? 'loopback' : `${link}/s links`})`, xLabel: 'workers besides the owner', yLabel: 'speed-up (median, min–max)', series, xTicks: [0, ...rows.map((c) => c.n)], stamp: stampText });
  }

  // Traffic chart at the largest loopback worker count.
  const maxRow = curve.filter((c) => c.link === links[0]).at(-1);
  if (maxRow) {
    const bars = schemes.flatMap((scheme) => {
      const g = maxRow.byScheme[scheme];
      return g ? [{ label: `${schemeName[scheme]} MB`, value: g.bytes / 1e6, color: COLORS[scheme] as string }] : [];
    });
    files[`traffic${suffix}.svg`] = barChart({ title: `Bytes per inference, owner + ${maxRow.n} workers (${maxRow.link})`, yLabel: 'MB moved per inference', bars, stamp: stampText });
  }

  // Heterogeneous.
  const heteroLabels = ['owner alone', 'bodp biased', 'bodp equal', 'fused biased', 'fused equal', 'auto'];
  const hetero = Object.fromEntries(heteroLabels.map((l) => [l, pick((s) => s.section === 'hetero' && s.label === l)]));
  if (hetero['owner alone']) {
    files[`hetero${suffix}.svg`] = barChart({
      title: `Workers ${r.config.heteroSlowdowns.join('×, ')}× slower than the owner: latency`,
      yLabel: 'ms per inference (median, min–max)',
      bars: heteroLabels.flatMap((l) => {
        const g = hetero[l];
        return g ? [{ label: l, value: g.ms.median, lo: g.ms.min, hi: g.ms.max, color: l.startsWith('bodp') ? (COLORS['bodp'] as string) : l.startsWith('fused') ? (COLORS['fused'] as string) : l === 'auto' ? (COLORS['auto'] as string) : '#444' }] : [];
      }),
      stamp: stampText,
    });
  }

  // Live re-planning.
  const live = (label: string) => measured.filter((s) => s.section === 'live' && s.label === label).sort((a, b) => (a.imageIndex ?? 0) - (b.imageIndex ?? 0));
  const liveRe = live('re-planning');
  const liveKept = live('plan kept');
  const slowedAfter = liveRe[0]?.slowedAfter ?? 0;
  if (liveRe.length > 0) {
    files[`replan${suffix}.svg`] = lineChart({
      title: 'One of 4 workers becomes 8× slower mid-run (fused blocks)',
      xLabel: 'image',
      yLabel: 'ms per inference',
      series: [
        { name: 're-planning', color: COLORS['replan'] as string, points: liveRe.map((s) => ({ x: s.imageIndex ?? 0, y: s.totalMs })) },
        ...(liveKept.length > 0 ? [{ name: 'plan kept', color: COLORS['kept'] as string, dash: '5 3', points: liveKept.map((s) => ({ x: s.imageIndex ?? 0, y: s.totalMs })) }] : []),
      ],
      xTicks: liveRe.map((s) => s.imageIndex ?? 0),
      stamp: stampText,
      marker: { x: slowedAfter + 0.5, text: 'w1 slowed 8×' },
    });
  }

  // ---- Numbers for the summary.
  const loop = links.includes('loopback') ? 'loopback' : (links[0] ?? 'loopback');
  const shaped = links.find((l) => l !== 'loopback');
  const safeAt = (link: string | undefined, n: number, scheme: string) => {
    const row = link ? rowAt(link, n) : undefined;
    return row ? speedup(row, scheme) : null;
  };
  const workerCounts = [...new Set(curve.filter((c) => c.link === loop).map((c) => c.n))];
  const nMax = Math.max(...workerCounts, 0);
  const best = (link: string | undefined, n: number) => {
    const row = link ? rowAt(link, n) : undefined;
    if (!row) return null;
    return schemes.map((s) => ({ scheme: s, v: speedup(row, s)?.median ?? Number.NaN })).sort((a, b) => b.v - a.v)[0] ?? null;
  };
  const gridRow = rowAt(loop, nMax);
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : Number.NaN);
  const bodpVsGridBytes = ratio(gridRow?.byScheme['bodp']?.bytes, gridRow?.byScheme['grid']?.bytes);
  const bodpVsGridDelivery = ratio(gridRow?.byScheme['bodp']?.delivery.median, gridRow?.byScheme['grid']?.delivery.median);
  const fusedVsGridBytes = ratio(gridRow?.byScheme['fused']?.bytes, gridRow?.byScheme['grid']?.bytes);
  const fusedVsBodpMessages = ratio(gridRow?.byScheme['fused']?.messages, gridRow?.byScheme['bodp']?.messages);
  const heteroGain = (scheme: string) => ratio(hetero[`${scheme} equal`]?.ms.median, hetero[`${scheme} biased`]?.ms.median);
  const tax = (scheme: string) => {
    const alone = pick((s) => s.section === 'tax' && s.label === 'owner alone');
    const g = pick((s) => s.section === 'tax' && s.label === `${scheme}, worker does all`);
    return { ratio: ratio(g?.ms.median, alone?.ms.median), alone, g };
  };
  const fc = Object.fromEntries(['owner', 'outputSplit', 'msccFgcp'].map((f) => [f, pick((s) => s.section === 'fc' && s.label === f)]));
  const fcStep = (g: Group | null) => {
    if (!g) return null;
    const per = g.samples.map((s) => {
      const tasks = s.trace.filter((t) => t.kind === 'fc');
      const fcMs = spanOfKind(s, 'fc');
      return { ms: fcMs, bytes: tasks.reduce((a, t) => a + t.bytesOut + t.bytesIn, 0), messages: 2 * tasks.filter((t) => t.device > 0 && t.outcome === 'ok').length };
    });
    const memory = g.samples[0]?.fcWeightBytes ?? {};
    const workerMem = Object.entries(memory).filter(([id]) => id !== 'owner').map(([, b]) => b);
    return { ms: stat(per.map((p) => p.ms)), bytes: median(per.map((p) => p.bytes)), messages: median(per.map((p) => p.messages)), ownerMem: memory['owner'] ?? 0, maxWorkerMem: Math.max(0, ...workerMem), total: Object.values(memory).reduce((a, b) => a + b, 0) };
  };
  const fcRows = Object.fromEntries(Object.entries(fc).map(([k, g]) => [k, fcStep(g)]));
  const liveSteady = (samples: Sample[]) => (samples.length ? median(samples.slice(-3).map((s) => s.totalMs)) : Number.NaN);
  const liveBefore = liveRe.length ? median(liveRe.filter((s) => (s.imageIndex ?? 0) <= slowedAfter).map((s) => s.totalMs)) : Number.NaN;

  // Full size: VGG-16 224×224, owner + 4 (the size the targets are stated on).
  const fullAlone = pick((s) => s.section === 'full' && s.label === 'owner alone');
  const fullBy = Object.fromEntries([...schemes, 'auto-checked'].map((k) => [k, pick((s) => s.section === 'full' && s.label === k)]));
  const fullModel = measured.find((s) => s.section === 'full')?.model ?? 'vgg16-full';
  const fullN = measured.find((s) => s.section === 'full')?.workers ?? 4;
  const fullSpeedup = (k: string) => ratio(fullAlone?.ms.median, fullBy[k]?.ms.median);
  const fullOnce = (k: string) => (fullBy[k]?.samples.length === 1 ? ', one image' : '');
  const fullBodpVsGrid = { bytes: ratio(fullBy['bodp']?.bytes, fullBy['grid']?.bytes), delivery: ratio(fullBy['bodp']?.delivery.median, fullBy['grid']?.delivery.median) };
  const fullFusedVsGrid = { bytes: ratio(fullBy['fused']?.bytes, fullBy['grid']?.bytes), messages: ratio(fullBy['fused']?.messages, fullBy['bodp']?.messages) };

  // Section 8, beating the transfer wall: the same size, compact wires, resident strips, images in flight.
  const wallAlone = pick((s) => s.section === 'wall' && s.label === 'owner alone');
  const wallModel = measured.find((s) => s.section === 'wall')?.model ?? 'vgg16-full';
  const wallN = measured.find((s) => s.section === 'wall' && s.devices.length > 1)?.workers ?? 4;
  const wallRows = WALL_LABELS.flatMap((label) => {
    const g = pick((s) => s.section === 'wall' && s.label === label);
    return g ? [wallRow(label, g)] : [];
  });
  const wallBodp = wallRows.find((w) => w.label === 'bodp');
  const wallBy = (label: string) => wallRows.find((w) => w.label === label);
  const wallSpeedup = (w: WallRow | undefined) => ratio(wallAlone?.ms.median, w?.ms.median);
  const vsBodp = (w: WallRow | undefined) => ratio(w?.bytes, wallBodp?.bytes);
  const wallCandidates = wallRows.filter((w) => w.label !== 'bodp');
  const wallFastest = wallCandidates.reduce<WallRow | undefined>((a, b) => (!a || b.ms.median < a.ms.median ? b : a), undefined);
  const wallLeanest = wallCandidates.reduce<WallRow | undefined>((a, b) => (!a || b.bytes < a.bytes ? b : a), undefined);
  const wallBoth = wallCandidates.filter((w) => vsBodp(w) <= 0.25 && wallSpeedup(w) >= 4);
  const batches = (r.batches ?? []).filter((b) => b.section === 'wall');
  const capacity8 = wallCapacity();
  const bestBatch = batches.filter((b) => !b.degraded).reduce<BatchSample | undefined>((a, b) => (!a || b.summary.imagesPerSecond > a.summary.imagesPerSecond ? b : a), undefined);

  const verdict = (ok: boolean, text: string) => `${ok ? '**met**' : '**missed**'}: ${text}`;
  const ranAlone = (link: string | undefined, n: number, scheme: string) => (link ? rowAt(link, n)?.byScheme[scheme]?.steps === 'owner' : false);
  const speedupsText = (link: string | undefined, scheme: string) =>
    workerCounts.filter((n) => (n >= 2 || workerCounts.length === 1) && (link === undefined || rowAt(link, n) !== undefined)).map((n) => `${n}: ${x2(safeAt(link, n, scheme)?.median ?? Number.NaN)}${ranAlone(link, n, scheme) ? ' (ran alone)' : ''}`).join(', ');
  const auto4 = safeAt(loop, 4, 'auto')?.median ?? Number.NaN;
  const best4 = best(loop, 4);
  const cap5 = capacity(5);

  // Answers held to the run's exact tolerance, and those with a bound of their own (compact wires).
  const exact = measured.filter((s) => s.tolerance === undefined);
  const compact = measured.filter((s) => s.tolerance !== undefined && s.devices.length > 1);

  const md: string[] = [];
  md.push(`# Benchmark report: ${r.config.quick ? '(quick run) ' : ''}emulated phones pooling one inference`, '');
  md.push(`Reproduce every number: \`${r.command}\` (as root; about ${Math.ceil(r.wallSeconds / 60)} minutes here). Raw samples: [report${suffix}.json](report${suffix}.json).`, '');
  md.push(`${stampMarkdown(r.machine)} TF.js backend: ${r.backend} (each page forced to it; it is the fastest here). Load average (1/5/15 min) at start ${r.loadAverage.start.map((l) => l.toFixed(2)).join(' / ')}, at end ${r.loadAverage.end.map((l) => l.toFixed(2)).join(' / ')}${r.loadAverage.start[0] !== undefined && r.loadAverage.start[0] > 1.5 ? ' — **the machine was busy with other work; every phone got less than its quota at times, so absolute times are inflated and noisy**' : ''}.`, '');
  md.push(`**Setup.** Each emulated phone — the owner too — is its own headless Chromium in its own cgroup v1 CPU quota of ${pct(r.config.cpuFraction)} of one core (CFS period 10 ms; longer for a phone below 10% of a core, whose quota would otherwise fall under the kernel's 1 ms minimum). Model: **${r.config.model}** (${modelWords(r.config.model)}). ${r.config.images} seeded images per configuration after a warm-up image; medians with min–max. Links: *loopback* = all pages in one private network namespace with only \`lo\` (a warm data channel does 12–15 MB/s here); ${r.config.shapedRate ? `*${r.config.shapedRate}* = every phone in its own network namespace on a veth pair to a bridge, both ends shaped with \`tbf rate ${r.config.shapedRate}\` (the owner's own link is shared by all its workers, like one radio)` : 'no shaped links in this run'}. Every distributed answer was checked against the owner alone on the same image (top-1 identical, max |Δ| ≤ ${String(r.config['tolerance'])}): ${exact.filter((s) => s.devices.length > 1).length} distributed answers, all equal; largest |Δ| ${Math.max(0, ...exact.map((s) => s.maxAbsDiff)).toExponential(1)}.${compact.length ? ` Answers from compact activations (section 8: float16, 8-bit, wire auto; ${compact.length} of them) were held to a bound relative to the owner alone's answer instead, with the same top-1; largest |Δ| ${Math.max(0, ...compact.map((s) => s.maxAbsDiff)).toExponential(1)}.` : ''}`, '');

  if (degraded.length > 0) {
    const reasons = [...new Set(degraded.flatMap((s) => [...s.failed, ...s.suspended].map((f) => f.reason.replace(/\d+ ms/, 'N ms'))))];
    md.push(`**Degraded images.** ${degraded.length} of ${r.samples.length} images ran with a worker missing or failing mid-image (its share recomputed on the owner; the answer was still checked and right). They are in the JSON and left out of every median here. Reasons: ${reasons.join('; ') || 'a worker missing from the plan'}.`, '');
  }
  md.push('## Summary: the paper next to us', '');
  md.push('| claim | MoDNN paper (and successors) | ours, measured here | verdict |', '|---|---|---|---|');
  md.push(`| Speed-up with 2→4 workers | 2.17–4.28× (MoDNN, DATE 2017; cited by EdgeLD as 1.53/1.67/2.03× at 2/3/4 on VGG-16) | automatic planner, loopback: ${speedupsText(loop, 'auto')}; fused blocks: ${speedupsText(loop, 'fused')}; BODP per layer: ${speedupsText(loop, 'bodp')}${shaped ? `; on ${shaped} links, auto: ${speedupsText(shaped, 'auto')}` : ''} | ${Number.isFinite(auto4) ? (auto4 >= 2.17 ? 'inside or above the paper’s range' : auto4 >= 1.53 ? 'within EdgeLD’s reading of MoDNN, below the paper’s own range' : 'below the paper') : '–'} |`);
  if (fullAlone) {
    const autoFull = fullSpeedup('auto');
    md.push(`| Owner + 4 equal phones, automatic planner | ideal 5×; paper up to 4.28× | **${modelWords(fullModel)}**: automatic planner ${x2(autoFull)}${fullBy['auto-checked'] ? ` (${x2(fullSpeedup('auto-checked'))} with the product's result checks on)` : ''}; fused blocks ${x2(fullSpeedup('fused'))}; BODP per layer ${x2(fullSpeedup('bodp'))}${fullOnce('bodp')}; 2D grid ${x2(fullSpeedup('grid'))}${fullOnce('grid')}. On ${r.config.model}: automatic ${x2(auto4)}, best ${best4 ? `${schemeName[best4.scheme]} ${x2(best4.v)}` : '–'}. 5 phones ran ${x2(cap5)} the throughput of one | ${verdict(autoFull >= 3.5, 'target ≥ 3.5× on VGG-16 224×224')} |`);
  } else {
    md.push(`| Owner + 4 equal phones, automatic planner | ideal 5×; paper up to 4.28× | ${x2(auto4)} (best scheme: ${best4 ? `${schemeName[best4.scheme]} ${x2(best4.v)}` : '–'}); 5 phones ran ${x2(cap5)} the throughput of one | ${verdict(auto4 >= 3.5, `target ≥ 3.5× on VGG-16 224×224; measured on ${r.config.model}`)} |`);
  }
  const fullGrid = Number.isFinite(fullBodpVsGrid.bytes);
  md.push(`| Data delivery, BODP per layer vs 2D grid | −30.02% delivery time | ${fullGrid ? `224×224, owner + ${fullN}: BODP moves ${x2(fullBodpVsGrid.bytes)} the grid's bytes, delivery time ${x2(fullBodpVsGrid.delivery)}; ` : ''}${r.config.model}, owner + ${nMax}: ${x2(bodpVsGridBytes)} the bytes, delivery time ${x2(bodpVsGridDelivery)} | ${verdict(Math.min(...(fullGrid ? [fullBodpVsGrid.bytes, fullBodpVsGrid.delivery] : [bodpVsGridBytes, bodpVsGridDelivery])) <= 0.7, 'target ≤ 0.70× bytes or time')} |`);
  const fullFused = Number.isFinite(fullFusedVsGrid.bytes) && Number.isFinite(fullFusedVsGrid.messages);
  md.push(`| Fused blocks vs 2D grid / per-layer messages | beyond the paper (DeepThings FTP 1.7–3.5×; EdgeLD fusion 1.11–1.13×) | ${fullFused ? `224×224: ${x2(fullFusedVsGrid.bytes)} the grid's bytes, ${x2(fullFusedVsGrid.messages)} BODP's messages; ` : ''}${r.config.model}: ${x2(fusedVsGridBytes)} the grid's bytes; ${x2(fusedVsBodpMessages)} BODP's messages | ${verdict((fullFused ? fullFusedVsGrid.bytes <= 0.5 && fullFusedVsGrid.messages <= 0.25 : true) && fusedVsGridBytes <= 0.5 && fusedVsBodpMessages <= 0.25, 'target ≤ 0.5× bytes and ≤ ¼ of the messages')} |`);
  const gains = [heteroGain('bodp'), heteroGain('fused')].filter(Number.isFinite);
  const heteroBest = gains.length ? Math.max(...gains) : Number.NaN;
  md.push(`| Heterogeneous workers (${r.config.heteroSlowdowns.join('×, ')}× slower than the owner): biased vs equal split | BODP's premise (no number given) | equal split ${x2(heteroGain('fused'))} the biased split's time with fused blocks${Number.isFinite(heteroGain('bodp')) ? `, ${x2(heteroGain('bodp'))} with BODP per layer` : ''} | ${verdict(heteroBest >= 1.3, 'target biased ≥ 1.3× faster')} |`);
  md.push(`| Mesh tax: owner + 1 worker doing all the work vs owner alone | — | fused blocks: ${x2(tax('fused').ratio)} the owner-alone time; BODP per layer: ${x2(tax('bodp').ratio)} | ${verdict(tax('fused').ratio <= 1.15, 'target ≤ 1.15×')} |`);
  const m = fcRows['msccFgcp'], o = fcRows['outputSplit'], w = fcRows['owner'];
  md.push(`| Sparse FC: MSCC + FGCP vs output split | MoDNN: MSCC + FGCP cut FC traffic and memory per device | FC bytes per image ${m ? mb(m.bytes) : '–'} vs ${o ? mb(o.bytes) : '–'}; FC time ${m ? ms0(m.ms.median) : '–'} vs ${o ? ms0(o.ms.median) : '–'} ms (owner only ${w ? ms0(w.ms.median) : '–'} ms); largest worker's FC weights ${m ? mb(m.maxWorkerMem) : '–'} vs ${o ? mb(o.maxWorkerMem) : '–'} (owner alone holds ${w ? mb(w.ownerMem) : '–'}) | ${m && o ? (m.bytes < o.bytes ? 'fewer bytes than the output split' : 'not fewer bytes here') : '–'} |`);
  if (wallRows.length > 0 && wallAlone) {
    const ratios = wallCandidates.map((w) => `${WALL_SHORT[w.label] ?? w.label} ${x2(vsBodp(w))}`).join(', ');
    const meets = wallCandidates.filter((w) => vsBodp(w) <= 0.25);
    md.push(`| Transfer wall: bytes per image vs BODP per layer (${modelWords(wallModel)}, owner + ${wallN}) | MoDNN's BODP sends every layer's input strips and gathers every output: ${wallBodp ? mb(wallBodp.bytes) : '–'} per image here | ${ratios} BODP's bytes (owner links + worker↔worker) | ${verdict(meets.length > 0, `target ≤ 0.25×${meets.length ? `; met by ${meets.map((w) => WALL_SHORT[w.label] ?? w.label).join(', ')}` : ''}`)} |`);
    const fast = wallCandidates.filter((w) => wallSpeedup(w) >= 4);
    md.push(`| Speed-up with compact activations / resident strips (same size, owner + ${wallN}) | paper up to 4.28×; ideal ${wallN + 1}× | ${wallCandidates.map((w) => `${WALL_SHORT[w.label] ?? w.label} ${x2(wallSpeedup(w))}`).join(', ')} | ${verdict(fast.length > 0, `target ≥ 4× vs owner alone${fast.length ? `; met by ${fast.map((w) => WALL_SHORT[w.label] ?? w.label).join(', ')}` : ''}; both targets in one configuration: ${wallBoth.length ? wallBoth.map((w) => WALL_SHORT[w.label] ?? w.label).join(', ') : 'none'}`)} |`);
  }
  if (batches.length > 0) {
    const of = (b: BatchSample | undefined) => (b ? b.summary.imagesPerSecond / capacity8.imagesPerSecond : Number.NaN);
    md.push(`| Throughput, ${batches[0]?.seeds.length ?? 20} images in flight (${batches[0]?.label ?? ''}) | — (ours) | ${batches.map((b) => `${batchWords(b)}: ${b.summary.imagesPerSecond.toFixed(3)} images/s (${x2(of(b))} capacity)${b.degraded ? ' (degraded)' : ''}`).join('; ')}; capacity ${capacity8.imagesPerSecond.toFixed(3)} images/s (${capacity8.how}) | ${verdict(of(bestBatch) >= 0.8, 'target ≥ 0.8× capacity')} |`);
  }
  if (liveRe.length) md.push(`| Live re-planning after a worker slows 8× | — (ours; EdgeLD re-balances per layer offline) | before ${ms0(liveBefore)} ms; last 3 images after: ${ms0(liveSteady(liveRe))} ms re-planning${liveKept.length ? ` vs ${ms0(liveSteady(liveKept))} ms with the plan kept` : ''} | ${liveKept.length ? (liveSteady(liveRe) < liveSteady(liveKept) ? 're-planning recovers' : 'no gain measured') : 'see below'} |`);
  md.push('');

  // Honest words and limits.
  md.push('### Where we stand, in words', '');
  md.push(...limitsText());
  md.push('');

  // ---- Details.
  md.push('## 1. Do the emulated phones really run in parallel?', '');
  md.push(`The same CPU-bound loop (${(r.parallel[0]?.iterations ?? 0) / 1e6} M iterations of JavaScript) in k phones at once; throughput relative to one phone alone. Ideal: k.`, '');
  md.push('| phones at once | wall ms per phone (median, min–max) | throughput vs one |', '|---:|---|---:|');
  for (const p of r.parallel) md.push(`| ${p.phones} | ${ms0(median(p.ms))} (${ms0(Math.min(...p.ms))}–${ms0(Math.max(...p.ms))}) | ${x2(capacity(p.phones))} |`);
  if ((r.loadAverage.start[0] ?? 0) > 2) md.push('', `With the load average at ${(r.loadAverage.start[0] ?? 0).toFixed(1)} on 2 cores the phones competed with other work, so these ratios are noisy (above k means the phone alone was slowed by something else).`);
  md.push('', `Speed-ups below are quoted against this: with ${r.parallel.at(-1)?.phones ?? '?'} phones at once the machine delivered ${x2(capacity(r.parallel.at(-1)?.phones ?? 0))} the work of one phone, which bounds what any scheme can reach.`, '');

  md.push('## 2. Speed-up curve', '');
  for (const link of links) {
    md.push(`### ${link === 'loopback' ? 'Loopback (unshaped)' : `Shaped: ${link} each way per phone (tbf in network namespaces)`}`, '');
    md.push(`![speed-up](speedup-${link}${suffix}.svg)`, '');
    md.push('| workers | scheme | median ms (min–max) | speed-up (range) | ideal | bytes / inference | messages | delivery ms | FLOPs vs owner alone | plan |', '|---:|---|---|---|---:|---:|---:|---:|---:|---|');
    for (const row of curve.filter((c) => c.link === link)) {
      md.push(`| ${row.n} | owner alone | ${ms0(row.alone.ms.median)} (${ms0(row.alone.ms.min)}–${ms0(row.alone.ms.max)}) | 1.00× | | 0 | 0 | 0 | 1.00× | owner |`);
      for (const scheme of schemes) {
        const g = row.byScheme[scheme];
        const sp = speedup(row, scheme);
        if (!g || !sp) continue;
        md.push(`| ${row.n} | ${schemeName[scheme]} | ${ms0(g.ms.median)} (${ms0(g.ms.min)}–${ms0(g.ms.max)}) | ${x2(sp.median)} (${sp.lo.toFixed(2)}–${sp.hi.toFixed(2)}) | ${row.n + 1}× | ${mb(g.bytes)} | ${g.messages} | ${ms0(g.delivery.median)} | ${x2(g.flops / row.alone.flops)} | ${compactSteps(g.steps)} |`);
      }
    }
    md.push('');
  }
  md.push('*delivery ms*: per inference, the sum over distributed steps of the step’s span on the owner’s clock minus its longest compute (scatter, wake-ups, transfer, gather). *FLOPs vs owner alone*: all devices’ FLOPs over the model’s — above 1 is halo recomputation.', '');
  if (maxRow) md.push(`![traffic](traffic${suffix}.svg)`, '');

  md.push(`## 3. Heterogeneous workers: ${r.config.heteroSlowdowns.map((s) => `${s}×`).join(', ')} slower`, '');
  md.push(`Owner at ${pct(2 * r.config.cpuFraction)} of a core; workers ${r.config.heteroSlowdowns.map((s) => `${s}×`).join(', ')} slower than it: ${r.config.heteroSlowdowns.map((s) => pct((2 * r.config.cpuFraction) / s)).join(', ')}. The profiles learn the new speeds from ${String(r.config['heteroWarmUps'])} warm-up images (moving average); *biased*: shares proportional to measured capability (BODP); *equal*: the same rows for every device.`, '');
  md.push('| configuration | median ms (min–max) | vs owner alone | share of FLOPs per device (owner, workers…) | plan |', '|---|---|---:|---|---|');
  for (const l of heteroLabels) {
    const g = hetero[l];
    if (!g) continue;
    md.push(`| ${l} | ${ms0(g.ms.median)} (${ms0(g.ms.min)}–${ms0(g.ms.max)}) | ${x2((hetero['owner alone']?.ms.median ?? Number.NaN) / g.ms.median)} | ${flopShares(g.samples[0] as Sample)} | ${compactSteps(g.steps)} |`);
  }
  md.push('', hetero['owner alone'] ? `![heterogeneous](hetero${suffix}.svg)` : '', '');

  md.push('## 4. Live re-planning after a device slows down mid-run', '');
  if (liveRe.length) {
    md.push(`Owner + 4 equal workers, fused blocks, biased split. Before image ${slowedAfter + 1}, worker w1’s quota drops 8× (${pct(r.config.cpuFraction)} → ${pct(r.config.cpuFraction / 8)} of a core). *Re-planning* (the product’s default): each inference folds the measured times into the device profiles (moving average, α = 0.3) and plans again once a device’s speed drifted by more than 25%. *Plan kept*: the same images with \`replan: false\`.`, '');
    md.push('| image | re-planning ms | w1’s FLOP share | plan kept ms | w1’s FLOP share |', '|---:|---:|---:|---:|---:|');
    for (const s of liveRe) {
      const k = liveKept.find((q) => q.imageIndex === s.imageIndex);
      md.push(`| ${s.imageIndex}${(s.imageIndex ?? 0) > slowedAfter ? ' (slow)' : ''} | ${ms0(s.totalMs)} | ${pct(deviceShare(s, s.slowedPeer ?? ''))} | ${k ? ms0(k.totalMs) : '–'} | ${k ? pct(deviceShare(k, k.slowedPeer ?? '')) : '–'} |`);
    }
    md.push('', `![live re-planning](replan${suffix}.svg)`, '');
  } else md.push('Not run.', '');

  md.push('## 5. Pruned Dense layers: MSCC + FGCP vs output split vs owner only', '');
  md.push(`Owner + 4 workers, conv part as fused blocks, the FC scheme forced on every pruned Dense layer (fc6, fc7 and fc8 of ${r.config.model}). Time: the span of the FC steps on the owner's clock; bytes and messages: FC steps only; weight memory: CSR (value + column index, 8 bytes per nonzero).`, '');
  md.push('| FC scheme | FC time ms (min–max) | FC bytes / image | FC messages | owner’s FC weights | largest worker’s FC weights | all devices’ FC weights |', '|---|---|---:|---:|---:|---:|---:|');
  for (const [name, label] of [['owner', 'owner only'], ['outputSplit', 'output split (x broadcast)'], ['msccFgcp', 'MSCC + FGCP']] as const) {
    const f = fcRows[name];
    if (!f) continue;
    md.push(`| ${label} | ${ms0(f.ms.median)} (${ms0(f.ms.min)}–${ms0(f.ms.max)}) | ${mb(f.bytes)} | ${f.messages} | ${mb(f.ownerMem)} | ${mb(f.maxWorkerMem)} | ${mb(f.total)} |`);
  }
  md.push('', `These Dense layers are the benchmark model's (${fcWords(r.config.model)}); the paper-size fc6/fc7 (25088 × 4096 and 4096 × 4096 at 4%) are planned, not run, in [partition.md](partition.md): there MSCC + FGCP moves about half the activation bytes of the output split on fc6 and holds 1.8–2.8% of the dense layer per worker.`, '');

  md.push('## 6. Mesh tax: one worker does all the work', '');
  {
    const f = tax('fused'), b = tax('bodp');
    md.push('Owner + 1 worker at the same quota; the owner computes no share (`ownerComputes: false`): it only sends the input, receives results and runs what cannot be split (flatten). Same images as the owner alone.', '');
    md.push('| configuration | median ms (min–max) | vs owner alone | bytes / inference | messages |', '|---|---|---:|---:|---:|');
    if (f.alone) md.push(`| owner alone | ${ms0(f.alone.ms.median)} (${ms0(f.alone.ms.min)}–${ms0(f.alone.ms.max)}) | 1.00× | 0 | 0 |`);
    for (const [name, t] of [['fused blocks', f], ['BODP per layer', b]] as const) if (t.g) md.push(`| ${name}, worker does all | ${ms0(t.g.ms.median)} (${ms0(t.g.ms.min)}–${ms0(t.g.ms.max)}) | ${x2(t.ratio)} | ${mb(t.g.bytes)} | ${t.g.messages} |`);
    md.push('');
  }
  md.push(`## 7. Full size: ${modelWords(fullModel)}, owner + ${fullN}`, '');
  if (fullAlone) {
    md.push(`The size the paper and the targets use. Every phone at ${pct(r.config.cpuFraction)} of a core, loopback. Building the model and profiling it ran with the quotas lifted (set-up, not inference); one image at the real quotas let the profiles settle. Dense layers on the owner in every configuration (fc6 alone has 4 M nonzeros; the owner's sparse product is 0.3 GFLOP of 15.5). Per-layer schemes (BODP, grid) move tens of MB per image over these CPU-bound links, so they ran on one image.`, '');
    md.push('| configuration | median ms (min–max) | images | speed-up | ideal | bytes / inference | messages | delivery ms | owner computes ms | FLOPs vs owner alone | plan |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    md.push(`| owner alone | ${ms0(fullAlone.ms.median)} (${ms0(fullAlone.ms.min)}–${ms0(fullAlone.ms.max)}) | ${fullAlone.samples.length} | 1.00× | | 0 | 0 | 0 | ${ms0(median(fullAlone.samples.map(ownerComputeMs)))} | 1.00× | owner |`);
    for (const scheme of ['auto', 'auto-checked', 'fused', 'bodp', 'grid']) {
      const g = fullBy[scheme];
      if (!g) continue;
      md.push(`| ${scheme === 'auto-checked' ? 'automatic planner + result checks (the product’s default: 10% of results, ≤ 10% of the FLOPs)' : schemeName[scheme]} | ${ms0(g.ms.median)} (${ms0(g.ms.min)}–${ms0(g.ms.max)}) | ${g.samples.length} | ${x2(fullSpeedup(scheme))} | ${fullN + 1}× | ${mb(g.bytes)} | ${g.messages} | ${ms0(g.delivery.median)} | ${ms0(median(g.samples.map(ownerComputeMs)))} | ${x2(g.flops / fullAlone.flops)} | ${compactSteps(g.steps)} |`);
    }
    md.push('');
  } else md.push('Not run (`--quick`).', '');
  md.push(`## 8. Beating the transfer wall: ${modelWords(wallModel)}, owner + ${wallN}`, '');
  if (wallAlone && wallRows.length > 0) {
    md.push(`Every phone at ${pct(r.config.cpuFraction)} of a core, loopback; set-up as in section 7 (model built and profiled with the quotas lifted, and the first resident image, which opens the workers' direct links, too; then one image at the real quotas). Dense layers on the owner; result checks off in every configuration (so the automatic planner may use resident runs). ${wallAlone.samples.length} seeded images per configuration after a warm-up image where the first image plans something new or opens links; BODP per layer on one image. Only split convolutions' activations travel compact; Dense layers stay float32.`, '');
    md.push('*bytes / image*: over the image\'s task trace, owner ↔ worker task inputs and results (`bytesOut + bytesIn`) plus the halo rows each worker sent straight to other workers (`peerBytes`). These columns leave out the halos the owner itself pushes to and pulls from workers in resident runs (its own trace entry holds them: about 0.6 MB per image at float16); *measured on the links* counts them: the owner\'s data channels\' own byte counters, both ways, every frame (heartbeats included), and the workers\' direct links, bytes as sent. *messages*: requests and replies over the owner\'s links as the trace counts them (two per worker task; resident halo messages not included). *max |Δ|*: largest logit difference from the owner alone on the same image over the configuration\'s images, with the bound it was held to (float32: absolute; float16 and wire auto: 2% of the owner-alone answer\'s largest |logit|; 8-bit: 10%); the top-1 class had to be the owner alone\'s.', '');
    md.push('| configuration | median ms (min–max) | images | speed-up | bytes / image | owner links | worker ↔ worker | vs BODP bytes | messages | measured on the links: owner, worker ↔ worker | max \\|Δ\\| (bound) | top-1 same | plan |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|');
    md.push(`| owner alone | ${ms0(wallAlone.ms.median)} (${ms0(wallAlone.ms.min)}–${ms0(wallAlone.ms.max)}) | ${wallAlone.samples.length} | 1.00× | 0 | 0 | 0 | | 0 | | | | owner |`);
    for (const w of wallRows) {
      md.push(`| ${WALL_NAME[w.label] ?? w.label} | ${ms0(w.ms.median)} (${ms0(w.ms.min)}–${ms0(w.ms.max)}) | ${w.samples.length} | ${x2(wallSpeedup(w))} | ${mb(w.bytes)} | ${mb(w.ownerBytes)} | ${mb(w.peerBytes)} | ${x2(vsBodp(w))} | ${w.messages} | ${w.linkOwner === null ? '–' : `${mb(w.linkOwner)}, ${w.linkPeer === null ? '–' : mb(w.linkPeer)}`} | ${w.maxAbsDiff.toExponential(1)} (${w.bound === null ? String(r.config['tolerance']) : w.bound.toExponential(1)}) | ${w.top1} | ${compactSteps(w.steps)} |`);
    }
    md.push('');
    const fusedRow = wallBy('fused');
    // Where a resident image's time goes: each device's strip time, and the part of it spent waiting for neighbours' halos.
    for (const label of ['resident', 'resident float16']) {
      const strips = (wallBy(label)?.samples ?? []).flatMap((q) => q.trace.filter((t) => t.kind === 'resident' && t.computeMs !== null && t.haloWaitMs !== undefined));
      if (strips.length === 0) continue;
      const wait = median(strips.map((t) => t.haloWaitMs as number));
      const busy = median(strips.map((t) => t.computeMs as number));
      md.push(`*${WALL_NAME[label] ?? label}*: a device's strip took ${ms0(busy)} ms (median over devices and images), of which ${ms0(wait)} ms waiting for its neighbours' halos (${((100 * wait) / busy).toFixed(0)}%); the image took ${ms0(wallBy(label)?.ms.median ?? Number.NaN)} ms.`, '');
    }
    md.push(`**Against the targets** (owner + ${wallN}, ${modelWords(wallModel)}): bytes per image ≤ 0.25× BODP per layer — lowest here ${wallLeanest ? `${WALL_NAME[wallLeanest.label] ?? wallLeanest.label}, ${x2(vsBodp(wallLeanest))}` : '–'} (${verdict(vsBodp(wallLeanest) <= 0.25, '≤ 0.25×')}); speed-up ≥ 4× — fastest ${wallFastest ? `${WALL_NAME[wallFastest.label] ?? wallFastest.label}, ${x2(wallSpeedup(wallFastest))}` : '–'} (${verdict(wallSpeedup(wallFastest) >= 4, '≥ 4×')}); both in one configuration: ${wallBoth.length ? wallBoth.map((w) => WALL_NAME[w.label] ?? w.label).join(', ') : 'none'}.${fusedRow ? ` Section 7's best, fused float32, ran ${x2(wallSpeedup(fusedRow))} moving ${x2(vsBodp(fusedRow))} BODP's bytes.` : ''}`, '');
  } else md.push('Not run (`--quick`, or `--only full`).', '');
  if (batches.length > 0) {
    md.push(`### Throughput: ${batches[0]?.seeds.length ?? 0} images in flight`, '');
    const alonePerSecond = wallAlone ? 1000 / wallAlone.ms.median : Number.NaN;
    md.push(`The fastest configuration above (${WALL_NAME[batches[0]?.label ?? ''] ?? batches[0]?.label ?? ''}), images 1–${batches[0]?.seeds.length ?? 0} (image k is the seeded image of the per-image runs, drawn on the owner page) through the page's \`classifyMany\`: pipelined, each image split over the mesh with k images under way at once; and *spread*, each device (the owner too) taking whole images one at a time, its convolutions on it and the Dense layers on the owner (no halos, no per-layer transfers; each image as slow as one device). *Capacity*: ${capacity8.text}`, '');
    md.push('| images in flight | answered (failed) | wall s | images / s | median latency ms | vs owner alone | vs capacity | answers checked: max \\|Δ\\| |', '|---|---:|---:|---:|---:|---:|---:|---|');
    for (const b of batches) {
      md.push(`| ${batchWords(b)} | ${b.summary.done}${b.summary.failed ? ` (${b.summary.failed})` : ''}${b.degraded ? ', degraded' : ''} | ${(b.summary.totalMs / 1000).toFixed(1)} | ${b.summary.imagesPerSecond.toFixed(3)} | ${ms0(b.summary.medianLatencyMs)} | ${x2(b.summary.imagesPerSecond / alonePerSecond)} | ${x2(b.summary.imagesPerSecond / capacity8.imagesPerSecond)} | ${b.checked} of ${b.summary.done} against the owner alone: ${b.checked ? b.maxAbsDiff.toExponential(1) : '–'} |`);
    }
    md.push('', `**Against the target** (≥ 0.8× capacity on ${batches[0]?.seeds.length ?? 0} images): best ${bestBatch ? `${batchWords(bestBatch)}, ${bestBatch.summary.imagesPerSecond.toFixed(3)} images/s = ${x2(bestBatch.summary.imagesPerSecond / capacity8.imagesPerSecond)} capacity` : '–'}: ${verdict(bestBatch !== undefined && bestBatch.summary.imagesPerSecond / capacity8.imagesPerSecond >= 0.8, '≥ 0.8×')}.`, '');
  }
  md.push('## Raw data', '', `Every sample (per image: configuration, latency, bytes, messages, per-device FLOPs and compute, the full task trace, the answer check) is in [report${suffix}.json](report${suffix}.json).`, '');
  files[`report${suffix}.md`] = md.join('\n');
  return files;

  /** A section 8 configuration: medians over its images of latency, bytes (trace and links), the answer's distance from the owner alone. */
  function wallRow(label: string, g: Group): WallRow {
    const ss = g.samples;
    const linked = ss.filter((q) => q.links);
    const aloneTop = (q: Sample) => r.samples.find((o) => o.devices.length === 1 && o.seed === q.seed && (o.model ?? r.config.model) === (q.model ?? r.config.model))?.top1;
    const same = ss.filter((q) => aloneTop(q) === q.top1).length;
    const bounds = ss.map((q) => q.tolerance).filter((b): b is number => b !== undefined);
    return {
      label,
      samples: ss,
      ms: g.ms,
      ownerBytes: median(ss.map((q) => q.bytes)),
      peerBytes: median(ss.map((q) => q.peerBytes ?? 0)),
      bytes: median(ss.map((q) => q.bytes + (q.peerBytes ?? 0))),
      messages: g.messages,
      linkOwner: linked.length ? median(linked.map((q) => q.links?.ownerBytes ?? 0)) : null,
      linkPeer: linked.some((q) => q.links?.neighbourBytes !== null) ? median(linked.map((q) => q.links?.neighbourBytes ?? 0)) : null,
      maxAbsDiff: Math.max(0, ...ss.map((q) => q.maxAbsDiff)),
      bound: bounds.length ? Math.min(...bounds) : null,
      top1: `${same === ss.length ? 'yes' : '**no**'} (${same}/${ss.length})`,
      steps: g.steps,
    };
  }

  /**
   * What the phones together could answer per second, for section 8's throughput: Σ over devices
   * of capability (FLOP/s) over the image's FLOPs. The owner's capability is the image's FLOPs
   * over its owner-alone time; each worker's is its speed ratio to the owner (its FLOPs over its
   * own reported compute time in the fused float32 images, against the owner's FLOPs over its
   * compute time alone) times that. Without those, equal phones: (N + 1) / owner-alone time.
   */
  function wallCapacity(): { imagesPerSecond: number; how: string; text: string } {
    const aloneMs = wallAlone?.ms.median ?? Number.NaN;
    const equal = (wallN + 1) * (1000 / aloneMs);
    const fusedSamples = wallBy('fused')?.samples ?? [];
    const ownerSamples = wallAlone?.samples ?? [];
    const ownerRate = ownerSamples.reduce((a, q) => a + flopsOf(q), 0) / Math.max(1e-9, ownerSamples.reduce((a, q) => a + ownerComputeMs(q), 0));
    const ids = [...new Set(fusedSamples.flatMap((q) => q.devices.slice(1)))];
    const ratios = ids.map((id) => {
      const flops = fusedSamples.reduce((a, q) => a + (q.perDevice[id]?.flops ?? 0), 0);
      const computeMs = fusedSamples.reduce((a, q) => a + (q.perDevice[id]?.computeMs ?? 0), 0);
      return computeMs > 0 ? flops / computeMs / ownerRate : Number.NaN;
    });
    const simpleText = `(1 + ${wallN}) / owner-alone time = ${equal.toFixed(3)} images/s (equal phones)`;
    if (ids.length < wallN || !ratios.every(Number.isFinite) || !(ownerRate > 0)) {
      return { imagesPerSecond: equal, how: 'equal phones: 5 / owner-alone time'.replace('5', String(wallN + 1)), text: `${simpleText}: the fused images' traces had no compute times for every worker, so every worker is taken to be as fast as the owner alone.` };
    }
    const measuredCap = (1 + ratios.reduce((a, b) => a + b, 0)) * (1000 / aloneMs);
    return {
      imagesPerSecond: measuredCap,
      how: 'measured device speeds',
      text: `Σ over the ${wallN + 1} devices of capability / image FLOPs = (1 + Σ worker speed ratios) / owner-alone time = (1 + ${ratios.map((q) => q.toFixed(2)).join(' + ')}) / ${(aloneMs / 1000).toFixed(2)} s = **${measuredCap.toFixed(3)} images/s**. A worker's speed ratio is its FLOP/s in the fused float32 images (its FLOPs over the compute time it reported, from the traces the page API returns) over the owner's FLOP/s alone (the image's FLOPs over its compute time). For comparison, ${simpleText}. The verdict uses the measured speeds.`,
    };
  }

  function limitsText(): string[] {
    const lines: string[] = [];
    const row = rowAt(loop, nMax);
    if (row) {
      for (const scheme of ['auto', 'fused', 'bodp']) {
        const g = row.byScheme[scheme];
        if (!g) continue;
        const s = g.samples;
        const total = median(s.map((q) => q.totalMs));
        const own = median(s.map(ownerComputeMs));
        const delivery = g.delivery.median;
        const halo = g.flops / row.alone.flops - 1;
        const ideal = row.alone.ms.median / (row.n + 1);
        lines.push(`- **${schemeName[scheme]}, owner + ${row.n} (${loop})**: ${ms0(total)} ms against an ideal ${ms0(ideal)} ms (owner alone / ${row.n + 1}). Of it, ${ms0(delivery)} ms (${pct(delivery / total)}) is data delivery on the critical path, the owner computes ${ms0(own)} ms itself, and halos add ${pct(Math.max(0, halo))} FLOPs. ${g.steps === 'owner' ? 'The planner predicted the mesh would not pay and ran alone.' : ''}`);
      }
    }
    if (Number.isFinite(cap5) && cap5 < 4.5) lines.push(`- **The machine**: five phones together ran ${x2(cap5)} the throughput of one (ideal 5×), so no scheme can reach 5× here; the target of 3.5× is ${pct(3.5 / cap5)} of what the machine delivered.`);
    const t = tax('fused');
    if (Number.isFinite(t.ratio)) lines.push(`- **Mesh tax**: with the worker doing everything, an image costs ${x2(t.ratio)} the owner alone (fused blocks): ${t.g ? `${ms0(median(t.g.samples.map(deliveryMs)))} ms of it is delivery over ${t.g.messages} messages` : ''}.`);
    if (r.link.length > 0) {
      const bulk = r.link.filter((l) => l.bytes >= 1e6);
      const small = r.link.filter((l) => l.bytes < 1e6);
      lines.push(`- **The links are CPU-bound**: between two phones at ${pct(r.config.cpuFraction)} of a core, a warm data channel moved ${bulk.length ? `${(median(bulk.map((l) => l.bytes / l.ms)) / 1e3).toFixed(1)} MB/s` : '–'} and a ${small[0] ? `${(small[0].bytes / 1e3).toFixed(0)} kB` : ''} request took ${small.length ? `${ms0(median(small.map((l) => l.ms)))} ms` : '–'} there and back (loopback, no shaping): SCTP, DTLS and Chromium's IPC run inside the same quota as the compute. That is slower than the 40 Mbit/s shaping, so shaped links change little here.`);
    }
    if (fullAlone) {
      for (const scheme of ['auto', 'fused', 'bodp']) {
        const g = fullBy[scheme];
        if (!g) continue;
        const total = g.ms.median;
        const delivery = g.delivery.median;
        lines.push(`- **${schemeName[scheme]}, ${modelWords(fullModel)}, owner + ${fullN}**: ${ms0(total)} ms against an ideal ${ms0(fullAlone.ms.median / (fullN + 1))} ms. Of it, ${ms0(delivery)} ms (${pct(delivery / total)}) is data delivery on the critical path, the owner computes ${ms0(median(g.samples.map(ownerComputeMs)))} ms itself, and halos add ${pct(Math.max(0, g.flops / fullAlone.flops - 1))} FLOPs; ${mb(g.bytes)} moved per image. ${g.steps === 'owner' ? 'The planner predicted the mesh would not pay and ran alone.' : ''}`);
      }
    }
    if (fullAlone) {
      const predicted = (g: Group | null | undefined) => (g ? median(g.samples.map((q) => q.predictedMs)) : Number.NaN);
      const rows = [['owner alone', fullAlone], ['fused blocks', fullBy['fused']], ['automatic planner', fullBy['auto']]] as const;
      const excluded = fullBy['auto']?.samples[0]?.excluded ?? [];
      lines.push(`- **The cost model at full size** (predicted vs measured, median): ${rows.map(([name, g]) => `${name} ${ms0(predicted(g))} vs ${ms0(g?.ms.median ?? Number.NaN)} ms`).join('; ')}. ${Number.isFinite(fullSpeedup('fused')) && fullSpeedup('fused') > fullSpeedup('auto') ? `The planner expected distribution to pay less than it does, so it ${excluded.length ? `left ${excluded.length} of ${fullN} workers out (${excluded.map((e) => e.reason).join('; ')}) and ` : ''}ran slower than forced fused blocks: its delivery and merge costs are too pessimistic for these links, and the owner's own time too optimistic.` : ''}`);
      const fused = fullBy['fused'];
      if (fused) {
        // GFLOP/s per device over the fused samples: FLOPs over the compute time each device reported.
        const speed = (ids: (id: string) => boolean) => {
          const rates = fused.samples.flatMap((q) => Object.entries(q.perDevice).filter(([id]) => ids(id)).map(([, d]) => d.flops / Math.max(1, d.computeMs) / 1e6));
          return { lo: Math.min(...rates), hi: Math.max(...rates), median: median(rates) };
        };
        const owner = speed((id) => id === 'owner');
        const workers = speed((id) => id !== 'owner');
        lines.push(`- **The owner computes slower per FLOP when it shares the work**: with fused blocks it ran ${owner.median.toFixed(1)} GFLOP/s against the workers' ${workers.lo.toFixed(1)}–${workers.hi.toFixed(1)} (owner alone: ${(fullAlone.flops / fullAlone.ms.median / 1e6).toFixed(1)}), because it also cuts and sends every block's input and merges every result inside its own ${pct(r.config.cpuFraction)} of a core. Compact activations, overlap and resident strips (issue 9) attack exactly this.`);
      }
    }
    lines.push(`- **Model size**: ${r.config.model} (sections 2–6) is ${modelWords(r.config.model)}. It has too little compute per byte moved for these links (about 0.45 GFLOP per MB that fused blocks move; full-width VGG-16 has about 2.3). ${fullAlone ? `Section 7 measures the full network at 224×224; larger maps and full width favour distribution (compute grows with area × channels², halos and transfers only with area × channels).` : 'Full VGG-16 at 224×224 was not run (`--quick`).'}`);
    return lines;
  }
}

/** Section 8's configurations, in the order they run (bench/run.ts `transferWall`). */
const WALL_LABELS = ['bodp', 'fused', 'fused float16', 'fused int8', 'resident', 'resident float16', 'auto'];
const WALL_NAME: Record<string, string> = {
  bodp: 'BODP per layer, float32 (the paper’s bytes baseline)',
  fused: 'fused blocks, float32 (section 7’s best)',
  'fused float16': 'fused blocks, float16 activations',
  'fused int8': 'fused blocks, 8-bit activations',
  resident: 'resident strips, float32 (halos worker ↔ worker)',
  'resident float16': 'resident strips, float16',
  auto: 'automatic planner, wire auto (its own choice; peer links allowed)',
};
const WALL_SHORT: Record<string, string> = { fused: 'fused f32', 'fused float16': 'fused f16', 'fused int8': 'fused int8', resident: 'resident f32', 'resident float16': 'resident f16', auto: 'auto' };

interface WallRow {
  label: string;
  samples: Sample[];
  ms: Stat;
  /** Medians per image: owner ↔ worker bytes, worker ↔ worker bytes, their sum (trace). */
  ownerBytes: number;
  peerBytes: number;
  bytes: number;
  messages: number;
  /** Medians of what the links' counters measured (null: not measured). */
  linkOwner: number | null;
  linkPeer: number | null;
  maxAbsDiff: number;
  /** The bound the answers were held to (null: the run's tolerance). */
  bound: number | null;
  top1: string;
  steps: string;
}

function toPoint(sp: { median: number; lo: number; hi: number } | null): { y: number; lo?: number; hi?: number } {
  return sp ? { y: sp.median, lo: sp.lo, hi: sp.hi } : { y: Number.NaN };
}
function spanOfKind(s: Sample, kind: string): number {
  const tasks = s.trace.filter((t) => t.kind === kind);
  const ownerFc = s.trace.filter((t) => t.kind === 'owner');
  if (tasks.length === 0) {
    // FC on the owner: its owner steps after the last spatial step.
    const lastSpatial = Math.max(0, ...s.trace.filter((t) => t.kind === 'spatial').map((t) => t.endMs));
    const after = ownerFc.filter((t) => t.startMs >= lastSpatial - 1e-6);
    return after.reduce((a, t) => a + (t.endMs - t.startMs), 0);
  }
  const steps = new Set(tasks.map((t) => t.step));
  let total = 0;
  for (const step of steps) {
    const inStep = tasks.filter((t) => t.step === step);
    total += Math.max(...inStep.map((t) => t.endMs)) - Math.min(...inStep.map((t) => t.startMs));
  }
  return total;
}
function totalFlops(s: Sample): number {
  return Object.values(s.perDevice).reduce((a, d) => a + d.flops, 0);
}
function deviceShare(s: Sample, peerId: string): number {
  const total = totalFlops(s);
  return total > 0 ? (s.perDevice[peerId]?.flops ?? 0) / total : 0;
}
function flopShares(s: Sample): string {
  const total = totalFlops(s);
  return s.devices.map((id) => pct((s.perDevice[id]?.flops ?? 0) / Math.max(1, total))).join(', ');
}
function compactSteps(steps: string): string {
  const parts = steps.split(' ');
  const out: string[] = [];
  for (const p of parts) {
    const last = out.at(-1);
    const m = last ? /^(.*?)(?:×(\d+))?$/.exec(last) : null;
    if (m && m[1] === p && !p.startsWith('owner')) out[out.length - 1] = `${p}×${Number(m[2] ?? 1) + 1}`;
    else out.push(p);
  }
  return out.join(' ');
}
function modelWords(model: string): string {
  return (
    {
      'vgg16-small': 'VGG-16 at 32×32, 1/16 width',
      'vgg16-medium': 'VGG-16’s 13 conv + 5 pool + 3 FC layers at 112×112 input and 1/4 width (0.24 GFLOPs per image, 1/64 of the full network)',
      'vgg16-full': 'VGG-16 at 224×224, full width (15.5 GFLOPs)',
    } as Record<string, string>
  )[model] ?? model;
}
function fcWords(model: string): string {
  return model === 'vgg16-medium' ? 'fc6 1152 × 1024 and fc7 1024 × 1024 at 4% density, fc8 1024 × 1000 at 25%' : model;
}

/** How a batch ran, in words: "2 in flight", or "spread over 5 devices". */
function batchWords(b: BatchSample): string {
  return b.mode === 'spread' ? `spread over ${b.inFlight} devices` : `${b.inFlight} in flight`;
}
