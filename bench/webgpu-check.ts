/**
 * WebGPU check: does TF.js's WebGPU backend give the same answers as its CPU backend on the zoo
 * models, do a distributed plan's spatial tiles merged on WebGPU match the whole model on WebGPU,
 * and how fast is it. Runs in Node; with `--backend webgpu` it needs Dawn's Node binding
 * (`dawn.node` from the npm package `webgpu`, not a dependency of this project) and a GPU that
 * Dawn finds, see scripts/device-webgpu.sh. Results: bench/results/webgpu-device.md.
 *
 *   npx tsx bench/webgpu-check.ts --backend cpu                    # rehearsal: 'cpu' against 'cpu'
 *   node webgpu-check.mjs --backend webgpu --dawn dawn.node --full --out results.json
 *
 * Options: --backend cpu|webgpu; --dawn PATH (dawn.node); --dawn-flag F (repeatable, passed to
 * Dawn's `create`, e.g. backend=opengl); --compat (ask for a compatibility-mode adapter, which is
 * what Dawn's OpenGL backend offers); --full (add the full VGG-16 at 224); --models a,b (subset of
 * vgg16-small, vgg16-medium, mobilenetv2, vgg16-full); --budget-s N (stop optional work after N
 * seconds, default 270); --out FILE (JSON, rewritten after every section); --reference FILE (a
 * JSON written by an earlier run: the full VGG-16's CPU logits are taken from it, since TF.js's
 * 'cpu' conv2d runs at ~0.1 GFLOP/s and that model is ~31 GFLOP); --only-reference (compute and
 * write the CPU logits, nothing else: how that file is made); --speed-full-cpu (also time the
 * full VGG-16 once on TF.js 'cpu', minutes).
 *
 * Values are read with `await tensor.data()` throughout: WebGPU's `dataSync()` goes through
 * OffscreenCanvas, which Node does not have, so the repo's `executePlan` (which calls
 * `dataSync()` to merge tiles) is re-done here asynchronously with the same kernels:
 * `runTileSlice`, `mergeTileValues`, `runWhole`, `runFcSlice`/`addFcPartial`/`finishFc`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import {
  buildMobileNetV2,
  buildVgg16,
  createRng,
  toLayersModel,
  type ModelGraph,
  type ModelWeights,
  type Tensor,
  type Tensor3D,
  type ZooModel,
} from '../src/model/index.ts';
import { planInference, planSteps, type DeviceProfile, type PlanStep, type SpatialScheme } from '../src/partition/index.ts';
import { addFcPartial, executeWhole, finishFc, mergeTileValues, runFcSlice, runTileSlice, runWhole } from '../src/runtime/local-executor.ts';
import { machineStamp, median } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'cpu' },
    dawn: { type: 'string', default: 'dawn.node' },
    'dawn-flag': { type: 'string', multiple: true, default: [] },
    compat: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    models: { type: 'string' },
    'budget-s': { type: 'string', default: '270' },
    out: { type: 'string' },
    reference: { type: 'string' },
    'only-reference': { type: 'boolean', default: false },
    'speed-full-cpu': { type: 'boolean', default: false },
  },
});

const BACKEND = args.backend ?? 'cpu';
if (BACKEND !== 'cpu' && BACKEND !== 'webgpu') throw new Error(`--backend cpu|webgpu, not '${BACKEND}'`);
const started = performance.now();
const budgetMs = Number(args['budget-s']) * 1000;
const elapsedS = (): number => (performance.now() - started) / 1000;
const remainingS = (): number => (budgetMs - (performance.now() - started)) / 1000;

// ---------------------------------------------------------------------------------------------
// Results, written after every section so that a run cut short still leaves what it measured.

interface ExactRow {
  model: string;
  /** 'whole' (backend vs CPU) or the spatial scheme of a distributed plan (vs the whole model on the backend). */
  check: string;
  against: string;
  maxAbsLogit: number;
  /** Largest |logit| of the reference, to read maxAbsLogit against. */
  refMaxAbsLogit: number;
  maxAbsProb: number;
  top1: number;
  refTop1: number;
  top1Equal: boolean;
  steps?: string;
  tiles?: number;
  ms: number;
}
interface SpeedRow { what: string; backend: string; medianMs: number; minMs: number; runs: number; note?: string }
interface Results {
  machine: ReturnType<typeof machineStamp>;
  backend: string;
  activeBackend: string;
  adapter: Record<string, string> | null;
  dawnFlags: string[];
  exact: ExactRow[];
  speed: SpeedRow[];
  cpuLogits: Record<string, number[]>;
  notes: string[];
  elapsedS: number;
}
const results: Results = {
  machine: machineStamp(),
  backend: BACKEND,
  activeBackend: '',
  adapter: null,
  dawnFlags: args['dawn-flag'] ?? [],
  exact: [],
  speed: [],
  cpuLogits: {},
  notes: [],
  elapsedS: 0,
};
function save(): void {
  results.elapsedS = Math.round(elapsedS() * 10) / 10;
  if (args.out) writeFileSync(args.out, `${JSON.stringify(results, null, 1)}\n`);
}
function note(line: string): void {
  results.notes.push(line);
  console.log(`note: ${line}`);
  save();
}

// ---------------------------------------------------------------------------------------------
// WebGPU through Dawn's Node binding.

interface GpuAdapterLike {
  info?: Record<string, unknown>;
  features: Iterable<string>;
  limits: Record<string, unknown>;
}
interface GpuLike { requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapterLike | null> }

async function startWebGpu(): Promise<void> {
  const require = createRequire(import.meta.url);
  const dawn = require(args.dawn ?? 'dawn.node') as { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(args['dawn-flag'] ?? []);
  if (args.compat) {
    const request = gpu.requestAdapter.bind(gpu);
    gpu.requestAdapter = (options = {}) => request({ ...options, featureLevel: 'compatibility' });
  }
  // Node 20 has no navigator; Node 21+ has a getter that plain assignment cannot replace.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) throw new Error('Dawn found no WebGPU adapter');
  const info: Record<string, string> = {};
  for (const key of ['vendor', 'architecture', 'device', 'description', 'subgroupMinSize', 'subgroupMaxSize', 'isFallbackAdapter']) {
    const value = adapter.info?.[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') info[key] = String(value);
  }
  info.features = [...adapter.features].sort().join(' ');
  for (const key of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup']) {
    info[key] = String(adapter.limits[key]);
  }
  results.adapter = info;
  console.log('adapter:', JSON.stringify(info));
  // The WebGPU backend registers itself on import only when navigator.gpu exists: import it now.
  await import('@tensorflow/tfjs-backend-webgpu');
}

async function useBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Runs `fn` in a TF.js scope: every tensor made inside and not returned is disposed after. */
async function scoped<T>(fn: () => Promise<T>): Promise<T> {
  tf.engine().startScope();
  try {
    return await fn();
  } finally {
    tf.engine().endScope();
  }
}

async function read(t: Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data());
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i;
  return best;
}

function softmax(v: Float32Array): Float64Array {
  const max = Math.max(...v);
  const e = Float64Array.from(v, (x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= max)) max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return max;
}

function compare(actual: Float32Array, reference: Float32Array): Pick<ExactRow, 'maxAbsLogit' | 'refMaxAbsLogit' | 'maxAbsProb' | 'top1' | 'refTop1' | 'top1Equal'> {
  const top1 = argmax(actual);
  const refTop1 = argmax(reference);
  return {
    maxAbsLogit: maxAbsDiff(actual, reference),
    refMaxAbsLogit: reference.reduce((m, x) => Math.max(m, Math.abs(x)), 0),
    maxAbsProb: maxAbsDiff(softmax(actual), softmax(reference)),
    top1,
    refTop1,
    top1Equal: top1 === refTop1,
  };
}

/** The graph with the classifier's softmax dropped, so that logits are compared (softmax of random weights is nearly flat). */
function logitsGraph(graph: ModelGraph): ModelGraph {
  return {
    ...graph,
    nodes: graph.nodes.map((node) => (node.id === graph.outputId && node.attrs.op === 'dense'
      ? { ...node, attrs: { ...node.attrs, activation: { kind: 'linear' as const, alpha: 0 } } }
      : node)),
  };
}

/**
 * `executePlan` with every read-back asynchronous: spatial tiles run one by one on the active
 * backend through the repo's tile kernel, are read with `await data()` and merged by
 * `mergeTileValues`, as the owner merges what the workers send.
 */
async function executePlanAsync(graph: ModelGraph, weights: ModelWeights, steps: readonly PlanStep[], input: Tensor): Promise<Tensor> {
  const values = new Map<number, Tensor>([[graph.inputId, input]]);
  const full = (id: number): Tensor3D => {
    const value = values.get(id);
    if (value === undefined) throw new Error(`node ${id} used before it is computed`);
    return value as Tensor3D;
  };
  const node = (id: number) => {
    const n = graph.nodes[id];
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  };
  for (const step of steps) {
    switch (step.kind) {
      case 'owner':
        for (const id of step.nodeIds) values.set(id, runWhole(tf, graph, weights, node(id), values, {}));
        break;
      case 'spatial': {
        const outputId = step.nodeIds[step.nodeIds.length - 1] as number;
        const tiles = [];
        for (const slice of step.slices) tiles.push({ slice, values: await read(runTileSlice(tf, graph, weights, slice, full)) });
        const shape = node(outputId).outputShape as [number, number, number];
        values.set(outputId, tf.tensor3d(mergeTileValues(shape, tiles), shape));
        break;
      }
      case 'fc': {
        const fcNode = node(step.nodeId);
        const x = await read(full(fcNode.inputs[0] as number));
        const y = new Float64Array(fcNode.outputShape.reduce((a, b) => a * b, 1));
        for (const worker of step.workers) addFcPartial(y, worker, runFcSlice(x, worker));
        values.set(step.nodeId, finishFc(tf, weights, fcNode, y));
        break;
      }
    }
  }
  return full(graph.outputId);
}

const equalDevices = (n: number): DeviceProfile[] => Array.from({ length: n }, (_, i) => ({
  id: i === 0 ? 'owner' : `w${i}`, aMsPerFlop: 1e-6, bMs: 0.5, bandwidthBytesPerMs: 5000, wakeMs: 5, memoryBytes: 2 ** 31,
}));

function stepsWords(steps: readonly PlanStep[]): string {
  const counts = new Map<string, number>();
  for (const s of steps) {
    const key = s.kind === 'spatial' ? `${s.scheme}×${s.slices.length}` : s.kind === 'fc' ? `fc:${s.scheme}` : 'owner';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
}

async function timeIt(runs: number, warmups: number, fn: () => Promise<void>, stopAtS = Number.POSITIVE_INFINITY): Promise<number[]> {
  for (let i = 0; i < warmups; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs && (i === 0 || elapsedS() < stopAtS); i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

function pushSpeed(what: string, backend: string, times: number[], note?: string): void {
  const row: SpeedRow = { what, backend, medianMs: round(median(times)), minMs: round(Math.min(...times)), runs: times.length };
  if (note !== undefined) row.note = note;
  results.speed.push(row);
  console.log(`speed: ${what} on ${backend}: median ${row.medianMs} ms (min ${row.minMs}, ${row.runs} runs)${note ? ` — ${note}` : ''}`);
  save();
}

const round = (x: number, digits = 3): number => Number(x.toPrecision(digits + 2));

// ---------------------------------------------------------------------------------------------
// The checks.

interface ModelCase { name: string; build: () => ZooModel; optional: boolean }
const MODELS: ModelCase[] = [
  { name: 'vgg16-small', build: () => buildVgg16({ inputSize: 32, widthMultiplier: 1 / 16, classes: 10 }), optional: false },
  { name: 'mobilenetv2', build: () => buildMobileNetV2({ inputSize: 33 }), optional: false },
  { name: 'vgg16-medium', build: () => buildVgg16({ inputSize: 112, widthMultiplier: 1 / 4, classes: 1000 }), optional: false },
  { name: 'vgg16-full', build: () => buildVgg16(), optional: true },
];
const SCHEMES: SpatialScheme[] = ['bodp', 'fused', 'grid'];
const DEVICES = 4;

async function checkModel(c: ModelCase, reference: Record<string, number[]>): Promise<void> {
  const t0 = performance.now();
  const zoo = c.build();
  const weights = zoo.weights();
  const graph = logitsGraph(zoo.graph);
  const [h, w, ch] = graph.nodes[graph.inputId]?.outputShape as [number, number, number];
  const rng = createRng(7);
  const pixels = Float32Array.from({ length: h * w * ch }, () => rng.next());
  console.log(`${c.name}: built with weights in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // Whole model on CPU: the reference (or taken from an earlier run's file for the big model).
  let cpu: Float32Array;
  const carried = reference[c.name];
  if (carried !== undefined && (c.optional || BACKEND === 'cpu')) {
    cpu = Float32Array.from(carried);
    note(`${c.name}: CPU logits taken from ${args.reference} (same seeded weights and input, computed by the same JS CPU kernels)`);
  } else {
    await useBackend('cpu');
    const t1 = performance.now();
    cpu = await scoped(async () => read(executeWhole(tf, graph, weights, tf.tensor3d(pixels, [h, w, ch]))));
    const ms = performance.now() - t1;
    pushSpeed(`${c.name} executeWhole (graph executor, weights uploaded per call)`, 'cpu', [ms], 'one run, the reference run');
    if (carried !== undefined) {
      const d = maxAbsDiff(cpu, carried);
      note(`${c.name}: CPU logits here vs ${args.reference}: max |Δ| = ${d}`);
    }
  }
  results.cpuLogits[c.name] = Array.from(cpu);
  save();
  if (args['only-reference']) return;

  await useBackend(BACKEND);
  const t2 = performance.now();
  const whole = await scoped(async () => read(executeWhole(tf, graph, weights, tf.tensor3d(pixels, [h, w, ch]))));
  results.exact.push({ model: c.name, check: 'whole', against: 'cpu whole', ...compare(whole, cpu), ms: round(performance.now() - t2) });
  if (BACKEND !== 'cpu') {
    const times = await timeIt(3, 0, async () => {
      await scoped(async () => void (await executeWhole(tf, graph, weights, tf.tensor3d(pixels, [h, w, ch])).data()));
    });
    pushSpeed(`${c.name} executeWhole (graph executor, weights uploaded per call)`, BACKEND, times, 'after the first (cold) run');
  }
  console.log(`${c.name}: whole on ${BACKEND} vs cpu: max |Δlogit| ${results.exact.at(-1)?.maxAbsLogit} (|logit| ≤ ${results.exact.at(-1)?.refMaxAbsLogit}), top-1 ${whole.length ? argmax(whole) : -1} vs ${argmax(cpu)}`);
  save();

  for (const scheme of SCHEMES) {
    if (remainingS() < 20) {
      note(`${c.name}: ${scheme} skipped, budget left ${remainingS().toFixed(0)} s`);
      continue;
    }
    const t3 = performance.now();
    const plan = planInference(graph, equalDevices(DEVICES), {
      spatialSchemes: [scheme], maxFusedDepth: scheme === 'fused' ? 8 : 1, allowOwnerOnly: false, excludeDevices: false,
      fcSchemes: ['outputSplit'], fcWeights: weights.sparse,
    });
    const steps = planSteps(plan);
    const tiles = steps.reduce((n, s) => n + (s.kind === 'spatial' ? s.slices.length : 0), 0);
    const distributed = await scoped(async () => read(await executePlanAsync(graph, weights, steps, tf.tensor3d(pixels, [h, w, ch]))));
    results.exact.push({
      model: c.name, check: scheme, against: `${BACKEND} whole`, ...compare(distributed, whole), steps: stepsWords(steps), tiles, ms: round(performance.now() - t3),
    });
    const row = results.exact.at(-1);
    console.log(`${c.name}: ${scheme} (${row?.steps}) on ${BACKEND} vs whole: max |Δlogit| ${row?.maxAbsLogit}, top-1 equal ${row?.top1Equal}`);
    save();
  }
}

const speedBackends = (): string[] => (BACKEND === 'cpu' ? ['cpu'] : [BACKEND, 'cpu']);

/** conv2d [1,56,56,128] × [3,3,128,128] 'same': VGG-16's conv2_2 at 112 input, conv3_x's map size at 224. */
async function speedConv(): Promise<void> {
  const flops = 2 * 56 * 56 * 128 * 128 * 9;
  for (const b of speedBackends()) {
    await useBackend(b);
    await scoped(async () => {
      const rng = createRng(11);
      const x = tf.tensor4d(Float32Array.from({ length: 56 * 56 * 128 }, () => rng.next()), [1, 56, 56, 128]);
      const k = tf.tensor4d(Float32Array.from({ length: 9 * 128 * 128 }, () => rng.next() - 0.5), [3, 3, 128, 128]);
      const times = await timeIt(b === 'cpu' ? 3 : 30, b === 'cpu' ? 0 : 3, async () => {
        const y = tf.conv2d(x, k, 1, 'same');
        await y.data();
        y.dispose();
      });
      pushSpeed('conv2d [1,56,56,128]×[3,3,128,128] same', b, times, `${round(flops / median(times) / 1e6)} GFLOP/s incl. read-back${b === 'cpu' ? ', no warm-up' : ''}`);
    });
  }
}

/** A zoo model through tf.LayersModel.predict (weights resident on the backend), input to read-back. */
async function speedModel(c: ModelCase, backends: string[]): Promise<void> {
  const zoo = c.build();
  const weights = zoo.weights();
  const [h, w, ch] = zoo.graph.nodes[zoo.graph.inputId]?.outputShape as [number, number, number];
  for (const b of backends) {
    const slow = b === 'cpu' && c.name === 'vgg16-full';
    if (remainingS() < (slow ? 200 : 15)) {
      note(`speed: ${c.name} predict on ${b} skipped, budget left ${remainingS().toFixed(0)} s`);
      continue;
    }
    await useBackend(b);
    const model = await toLayersModel(tf, zoo, weights);
    await scoped(async () => {
      const rng = createRng(13);
      const x = tf.tensor4d(Float32Array.from({ length: h * w * ch }, () => rng.next()), [1, h, w, ch]);
      const times = await timeIt(slow ? 1 : b === 'cpu' ? 3 : 10, b === 'cpu' ? 0 : 2, async () => {
        const y = model.predict(x) as Tensor;
        await y.data();
        y.dispose();
      }, budgetMs / 1000 - 10);
      pushSpeed(`${c.name} LayersModel.predict`, b, times, b === 'cpu' ? 'no warm-up' : '2 warm-ups');
    });
    model.dispose();
  }
}

async function attempt(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    note(`${what} FAILED: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  }
}

function table(): string {
  const lines = [
    `| model | check | against | max abs Δ logit | max abs logit | max abs Δ prob | top-1 | equal | plan | ms |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...results.exact.map((r) => `| ${r.model} | ${r.check} | ${r.against} | ${r.maxAbsLogit.toExponential(2)} | ${r.refMaxAbsLogit.toPrecision(3)} | ${r.maxAbsProb.toExponential(2)} | ${r.top1}/${r.refTop1} | ${r.top1Equal ? 'yes' : 'NO'} | ${r.steps ?? ''} | ${r.ms.toFixed(0)} |`),
    '',
    `| speed | backend | median ms | min ms | runs | note |`,
    `| --- | --- | --- | --- | --- | --- |`,
    ...results.speed.map((s) => `| ${s.what} | ${s.backend} | ${s.medianMs} | ${s.minMs} | ${s.runs} | ${s.note ?? ''} |`),
    '',
    ...results.notes.map((n) => `- ${n.split('\n')[0]}`),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  try {
    if (BACKEND === 'webgpu') await startWebGpu();
    await useBackend(BACKEND);
  } catch (error) {
    note(`${BACKEND} did not start: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exit(1);
  }
  results.activeBackend = tf.getBackend();
  console.log(`tf.getBackend() = ${results.activeBackend}; tfjs ${tf.version.tfjs}; node ${process.version}`);
  if (results.activeBackend !== BACKEND) throw new Error(`active backend is ${results.activeBackend}, not ${BACKEND}`);
  save();

  const reference = args.reference ? (JSON.parse(readFileSync(args.reference, 'utf8')) as Results).cpuLogits : {};
  const wanted = args.models?.split(',');
  const models = MODELS.filter((m) => (wanted ? wanted.includes(m.name) : !m.optional || args.full));
  // The must-haves first (small models, then the speeds), the full VGG-16 last, within the budget.
  for (const m of models.filter((m) => !m.optional)) await attempt(m.name, () => checkModel(m, reference));
  if (!args['only-reference']) {
    await attempt('speed conv2d', speedConv);
    const medium = models.find((m) => m.name === 'vgg16-medium');
    if (medium !== undefined) await attempt('speed vgg16-medium', () => speedModel(medium, speedBackends()));
  }
  for (const m of models.filter((m) => m.optional)) {
    if (remainingS() < 90 && !args['only-reference']) {
      note(`${m.name} skipped: budget left ${remainingS().toFixed(0)} s`);
      continue;
    }
    await attempt(m.name, () => checkModel(m, reference));
    // TF.js 'cpu' would take minutes per run of the full model: timed on the accelerated backend only.
    if (!args['only-reference'] && BACKEND !== 'cpu') {
      await attempt(`speed ${m.name}`, () => speedModel(m, args['speed-full-cpu'] ? [BACKEND, 'cpu'] : [BACKEND]));
    }
  }
  save();
  console.log(`\n${table()}\n\nelapsed ${elapsedS().toFixed(1)} s`);
  // Dawn keeps Node alive while a device exists; the results are written.
  process.exit(0);
}

await main();
