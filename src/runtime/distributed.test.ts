/**
 * The runtime over real message links (in-memory transports, the same code as over WebRTC):
 * owner + 3 workers, every scheme, distributed == owner alone; and nothing lost when a worker
 * hangs or leaves mid-inference.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageLink, memoryTransportPair } from '../mesh/index.ts';
import { contentHash, packModel, packRunnable, type ModelArtifactsLike, type Tensor3D } from '../model/index.ts';
import { planInference, type DeviceProfile, type PlannerOptions } from '../partition/index.ts';
import { executeWhole } from './local-executor.ts';
import { OwnerRuntime, type WorkerPort } from './owner-runtime.ts';
import { RuntimeMethod, type ModelSpec } from './protocol.ts';
import { WorkerExecutor, loadPackage, resolveZooModel, type LoadedModel } from './worker-executor.ts';

// Slow phones on a fast link, so that distributing pays and the planner's own choice distributes too.
const profile = (id: string): DeviceProfile => ({ id, aMsPerFlop: 1e-4, bMs: 0.5, bandwidthBytesPerMs: 100_000, wakeMs: 1, memoryBytes: 1e9 });
type ZooSpec = Extract<ModelSpec, { kind: 'zoo' }>;
const DEVICES = [profile('owner'), profile('w1'), profile('w2'), profile('w3')];

interface Mesh {
  ports: Map<string, WorkerPort>;
  executors: WorkerExecutor[];
  workerLinks: MessageLink[];
  ownerLinks: MessageLink[];
}

function connectWorkers(ids: string[]): Mesh {
  const mesh: Mesh = { ports: new Map(), executors: [], workerLinks: [], ownerLinks: [] };
  for (const id of ids) {
    const [ownerSide, workerSide] = memoryTransportPair();
    const ownerLink = new MessageLink(ownerSide);
    const workerLink = new MessageLink(workerSide);
    const executor = new WorkerExecutor({ tf });
    workerLink.setRequestHandler(executor.handle);
    mesh.ports.set(id, { id, request: (meta, tensors, options) => ownerLink.request(meta, tensors, options) });
    mesh.executors.push(executor);
    mesh.workerLinks.push(workerLink);
    mesh.ownerLinks.push(ownerLink);
  }
  return mesh;
}

function argmax(values: Float32Array): number {
  return values.reduce((best, v, i) => (v > (values[best] as number) ? i : best), 0);
}

const cases: { name: string; spec: ZooSpec; options: PlannerOptions }[] = [
  { name: 'VGG-16 (1/16 width, 32×32), BODP per layer + MSCC/FGCP', spec: { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } }, options: { spatialSchemes: ['bodp'], fcSchemes: ['msccFgcp'], allowOwnerOnly: false, excludeDevices: false } },
  { name: 'VGG-16 (1/16 width, 32×32), fused blocks + output split', spec: { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } }, options: { spatialSchemes: ['fused'], fcSchemes: ['outputSplit'], allowOwnerOnly: false, excludeDevices: false } },
  { name: 'VGG-16 (1/16 width, 32×32), 2D grid', spec: { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } }, options: { spatialSchemes: ['grid'], allowOwnerOnly: false, excludeDevices: false } },
  { name: 'MobileNetV2-style (residual, depthwise), the planner’s choice', spec: { kind: 'zoo', name: 'mobilenetv2', options: { inputSize: 33 } }, options: { excludeDevices: false } },
  { name: 'MobileNetV2-style, fused residual blocks forced', spec: { kind: 'zoo', name: 'mobilenetv2', options: { inputSize: 33 } }, options: { spatialSchemes: ['fused'], allowOwnerOnly: false, excludeDevices: false } },
];

const models = new Map<string, LoadedModel>();
async function modelFor(spec: ZooSpec): Promise<LoadedModel> {
  const key = JSON.stringify(spec);
  if (!models.has(key)) models.set(key, await resolveZooModel(spec));
  return models.get(key) as LoadedModel;
}

function imageFor(model: LoadedModel): Tensor3D {
  const [h, w, c] = model.graph.nodes[model.graph.inputId]?.outputShape as [number, number, number];
  return tf.randomUniform<tf.Rank.R3>([h, w, c], 0, 1, 'float32', 7);
}

/** Owner + 3 workers ready to run case `index`'s plan (model loaded, FC slices installed). */
async function preparedCase(index: number, deadline?: { factor: number; marginMs: number }) {
  const { spec, options } = cases[index] as (typeof cases)[number];
  const model = await modelFor(spec);
  const plan = planInference(model.graph, DEVICES, { ...options, fcWeights: model.weights.sparse });
  const mesh = connectWorkers(['w1', 'w2', 'w3']);
  const runtime = new OwnerRuntime({ tf, spec, model, ...(deadline ? { deadline } : {}) });
  await runtime.prepare(plan, mesh.ports);
  return { model, plan, mesh, runtime };
}

/** Largest |distributed − owner alone| over the output. */
function maxDiffFromAlone(model: LoadedModel, image: Tensor3D, result: { output: Float32Array; shape: number[] }): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(executeWhole(tf, model.graph, model.weights, image), tf.tensor(result.output, result.shape)))).dataSync()[0] as number);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => models.clear());

describe('OwnerRuntime + WorkerExecutor over message links (owner + 3 workers)', () => {
  it.each(cases)('$name: distributed output == owner alone', async ({ spec, options }) => {
    const model = await modelFor(spec);
    const plan = planInference(model.graph, DEVICES, { ...options, fcWeights: model.weights.sparse });
    expect(plan.steps.some((s) => s.step.kind !== 'owner')).toBe(true);
    const mesh = connectWorkers(['w1', 'w2', 'w3']);
    const runtime = new OwnerRuntime({ tf, spec, model });
    expect(await runtime.prepare(plan, mesh.ports)).toEqual([]);
    const image = imageFor(model);
    const result = await runtime.infer(plan, mesh.ports, image);
    const alone = executeWhole(tf, model.graph, model.weights, image);
    const expected = (await alone.data()) as Float32Array;
    alone.dispose();
    image.dispose();

    let maxDiff = 0;
    expected.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - (result.output[i] as number)))));
    expect(maxDiff).toBeLessThan(1e-4);
    expect(argmax(result.output)).toBe(argmax(expected));
    expect(result.failed).toEqual([]);
    // Every worker did real work, and the trace says so.
    for (const executor of mesh.executors) expect(executor.stats.tasks).toBeGreaterThan(0);
    expect(result.trace.filter((t) => t.device > 0 && t.outcome === 'ok').length).toBeGreaterThan(0);
  });

  it('a worker that hangs: its share is computed by the owner after the deadline, the answer is right, it gets no more work', async () => {
    const { model, plan, mesh, runtime } = await preparedCase(0, { factor: 1, marginMs: 300 });
    // w2 stops answering compute tasks (a hung phone): requests arrive, replies never come.
    const hung = mesh.executors[1] as WorkerExecutor;
    (mesh.workerLinks[1] as MessageLink).setRequestHandler((request) => {
      const method = (request.meta as { method: string }).method;
      return method === RuntimeMethod.Spatial || method === RuntimeMethod.Fc ? new Promise(() => {}) : hung.handle(request);
    });
    const image = imageFor(model);
    const result = await runtime.infer(plan, mesh.ports, image);
    expect(maxDiffFromAlone(model, image, result)).toBeLessThan(1e-4);
    expect(result.failed.map((f) => f.deviceId)).toEqual(['w2']);
    const w2Tasks = result.trace.filter((t) => t.deviceId === 'w2');
    expect(w2Tasks.filter((t) => t.outcome === 'local-fallback' && t.error?.includes('no response'))).toHaveLength(1);
    // After the timeout, w2's later shares go straight to the owner: no second wait.
    expect(w2Tasks.filter((t) => t.outcome === 'ok')).toHaveLength(0);
    expect(w2Tasks.filter((t) => t.outcome === 'local-fallback').length).toBeGreaterThan(1);
    image.dispose();
  });

  it('a worker that leaves in the middle of an inference: the answer is still right', async () => {
    const { model, plan, mesh, runtime } = await preparedCase(1);
    // w3 closes its link as soon as its first task arrives.
    const leaver = mesh.executors[2] as WorkerExecutor;
    (mesh.workerLinks[2] as MessageLink).setRequestHandler((request) => {
      if ((request.meta as { method: string }).method === RuntimeMethod.Spatial) (mesh.workerLinks[2] as MessageLink).destroy();
      return leaver.handle(request);
    });
    const image = imageFor(model);
    const result = await runtime.infer(plan, mesh.ports, image);
    expect(maxDiffFromAlone(model, image, result)).toBeLessThan(1e-4);
    expect(result.failed.map((f) => f.deviceId)).toEqual(['w3']);
    image.dispose();
  });

  it('a worker that returns NaN or infinity in a result no check picks: refused, its share computed here, the answer right', async () => {
    const { model, plan, mesh, runtime } = await preparedCase(0);
    const broken = mesh.executors[0] as WorkerExecutor;
    (mesh.workerLinks[0] as MessageLink).setRequestHandler(async (request) => {
      const reply = await broken.handle(request);
      const values = reply.tensors?.[0]?.data;
      if (values instanceof Float32Array && values.length > 1) values[values.length - 1] = (request.meta as { method: string }).method === RuntimeMethod.Fc ? Infinity : Number.NaN;
      return reply;
    });
    const image = imageFor(model);
    const result = await runtime.infer(plan, mesh.ports, image);
    expect(maxDiffFromAlone(model, image, result)).toBeLessThan(1e-4);
    expect(result.failed).toEqual([{ deviceId: 'w1', reason: expect.stringMatching(/NaN or infinite/) as unknown }]);
    image.dispose();
  });

  it('leaks no tensors on the owner or the workers over repeated inferences', async () => {
    const { model, plan, mesh, runtime } = await preparedCase(0);
    const image = imageFor(model);
    await runtime.infer(plan, mesh.ports, image); // warm-up: backend-internal allocations
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await runtime.infer(plan, mesh.ports, image);
    expect(tf.memory().numTensors).toBe(before);
    image.dispose();
  });
});

/** The committed clothing classifier (public/models/clothing) as the app loads a model: a package. */
function clothingArtifacts(): ModelArtifactsLike {
  const dir = join(import.meta.dirname, '../../public/models/clothing');
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: Record<string, unknown>;
    weightsManifest: { paths: string[]; weights: ModelArtifactsLike['weightSpecs'] }[];
  };
  const weightData = json.weightsManifest.flatMap((g) => g.paths).map((p) => {
    const bytes = readFileSync(join(dir, p));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  });
  return { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData };
}

describe('the trained clothing classifier, distributed (owner + 3 workers)', () => {
  const fixtures = (JSON.parse(readFileSync(join(import.meta.dirname, '../model/testdata/fashion-mnist-samples.json'), 'utf8')) as {
    samples: { index: number; label: number; pixelsBase64: string }[];
  }).samples;
  const image = (pixelsBase64: string): Tensor3D =>
    tf.tidy(() => tf.div(tf.tensor3d(Uint8Array.from(Buffer.from(pixelsBase64, 'base64')), [28, 28, 1], 'int32').toFloat(), 255));
  const schemes: [string, PlannerOptions][] = [
    ['bodp', { spatialSchemes: ['bodp'], maxFusedDepth: 1 }],
    ['grid', { spatialSchemes: ['grid'], maxFusedDepth: 1 }],
    ['fused', { spatialSchemes: ['fused'] }],
  ];
  let loaded: Promise<LoadedModel> | undefined;

  it.each(schemes)('%s + MSCC/FGCP on the pruned Dense layers: same class and outputs as the owner alone', async (scheme, options) => {
    loaded ??= loadPackage(tf, packModel(clothingArtifacts()));
    const model = await loaded;
    expect(model.weights.sparse.size).toBeGreaterThanOrEqual(2);
    const bytes = packRunnable(model.graph, model.weights);
    const spec: ModelSpec = { kind: 'package', hash: await contentHash(bytes), bytes: bytes.byteLength };
    const plan = planInference(model.graph, DEVICES, {
      ...options, fcSchemes: ['msccFgcp'], allowOwnerOnly: false, excludeDevices: false, fcWeights: model.weights.sparse,
    });
    // The convolutions run under the scheme asked for, and the pruned FC layers are really split
    // by MSCC + FGCP across devices, not left on the owner.
    expect(plan.steps.some((s) => s.step.kind === 'spatial' && s.step.scheme === scheme)).toBe(true);
    const fc = plan.steps.flatMap((s) => (s.step.kind === 'fc' ? [s.step] : []));
    expect(fc.filter((step) => step.scheme === 'msccFgcp' && step.workers.length > 1).length).toBeGreaterThanOrEqual(2);
    const mesh = connectWorkers(['w1', 'w2', 'w3']);
    const runtime = new OwnerRuntime({ tf, spec, model, packageBytes: bytes });
    expect(await runtime.prepare(plan, mesh.ports)).toEqual([]);
    for (const sample of fixtures.slice(0, 4)) {
      const x = image(sample.pixelsBase64);
      const result = await runtime.infer(plan, mesh.ports, x);
      expect(result.failed).toEqual([]);
      expect(maxDiffFromAlone(model, x, result)).toBeLessThan(1e-4);
      expect(argmax(result.output)).toBe(sample.label);
      x.dispose();
    }
    for (const executor of mesh.executors) expect(executor.stats.tasks).toBeGreaterThan(0);
  }, 60_000);
});
