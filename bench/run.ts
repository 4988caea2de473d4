/**
 * `npm run bench [-- --quick]`: the benchmark report (issue 7). Emulated phones, each its own
 * Chromium in its own cgroup v1 CPU quota (owner included), on loopback and on 40 Mbit/s links
 * shaped with tbf in network namespaces; VGG-16 owner alone vs owner + 1..4 workers per scheme;
 * heterogeneous workers (biased vs equal split, live re-planning); Dense layers (MSCC + FGCP vs
 * output split vs owner); the mesh tax; full VGG-16 at 224×224 (`--only full`) and, at that size,
 * compact activations, resident strips and images in flight (section 8, `--only wall`). Every
 * distributed answer is checked against the owner alone (compact activations: within a bound
 * relative to it, same top-1). Writes bench/results/report.md, report.json (every raw sample) and
 * SVG charts.
 * Needs root; runs itself in a private network namespace and removes all it creates.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClassifyRequest, ClassifySummary } from '../src/ui/model-runner.ts';
import { Sandbox, reexecInPrivateNetns } from './emulation.ts';
import { machineStamp, median } from './machine.ts';
import { linkDelta, openRoom, parallelLoop, type Room } from './mesh.ts';
import { renderReport, type BatchSample, type BenchResults, type ParallelSample, type Sample } from './report.ts';

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
  /**
   * Section 8, beating the transfer wall: the same size, owner + 4, compact activations and
   * resident strips next to the owner alone and BODP per layer (`images` each, BODP one), then
   * `batchImages` images through `classifyMany` at each of `inFlight`. null: skipped.
   */
  wall: { model: string; images: number; batchImages: number; inFlight: number[] } | null;
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
  wall: { model: 'vgg16-full', images: 3, batchImages: 20, inFlight: [1, 2] },
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
  wall: null,
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
  /**
   * Largest tolerated |Δ| against the owner alone for this request, absolute; and/or as a fraction
   * of the owner-alone answer's largest |logit| (compact wires: float16, 8-bit). The larger of
   * the two holds (`config.tolerance` when neither is given); the top-1 must match either way.
   */
  tolerance?: number;
  relativeTolerance?: number;
  /** Read the links' own byte counters before and after (owner ↔ workers, worker ↔ worker). */
  measureLinks?: boolean;
};

/** Which part runs alone (`--only full|wall`), into report-fullsize.* / report-wall.*. */
type Only = 'full' | 'wall' | null;

/** Runs every section and returns the raw results; throws ExactnessError when an answer differs. */
async function measure(config: Config, sandbox: Sandbox, results: BenchResults, only: Only): Promise<void> {
  /** The owner-alone answer per model and image. */
  const reference = new Map<string, { top1: number; logits: number[] }>();
  const samples = results.samples;
  let recover = false;

  /** One classification, checked against the owner alone on the same image, recorded. */
  async function run(room: Room, section: string, label: string, request: BenchRequest, extra: Extra = {}): Promise<Sample> {
    const { use, checks, tolerance, relativeTolerance, measureLinks, ...rest } = request;
    if (recover) {
      // A worker was dropped or failed: wait until it has rejoined (it does by itself), then forget its failure.
      await room.refreshPeers(90_000);
      rest.reprofile = true;
      recover = false;
    }
    const workers = use?.map((i) => (room.workers[i] as Room['workers'][number]).peerId);
    const model = rest.model ?? config.model;
    const before = measureLinks ? await room.linkCounters() : null;
    // Activations travel float32 unless the request names a wire: the page's own default is 'auto'
    // (float16 where it predicts a gain), which the exact comparisons of sections 2–7 would reject.
    rest.wire ??= 'float32';
    // Result checks off unless a configuration asks for them: the paper's schemes have none, and a
    // check is the owner recomputing a share, which would blur the comparison (section 7 measures them).
    const s = await room.classify({ ...(checks ? {} : { verify: false }), ...rest, model, ...(workers ? { workers } : {}) });
    const links = before ? linkDelta(before, await room.linkCounters()) : undefined;
    const key = `${model}#${request.seed}`;
    if (!reference.has(key) && s.devices.length === 1) reference.set(key, { top1: s.top[0]?.index ?? -1, logits: s.logits });
    const against = reference.get(key);
    const maxAbsDiff = against ? s.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - (against.logits[i] as number))), 0) : 0;
    const own = tolerance !== undefined || relativeTolerance !== undefined;
    const bound = own && against ? boundOf(against.logits, tolerance, relativeTolerance) : config.tolerance;
    // Degraded: a worker failed mid-image (its share recomputed here) or was missing from the plan.
    const degraded = s.failed.length > 0 || (request.scheme !== 'owner' && request.scheme !== 'auto' && workers !== undefined && s.devices.length - 1 < workers.length);
    const sample = toSample(s, { ...extra, section, label, link: room.link, seed: request.seed, model, request: { ...rest, ...(workers ? { workers } : {}) }, maxAbsDiff, degraded, ...(own ? { tolerance: bound } : {}), ...(links ? { links } : {}) });
    samples.push(sample);
    if (against && (sample.top1 !== against.top1 || maxAbsDiff > bound)) {
      throw new ExactnessError(`bench: ${section} ${label} (seed ${request.seed}) answered class ${sample.top1} with max |Δ| ${maxAbsDiff.toExponential(2)}; the owner alone answered ${against.top1} (tolerance ${bound.toExponential(2)})`);
    }
    if (degraded || s.suspended.length > 0) {
      const why = [...s.failed, ...s.suspended, ...s.excluded].map((f) => `${f.deviceId}: ${f.reason}`);
      log(`  ${section} ${label} seed ${request.seed}: degraded (${s.devices.length - 1} of ${workers?.length ?? '?'} workers in the plan${why.length ? `; ${why.join('; ')}` : ''}); sample kept in the JSON, left out of the medians`);
      recover = true;
    }
    return sample;
  }
  /**
   * The |Δ| bound of a request with its own tolerance: `relative` × the owner-alone answer's
   * largest |logit| (not floored at `config.tolerance`, which can be loose against these
   * logits' scale), or the larger of the two when both are given.
   */
  function boundOf(logits: readonly number[], tolerance: number | undefined, relative: number | undefined): number {
    const scale = logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    return relative === undefined ? (tolerance ?? config.tolerance) : Math.max(tolerance ?? 0, relative * scale);
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
  async function fullSize(room: Room): Promise<boolean> {
    const full = config.fullSize;
    if (!full) return false;
    const n = 4;
    const use = first(n);
    const { model } = full;
    const extra: Extra = { workers: n };
    await room.refreshPeers(90_000);
    await fullWarmUp(room, 'full', model, use, extra, { build: true, lifted: [] });
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
    return true;
  }

  /**
   * Set-up at full size, as section 7 explains: with every quota lifted, the model built and
   * profiled on the owner and the workers (`build`; skipped when section 7 just did it in this
   * room) and then `lifted` (set-up images, such as the first resident run, which opens the
   * workers' direct links); then one fused image at the real quotas so the profiles settle.
   */
  async function fullWarmUp(room: Room, section: string, model: string, use: number[], extra: Extra, o: { build: boolean; lifted: BenchRequest[] }): Promise<void> {
    const phones = [room.owner, ...room.workers.map((w) => w.phone)];
    for (const p of phones) p.setCpuFraction(1);
    try {
      if (o.build) {
        await run(room, `${section}:warm-up`, 'owner alone', { model, scheme: 'owner', seed: 0 }, extra);
        await run(room, `${section}:warm-up`, 'fused', { model, scheme: 'fused', fc: 'owner', use, seed: 0 }, extra);
      }
      for (const request of o.lifted) await run(room, `${section}:warm-up`, `${String(request.scheme)} (quotas lifted)`, request, extra);
    } finally {
      for (const p of phones) p.setCpuFraction(config.cpuFraction);
    }
    await run(room, `${section}:warm-up`, 'fused', { model, scheme: 'fused', fc: 'owner', use, seed: 0 }, extra);
  }

  /**
   * 8. Beating the transfer wall: VGG-16 at 224×224, owner + 4, Dense layers on the owner, result
   * checks off. Per image: the owner alone, BODP per layer (the paper's bytes baseline, one
   * image), fused blocks with float32 / float16 / 8-bit activations, resident strips (halos
   * worker↔worker) float32 / float16, and the planner's own choice with wire 'auto' (peer links
   * allowed, checks being off). Compact wires are held to a bound relative to the owner-alone
   * answer (2% of its largest |logit| for float16, 10% for 8-bit) and must keep the top-1. Then
   * throughput: `batchImages` images through `classifyMany`, pipelined at each of `inFlight` on the
   * fastest configuration, and spread (each device taking whole images).
   */
  async function transferWall(room: Room, warmed: boolean): Promise<void> {
    const wall = config.wall;
    if (!wall) return;
    const n = 4;
    const use = first(n);
    const { model } = wall;
    const extra: Extra = { workers: n };
    const section = 'wall';
    const base = { model, use, fc: 'owner' as const, measureLinks: true };
    const f16 = { relativeTolerance: 0.02 };
    const i8 = { relativeTolerance: 0.1 };
    await room.refreshPeers(90_000);
    // The first resident image opens the workers' direct links (set-up, like building the model).
    await fullWarmUp(room, section, model, use, extra, { build: !warmed, lifted: [{ ...base, scheme: 'resident', wire: 'float32', seed: 0 }] });
    const alone = await series(room, section, 'owner alone', { model, scheme: 'owner' }, extra, false, wall.images);
    const line = [`owner alone ${alone.toFixed(0)} ms`];
    // warmUp: one image (seed 0) first where the first image plans something new or opens links.
    const configs: { label: string; request: Omit<BenchRequest, 'seed'>; warmUp: boolean; once?: boolean }[] = [
      { label: 'bodp', request: { ...base, scheme: 'bodp', maxFusedDepth: 1, wire: 'float32' }, warmUp: false, once: true },
      { label: 'fused', request: { ...base, scheme: 'fused', wire: 'float32' }, warmUp: false },
      { label: 'fused float16', request: { ...base, scheme: 'fused', wire: 'float16', ...f16 }, warmUp: false },
      { label: 'resident', request: { ...base, scheme: 'resident', wire: 'float32' }, warmUp: true },
      { label: 'resident float16', request: { ...base, scheme: 'resident', wire: 'float16', ...f16 }, warmUp: true },
      { label: 'auto', request: { ...base, scheme: 'auto', wire: 'auto', ...f16 }, warmUp: true },
      // Last: the coarsest wire is the likeliest to move a close top-1, which stops the run.
      { label: 'fused int8', request: { ...base, scheme: 'fused', wire: 'int8', ...i8 }, warmUp: false },
    ];
    const measured: { label: string; request: Omit<BenchRequest, 'seed'>; ms: number }[] = [];
    for (const c of configs) {
      const ms = c.once ? (await run(room, section, c.label, { ...c.request, seed: 1 }, extra)).totalMs : await series(room, section, c.label, c.request, extra, c.warmUp, wall.images);
      if (!c.once) measured.push({ label: c.label, request: c.request, ms });
      line.push(`${c.label} ${ms.toFixed(0)} ms (${(alone / ms).toFixed(2)}×${c.once ? ', one image' : ''})`);
    }
    log(`${model}, owner + ${n}, transfer wall: ${line.join(', ')}`);

    // Throughput: the fastest configuration, images 1..batchImages (image k is classify's seed k).
    const best = measured.reduce((a, b) => (b.ms < a.ms ? b : a));
    const { use: _use, checks: _checks, tolerance, relativeTolerance, measureLinks: _links, ...request } = best.request;
    const seeds = Array.from({ length: wall.batchImages }, (_, i) => i + 1);
    const batchLine: string[] = [];
    // Pipelined at each of `inFlight`, then 'spread': every device takes whole images (one per device at a time).
    const modes: { mode: 'pipeline' | 'spread'; inFlight: number }[] = [...wall.inFlight.map((inFlight) => ({ mode: 'pipeline' as const, inFlight })), { mode: 'spread', inFlight: n + 1 }];
    for (const { mode, inFlight } of modes) {
      if (recover) await run(room, `${section}:warm-up`, best.label, { ...best.request, seed: 0 }, extra);
      const workers = use.map((i) => (room.workers[i] as Room['workers'][number]).peerId);
      const sent = { verify: false as const, ...request, model, workers, inFlight, mode };
      const { summary, results: answers } = await room.classifyMany({ ...sent, seeds });
      const perImage: BatchSample['perImage'] = [];
      const wrong: string[] = [];
      let checked = 0;
      let maxAbsDiff = 0;
      answers.forEach((a, i) => {
        const seed = seeds[i] as number;
        if (!a || !a.ok) {
          perImage.push({ seed, ok: false, error: a ? a.error : 'no answer' });
          return;
        }
        const against = reference.get(`${model}#${seed}`);
        const diff = against ? a.logits.reduce((m, v, j) => Math.max(m, Math.abs(v - (against.logits[j] as number))), 0) : null;
        const top1 = a.top[0]?.index ?? -1;
        perImage.push({ seed, ok: true, totalMs: a.totalMs, top1, devices: a.devices.length, steps: a.steps, maxAbsDiff: diff });
        if (!against || diff === null) return;
        checked++;
        maxAbsDiff = Math.max(maxAbsDiff, diff);
        const bound = tolerance !== undefined || relativeTolerance !== undefined ? boundOf(against.logits, tolerance, relativeTolerance) : config.tolerance;
        if (top1 !== against.top1 || diff > bound) wrong.push(`seed ${seed}: class ${top1}, max |Δ| ${diff.toExponential(2)} (owner alone: class ${against.top1}; tolerance ${bound.toExponential(2)})`);
      });
      // Spread images each run on one device (a worker with the owner's Dense layers, or the owner).
      const degraded = summary.failed > 0 || (mode === 'pipeline' && perImage.some((p) => p.ok && p.devices < n + 1));
      (results.batches ??= []).push({ section, label: best.label, link: room.link, model, workers: n, request: sent, mode, inFlight, seeds, summary, perImage, checked, maxAbsDiff, degraded });
      if (wrong.length > 0) throw new ExactnessError(`bench: ${section} batch ${best.label}, ${inFlight} in flight: ${wrong.join('; ')}`);
      if (degraded) {
        log(`  ${section} batch ${best.label}, ${inFlight} in flight: degraded (${summary.failed} failed; ${perImage.filter((p) => p.ok && p.devices < n + 1).length} answered with fewer devices); kept in the JSON, flagged in the report`);
        recover = true;
      }
      batchLine.push(`${mode === 'spread' ? 'spread (whole images, one per device)' : `${inFlight} in flight`} ${summary.imagesPerSecond.toFixed(3)} images/s (median latency ${summary.medianLatencyMs.toFixed(0)} ms)`);
    }
    log(`${model}, owner + ${n}, ${wall.batchImages} images, ${best.label}: ${batchLine.join(', ')}; owner alone ${(1000 / alone).toFixed(3)} images/s`);
  }

  // ---- Loopback room: owner + 4 workers, equal quotas.
  const maxWorkers = Math.max(4, ...config.workerCounts);
  let room = await openRoom(sandbox, { workerCount: maxWorkers, cpuFraction: config.cpuFraction, shape: null, log });
  try {
    if (only === 'full') {
      await fullSize(room);
      return;
    }
    if (only === 'wall') {
      await transferWall(room, false);
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
    const warmed = await fullSize(room);
    // 8. Beating the transfer wall: the same size, compact activations, resident strips, images in flight.
    await transferWall(room, warmed && config.fullSize?.model === config.wall?.model);
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
    const d = (perDevice[t.deviceId] ??= { flops: 0, computeMs: 0, tasks: 0, bytesOut: 0, bytesIn: 0, peerBytes: 0, fallbacks: 0 });
    d.flops += t.flops;
    d.peerBytes = (d.peerBytes ?? 0) + (t.peerBytes ?? 0);
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
    peerBytes: s.trace.reduce((sum, t) => sum + (t.peerBytes ?? 0), 0),
    messages: s.messages,
    failed: s.failed,
    suspended: s.suspended,
    excluded: s.excluded,
    fcWeightBytes: s.fcWeightBytes,
    perDevice,
    trace: s.trace.map((t) => ({ step: t.step, kind: t.kind, device: t.device, startMs: t.startMs, endMs: t.endMs, computeMs: t.computeMs, flops: t.flops, bytesOut: t.bytesOut, bytesIn: t.bytesIn, ...(t.peerBytes !== undefined ? { peerBytes: t.peerBytes } : {}), ...(t.haloWaitMs !== undefined ? { haloWaitMs: t.haloWaitMs } : {}), outcome: t.outcome })),
  };
}

async function main(): Promise<void> {
  // `--render FILE.json`: write the report again from raw results (no browsers, no root).
  const renderIndex = process.argv.indexOf('--render');
  if (renderIndex > 0) {
    const file = process.argv[renderIndex + 1] ?? path.join(root, 'bench', 'results', 'report.json');
    const results = JSON.parse(await readFile(file, 'utf8')) as BenchResults;
    results.link ??= [];
    results.batches ??= [];
    const base = path.basename(file, '.json');
    const files = renderReport(results, base.startsWith('report') ? base.slice('report'.length) : results.config.quick ? '-quick' : '');
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(path.dirname(file), name), text);
    console.log(`wrote ${Object.keys(files).join(', ')}`);
    return;
  }
  if (await reexecInPrivateNetns()) return;
  const config = process.argv.includes('--quick') ? QUICK : FULL;
  // `--only full`: just the full-size section (to try it out); its results go to report-fullsize.*.
  // `--only wall`: just section 8 (beating the transfer wall); its results go to report-wall.*.
  const onlyArg = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  if (onlyArg !== undefined && onlyArg !== 'full' && onlyArg !== 'wall') throw new Error(`bench: --only takes full or wall, not ${String(onlyArg)}`);
  const only: Only = onlyArg ?? null;
  if (only === 'full' && !config.fullSize) throw new Error('bench: --only full needs the full configuration (no --quick)');
  if (only === 'wall' && !config.wall) throw new Error('bench: --only wall needs the full configuration (no --quick)');
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
    command: only ? `npm run bench -- --only ${only}` : config.quick ? 'npm run bench -- --quick' : 'npm run bench',
    config: { ...config },
    loadAverage: { start: loadavg(), end: [] },
    wallSeconds: 0,
    parallel: [],
    link: [],
    samples: [],
    batches: [],
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
  const suffix = only === 'full' ? '-fullsize' : only === 'wall' ? '-wall' : config.quick ? '-quick' : '';
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
