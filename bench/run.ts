/**
 * `npm run bench [-- --quick]`: the benchmark report (issue 7). Emulated phones, each its own
 * Chromium in its own cgroup v1 CPU quota (owner included), on loopback and on 40 Mbit/s links
 * shaped with tbf in network namespaces; VGG-16 owner alone vs owner + 1..4 workers per scheme;
 * heterogeneous workers (biased vs equal split, live re-planning); Dense layers (MSCC + FGCP vs
 * output split vs owner); the mesh tax. Every distributed answer is checked against the owner
 * alone. Writes bench/results/report.md, report.json (every raw sample) and SVG charts.
 * Needs root; runs itself in a private network namespace and removes all it creates.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClassifyRequest, ClassifySummary } from '../src/ui/model-runner.ts';
import { Sandbox, reexecInPrivateNetns } from './emulation.ts';
import { machineStamp, median } from './machine.ts';
import { openRoom, parallelLoop, type Room } from './mesh.ts';
import { renderReport, type BenchResults, type ParallelSample, type Sample } from './report.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What one run measures; `--quick` shrinks it. */
interface Config {
  quick: boolean;
  model: string;
  /** CPU quota of an equal phone, fraction of one core. */
  cpuFraction: number;
  images: number;
  workerCounts: number[];
  schemes: ('bodp' | 'grid' | 'fused' | 'auto')[];
  /** Worker slow-downs of the heterogeneous set (2 = half the equal phone's quota). */
  heteroSlowdowns: number[];
  liveImages: { before: number; after: number };
  /** Images the heterogeneous set runs before it is measured, so the moving-average profiles reach the new speeds. */
  heteroWarmUps: number;
  heteroBodp: boolean;
  taxBodp: boolean;
  livePinned: boolean;
  shapedRate: string | null;
  shapedWorkerCounts: number[];
  parallelCounts: number[];
  loopIterations: number;
  /** Largest tolerated |Δ| between a distributed output and the owner-alone one. */
  tolerance: number;
  /**
   * The size the targets are stated on: VGG-16 at 224×224, owner + 4 equal phones. `schemes` run
   * on `images` images each; `onceSchemes` (per-layer schemes, minutes per image on these links)
   * on one. null: skipped.
   */
  fullSize: { model: string; images: number; schemes: ('fused' | 'auto')[]; onceSchemes: ('bodp' | 'grid')[] } | null;
}

const FULL: Config = {
  quick: false,
  model: 'vgg16-medium',
  cpuFraction: 0.25,
  images: 5,
  workerCounts: [1, 2, 3, 4],
  schemes: ['bodp', 'grid', 'fused', 'auto'],
  heteroSlowdowns: [2, 4, 8],
  liveImages: { before: 3, after: 6 },
  heteroWarmUps: 6,
  heteroBodp: true,
  taxBodp: true,
  livePinned: true,
  shapedRate: '40mbit',
  shapedWorkerCounts: [4],
  parallelCounts: [1, 2, 3, 4, 5],
  loopIterations: 60_000_000,
  tolerance: 1e-4,
  fullSize: { model: 'vgg16-full', images: 3, schemes: ['fused', 'auto'], onceSchemes: ['bodp', 'grid'] },
};

const QUICK: Config = {
  ...FULL,
  quick: true,
  images: 2,
  workerCounts: [4],
  heteroSlowdowns: [2, 4, 8],
  liveImages: { before: 2, after: 4 },
  livePinned: false,
  heteroWarmUps: 4,
  heteroBodp: false,
  taxBodp: false,
  shapedRate: null,
  shapedWorkerCounts: [],
  parallelCounts: [1, 5],
  loopIterations: 30_000_000,
  fullSize: null,
};

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s`;
const log = (s: string) => console.log(`[${elapsed()}] ${s}`);

class ExactnessError extends Error {}

/** Sample fields a section adds (worker count, slow-downs, image index…). */
type Extra = Omit<Partial<Sample>, 'request'>;

/** A request as the sections write it: workers by index into the room's workers (peer ids can change on a rejoin). */
type BenchRequest = Omit<ClassifyRequest, 'workers'> & {
  seed: number;
  use?: number[];
  /** The owner page's own result checks (the product's default); otherwise none. */
  checks?: boolean;
};

/** Runs every section and returns the raw results; throws ExactnessError when an answer differs. */
async function measure(config: Config, sandbox: Sandbox, results: BenchResults, only: 'full' | null): Promise<void> {
  /** The owner-alone answer per model and image. */
  const reference = new Map<string, { top1: number; logits: number[] }>();
  const samples = results.samples;
  let recover = false;

  /** One classification, checked against the owner alone on the same image, recorded. */
  async function run(room: Room, section: string, label: string, request: BenchRequest, extra: Extra = {}): Promise<Sample> {
    const { use, checks, ...rest } = request;
    if (recover) {
      // A worker was dropped or failed: wait until it has rejoined (it does by itself), then forget its failure.
      await room.refreshPeers(90_000);
      rest.reprofile = true;
      recover = false;
    }
    const workers = use?.map((i) => (room.workers[i] as Room['workers'][number]).peerId);
    const model = rest.model ?? config.model;
    // Result checks off unless a configuration asks for them: the paper's schemes have none, and a
    // check is the owner recomputing a share, which would blur the comparison (section 7 measures them).
    const s = await room.classify({ ...(checks ? {} : { verify: false }), ...rest, model, ...(workers ? { workers } : {}) });
    const key = `${model}#${request.seed}`;
    if (!reference.has(key) && s.devices.length === 1) reference.set(key, { top1: s.top[0]?.index ?? -1, logits: s.logits });
    const against = reference.get(key);
    const maxAbsDiff = against ? s.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - (against.logits[i] as number))), 0) : 0;
    // Degraded: a worker failed mid-image (its share recomputed here) or was missing from the plan.
    const degraded = s.failed.length > 0 || (request.scheme !== 'owner' && request.scheme !== 'auto' && workers !== undefined && s.devices.length - 1 < workers.length);
    const sample = toSample(s, { ...extra, section, label, link: room.link, seed: request.seed, model, request: { ...rest, ...(workers ? { workers } : {}) }, maxAbsDiff, degraded });
    samples.push(sample);
    if (against && (sample.top1 !== against.top1 || maxAbsDiff > config.tolerance)) {
      throw new ExactnessError(`bench: ${section} ${label} (seed ${request.seed}) answered class ${sample.top1} with max |Δ| ${maxAbsDiff.toExponential(2)}; the owner alone answered ${against.top1} (tolerance ${config.tolerance})`);
    }
    if (degraded || s.suspended.length > 0) {
      const why = [...s.failed, ...s.suspended, ...s.excluded].map((f) => `${f.deviceId}: ${f.reason}`);
      log(`  ${section} ${label} seed ${request.seed}: degraded (${s.devices.length - 1} of ${workers?.length ?? '?'} workers in the plan${why.length ? `; ${why.join('; ')}` : ''}); sample kept in the JSON, left out of the medians`);
      recover = true;
    }
    return sample;
  }
  /** Owner alone on every image first, so every later answer has its reference. */
  async function ownerAlone(room: Room, section: string, workers: number): Promise<number> {
    const ms: number[] = [];
    for (let seed = 1; seed <= config.images; seed++) ms.push((await run(room, section, 'owner alone', { scheme: 'owner', seed }, { workers })).totalMs);
    return median(ms);
  }
  async function series(room: Room, section: string, label: string, request: Omit<BenchRequest, 'seed'>, extra: Extra, warmUp = true, images = config.images): Promise<number> {
    if (warmUp) await run(room, `${section}:warm-up`, label, { ...request, seed: 0 }, extra);
    const ms: number[] = [];
    for (let seed = 1; seed <= images; seed++) ms.push((await run(room, section, label, { ...request, seed }, extra)).totalMs);
    return median(ms);
  }
  const first = (n: number) => Array.from({ length: n }, (_, i) => i);
  /**
   * Dense layers in the curve: on the owner for the forced schemes (the conv part is what they
   * differ in; section 4 measures the FC schemes), the output split or the owner for 'auto'. MSCC's
   * planning blocks the owner's page for seconds at 25% of a core, long enough for the mesh's
   * heartbeat to drop every worker (see the report).
   */
  const curveFc = (scheme: string): ClassifyRequest['fc'] => (scheme === 'auto' ? 'outputSplit' : 'owner');

  /**
   * The model on the owner (built, profiled), then on every worker (loaded, profiled), with every
   * phone's quota lifted: at 25% of a core, building and profiling VGG-16 blocks a page for longer
   * than the mesh's heartbeat allows (2.5 s), and the peer is dropped. All phones are profiled
   * alike, so their relative capabilities are right; then a few images at the real quotas let the
   * moving-average profiles reach the real speeds before anything is measured.
   */
  async function warmUp(room: Room, workerCount: number): Promise<void> {
    const phones = [room.owner, ...room.workers.map((w) => w.phone)];
    for (const p of phones) p.setCpuFraction(1);
    await run(room, 'warm-up', 'owner alone', { scheme: 'owner', seed: 0 });
    await run(room, 'warm-up', 'fused', { scheme: 'fused', fc: 'owner', use: first(workerCount), seed: 0 });
    for (const p of phones) p.setCpuFraction(config.cpuFraction);
    for (let i = 0; i < 3; i++) await run(room, 'warm-up', 'fused', { scheme: 'fused', fc: 'owner', use: first(workerCount), seed: 0 });
  }

  async function curve(room: Room, counts: readonly number[]): Promise<void> {
    for (const n of counts) {
      await room.refreshPeers();
      const alone = await ownerAlone(room, 'curve', n);
      const line = [`owner alone ${alone.toFixed(0)} ms`];
      for (const scheme of config.schemes) {
        // The paper's 2D-grid baseline is per layer, like BODP: blocks of depth 1.
        const m = await series(room, 'curve', scheme, { scheme, use: first(n), fc: curveFc(scheme), ...(scheme === 'grid' ? { maxFusedDepth: 1 } : {}) }, { workers: n });
        line.push(`${scheme} ${m.toFixed(0)} ms (${(alone / m).toFixed(2)}×)`);
      }
      log(`${room.link}, ${n} worker${n === 1 ? '' : 's'}: ${line.join(', ')}`);
    }
  }

  /**
   * VGG-16 at 224×224, owner + 4 equal phones: the size the paper and the targets use. Building the
   * model (138 M weights on the owner, the 15 M conv weights on each worker) and profiling it are
   * set-up, not inference, so they run with the quotas lifted; one image at the real quotas then
   * lets the profiles settle. Dense layers stay on the owner (fc6 alone is 4 M nonzeros: sending
   * each worker its slice costs more than the owner's sparse product, 0.3 GFLOP of 15.5).
   */
  async function fullSize(room: Room): Promise<void> {
    const full = config.fullSize;
    if (!full) return;
    const n = 4;
    const use = first(n);
    const { model } = full;
    const extra: Extra = { workers: n };
    await room.refreshPeers(90_000);
    const phones = [room.owner, ...room.workers.map((w) => w.phone)];
    for (const p of phones) p.setCpuFraction(1);
    await run(room, 'full:warm-up', 'owner alone', { model, scheme: 'owner', seed: 0 }, extra);
    await run(room, 'full:warm-up', 'fused', { model, scheme: 'fused', fc: 'owner', use, seed: 0 }, extra);
    for (const p of phones) p.setCpuFraction(config.cpuFraction);
    await run(room, 'full:warm-up', 'fused', { model, scheme: 'fused', fc: 'owner', use, seed: 0 }, extra);
    const ms: number[] = [];
    for (let seed = 1; seed <= full.images; seed++) ms.push((await run(room, 'full', 'owner alone', { model, scheme: 'owner', seed }, extra)).totalMs);
    const alone = median(ms);
    const line = [`owner alone ${alone.toFixed(0)} ms`];
    for (const scheme of full.schemes) {
      const m = await series(room, 'full', scheme, { model, scheme, use, fc: 'owner' }, extra, false, full.images);
      line.push(`${scheme} ${m.toFixed(0)} ms (${(alone / m).toFixed(2)}×)`);
    }
    // The product's default: a random tenth of the workers' results recomputed on the owner, at most
    // a tenth of the image's FLOPs (crypto draws, so no worker can tell which).
    const checked = await series(room, 'full', 'auto-checked', { model, scheme: 'auto', use, fc: 'owner', checks: true }, extra, false, full.images);
    line.push(`auto with result checks ${checked.toFixed(0)} ms (${(alone / checked).toFixed(2)}×)`);
    for (const scheme of full.onceSchemes) {
      const m = (await run(room, 'full', scheme, { model, scheme, use, fc: 'owner', maxFusedDepth: 1, seed: 1 }, extra)).totalMs;
      line.push(`${scheme} ${m.toFixed(0)} ms (${(alone / m).toFixed(2)}×, one image)`);
    }
    log(`${model}, owner + ${n}: ${line.join(', ')}`);
  }

  // ---- Loopback room: owner + 4 workers, equal quotas.
  const maxWorkers = Math.max(4, ...config.workerCounts);
  let room = await openRoom(sandbox, { workerCount: maxWorkers, cpuFraction: config.cpuFraction, shape: null, log });
  try {
    if (only === 'full') {
      await fullSize(room);
      return;
    }
    // 1. Do k emulated phones really compute in parallel?
    const phones = [room.owner, ...room.workers.map((w) => w.phone)];
    for (const k of config.parallelCounts) {
      const ms = await parallelLoop(phones.slice(0, k), config.loopIterations);
      results.parallel.push({ phones: k, ms, iterations: config.loopIterations } satisfies ParallelSample);
    }
    // The owner → worker link at the equal quota: small and bulk requests, round trip.
    for (const bytes of [40_000, 40_000, 40_000, 1_000_000, 1_000_000]) {
      const ms = await room.owner.page.evaluate(
        async ([peerId, n]) => {
          type Mesh = { request(id: string, meta: unknown, t: unknown[], o: unknown): Promise<unknown> };
          const mesh = (window as unknown as { modnn: { mesh: Mesh } }).modnn.mesh;
          const t0 = performance.now();
          await mesh.request(peerId, { method: 'mesh.probe' }, [{ dtype: 'uint8', shape: [n], data: new Uint8Array(n) }], { timeoutMs: 60_000 });
          return performance.now() - t0;
        },
        [room.workers[0]?.peerId as string, bytes] as const,
      );
      results.link.push({ bytes, ms });
    }
    const one = results.parallel.find((p) => p.phones === 1);
    log(`parallelism: ${results.parallel.map((p) => `${p.phones} phones ${(p.phones * (one ? median(one.ms) : 1) / Math.max(...p.ms)).toFixed(2)}×`).join(', ')} the throughput of one`);

    await warmUp(room, maxWorkers);

    // 2. Speed-up curve: for each worker count, owner alone then every scheme, on the same images.
    await curve(room, config.workerCounts);

    // 3. Mesh tax: owner + 1 worker doing all the work, vs owner alone, on the same images.
    {
      await room.refreshPeers();
      const alone = await ownerAlone(room, 'tax', 1);
      const line = [`owner alone ${alone.toFixed(0)} ms`];
      for (const scheme of config.taxBodp ? (['fused', 'bodp'] as const) : (['fused'] as const)) {
        const m = await series(room, 'tax', `${scheme}, worker does all`, { scheme, use: [0], ownerComputes: false, fc: 'outputSplit' }, { workers: 1 });
        line.push(`${scheme} ${m.toFixed(0)} ms (${(m / alone).toFixed(2)}× the owner alone)`);
      }
      log(`mesh tax: ${line.join(', ')}`);
    }

    // 4. Dense layers: MSCC + FGCP vs output split vs owner, conv part fused, 4 workers. Each plan is
    // made on the warm-up image with the owner's quota lifted (MSCC's planning is not inference
    // time, and at 25% of a core it would stall the owner's page past the heartbeat), then kept.
    {
      await room.refreshPeers();
      const line: string[] = [];
      for (const fc of ['owner', 'outputSplit', 'msccFgcp'] as const) {
        room.owner.setCpuFraction(1);
        await run(room, 'fc:warm-up', fc, { scheme: 'fused', fc, use: first(4), seed: 0 }, { workers: 4 });
        room.owner.setCpuFraction(config.cpuFraction);
        const m = await series(room, 'fc', fc, { scheme: 'fused', fc, use: first(4), replan: false }, { workers: 4 }, false);
        line.push(`${fc} ${m.toFixed(0)} ms`);
      }
      log(`fc (fused conv, 4 workers): ${line.join(', ')}`);
    }

    // 5. Heterogeneous workers (2×, 4×, 8× slower): biased vs equal split. The profiles learn the
    // new speeds from a few images (asking a worker at 1/32 of a core to profile itself would stall
    // its page past the heartbeat).
    {
      await room.refreshPeers();
      const n = config.heteroSlowdowns.length;
      const hetero = room.workers.slice(0, n);
      // The owner at twice the equal quota, the workers 2×, 4×, 8× slower than it: the slowest then
      // still answers heartbeats while it computes an equal share.
      const ownerFraction = 2 * config.cpuFraction;
      room.owner.setCpuFraction(ownerFraction);
      hetero.forEach((w, i) => w.phone.setCpuFraction(ownerFraction / (config.heteroSlowdowns[i] as number)));
      const slow = { workers: n, slowdowns: config.heteroSlowdowns };
      for (let i = 0; i < config.heteroWarmUps; i++) await run(room, 'hetero:warm-up', 'fused biased', { scheme: 'fused', fc: 'owner', use: first(n), seed: 0 }, slow);
      const alone = await ownerAlone(room, 'hetero', n);
      const line = [`owner alone ${alone.toFixed(0)} ms`];
      for (const scheme of config.heteroBodp ? (['fused', 'bodp'] as const) : (['fused'] as const)) {
        for (const split of ['biased', 'equal'] as const) {
          const m = await series(room, 'hetero', `${scheme} ${split}`, { scheme, split, fc: 'owner', use: first(n) }, slow);
          line.push(`${scheme} ${split} ${m.toFixed(0)} ms`);
        }
      }
      const auto = await series(room, 'hetero', 'auto', { scheme: 'auto', fc: 'outputSplit', use: first(n) }, slow);
      line.push(`auto ${auto.toFixed(0)} ms`);
      log(`heterogeneous (${config.heteroSlowdowns.join('×, ')}× slower): ${line.join(', ')}`);
      for (const p of [room.owner, ...hetero.map((w) => w.phone)]) p.setCpuFraction(config.cpuFraction);
    }

    // 6. Live re-planning: 4 equal workers; after a few images one becomes 8× slower.
    {
      await room.refreshPeers();
      const slowed = room.workers[0] as Room['workers'][number];
      for (const replan of config.livePinned ? [true, false] : [true]) {
        const label = replan ? 're-planning' : 'plan kept';
        slowed.phone.setCpuFraction(config.cpuFraction);
        await run(room, 'live:warm-up', label, { scheme: 'fused', fc: 'owner', use: first(4), reprofile: true, seed: 0 }, { workers: 4 });
        await run(room, 'live:warm-up', label, { scheme: 'fused', fc: 'owner', use: first(4), seed: 0 }, { workers: 4 });
        const total = config.liveImages.before + config.liveImages.after;
        const line: string[] = [];
        for (let i = 1; i <= total; i++) {
          if (i === config.liveImages.before + 1) slowed.phone.setCpuFraction(config.cpuFraction / 8);
          const seed = ((i - 1) % config.images) + 1;
          const s = await run(room, 'live', label, { scheme: 'fused', fc: 'owner', use: first(4), replan, seed }, { workers: 4, imageIndex: i, slowedAfter: config.liveImages.before, slowedPeer: slowed.peerId });
          line.push(s.totalMs.toFixed(0));
        }
        log(`live, ${label}: ${line.join(' ')} ms (w1 8× slower from image ${config.liveImages.before + 1})`);
      }
      slowed.phone.setCpuFraction(config.cpuFraction);
    }

    // 7. Full size: VGG-16 at 224×224, owner + 4.
    await fullSize(room);
  } finally {
    await room.close();
  }

  // ---- Shaped room: every phone in its own namespace, its link shaped both ways with tbf.
  if (config.shapedRate && config.shapedWorkerCounts.length > 0) {
    const workerCount = Math.max(...config.shapedWorkerCounts);
    recover = false;
    room = await openRoom(sandbox, { workerCount, cpuFraction: config.cpuFraction, shape: { rate: config.shapedRate }, log });
    try {
      await warmUp(room, workerCount);
      await curve(room, config.shapedWorkerCounts);
    } finally {
      await room.close();
    }
  }
}

/** The raw sample kept for the JSON: the summary without logits, with per-device totals from the trace. */
function toSample(s: ClassifySummary, fields: Extra & Pick<Sample, 'section' | 'label' | 'link' | 'seed' | 'maxAbsDiff' | 'degraded' | 'model'> & { request: ClassifyRequest }): Sample {
  const { request, ...rest } = fields;
  const perDevice: Sample['perDevice'] = {};
  for (const t of s.trace) {
    const d = (perDevice[t.deviceId] ??= { flops: 0, computeMs: 0, tasks: 0, bytesOut: 0, bytesIn: 0, fallbacks: 0 });
    d.flops += t.flops;
    d.computeMs += t.computeMs ?? 0;
    d.tasks += 1;
    d.bytesOut += t.bytesOut;
    d.bytesIn += t.bytesIn;
    if (t.outcome !== 'ok') d.fallbacks += 1;
  }
  return {
    workers: s.devices.length - 1,
    ...rest,
    scheme: s.scheme,
    request: { ...request, model: undefined },
    totalMs: s.totalMs,
    predictedMs: s.predictedMs,
    top1: s.top[0]?.index ?? -1,
    devices: s.devices,
    steps: s.steps,
    bytes: s.bytesMoved,
    messages: s.messages,
    failed: s.failed,
    suspended: s.suspended,
    excluded: s.excluded,
    fcWeightBytes: s.fcWeightBytes,
    perDevice,
    trace: s.trace.map((t) => ({ step: t.step, kind: t.kind, device: t.device, startMs: t.startMs, endMs: t.endMs, computeMs: t.computeMs, flops: t.flops, bytesOut: t.bytesOut, bytesIn: t.bytesIn, outcome: t.outcome })),
  };
}

async function main(): Promise<void> {
  // `--render FILE.json`: write the report again from raw results (no browsers, no root).
  const renderIndex = process.argv.indexOf('--render');
  if (renderIndex > 0) {
    const file = process.argv[renderIndex + 1] ?? path.join(root, 'bench', 'results', 'report.json');
    const results = JSON.parse(await readFile(file, 'utf8')) as BenchResults;
    results.link ??= [];
    const files = renderReport(results, results.config.quick ? '-quick' : '');
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(path.dirname(file), name), text);
    console.log(`wrote ${Object.keys(files).join(', ')}`);
    return;
  }
  if (await reexecInPrivateNetns()) return;
  const config = process.argv.includes('--quick') ? QUICK : FULL;
  // `--only full`: just the full-size section (to try it out); its results go to report-fullsize.*.
  const only = process.argv.includes('--only') && process.argv[process.argv.indexOf('--only') + 1] === 'full' ? 'full' : null;
  if (only && !config.fullSize) throw new Error('bench: --only full needs the full configuration (no --quick)');
  const outDir = path.join(root, 'bench', 'results');
  const sandbox = new Sandbox();
  sandbox.installHandlers();
  const { chromium } = await import('@playwright/test');
  const { chromiumExecutable } = await import('../e2e/browser.ts');
  // The browser's version for the stamp, from a throwaway launch outside any quota.
  const probe = await chromium.launch({ executablePath: chromiumExecutable() });
  const browserVersion = probe.version();
  await probe.close();
  const results: BenchResults = {
    machine: machineStamp(browserVersion),
    backend: 'wasm',
    command: config.quick ? 'npm run bench -- --quick' : 'npm run bench',
    config: { ...config },
    loadAverage: { start: loadavg(), end: [] },
    wallSeconds: 0,
    parallel: [],
    link: [],
    samples: [],
    error: null,
  };
  log(`${results.command}: ${config.model}, phones at ${config.cpuFraction * 100}% of a core, ${config.images} images per configuration; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  let failure: unknown = null;
  try {
    await measure(config, sandbox, results, only);
  } catch (err) {
    failure = err;
    results.error = (err as Error).message;
  } finally {
    await sandbox.cleanup();
  }
  results.loadAverage.end = loadavg();
  results.wallSeconds = (performance.now() - started) / 1000;
  await mkdir(outDir, { recursive: true });
  const suffix = only ? '-fullsize' : config.quick ? '-quick' : '';
  await writeFile(path.join(outDir, `report${suffix}.json`), JSON.stringify(results, null, 1));
  if (failure) {
    console.error(`bench: stopped: ${(failure as Error).message}\n(raw samples so far: bench/results/report${suffix}.json)`);
    process.exitCode = 1;
    return;
  }
  const files = renderReport(results, suffix);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(outDir, name), text);
  log(`wrote ${Object.keys(files).map((f) => `bench/results/${f}`).join(', ')} and bench/results/report${suffix}.json`);
}

await main();
