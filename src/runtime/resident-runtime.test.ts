/**
 * Resident strips and compact activations over real message links (in-memory transports, the
 * same code as over WebRTC): owner + 3 workers whose halos go worker↔worker directly; answers
 * equal the owner alone (exactly for float32, top-1 and a bounded logit difference for float16
 * and 8-bit); a worker lost mid-run still yields the answer.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { planInference, residentRun, type DeviceProfile, type Plan, type PlannerOptions, type ResidentStep } from '../partition/index.ts';
import { executePlan, executeWhole } from './local-executor.ts';
import { OwnerRuntime, type InferenceResult, type WorkerPort } from './owner-runtime.ts';
import { RuntimeMethod, type ModelSpec } from './protocol.ts';
import { HaloMailbox, letterBytes, residentProgram, type HaloLetter } from './resident.ts';
import { testMesh } from './test-mesh.ts';
import { residentMisfit, resolveZooModel, type LoadedModel } from './worker-executor.ts';
import type { Tensor3D } from '../model/index.ts';

const spec: Extract<ModelSpec, { kind: 'zoo' }> = { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } };
const profile = (id: string): DeviceProfile => ({ id, aMsPerFlop: 1e-4, bMs: 0.5, bandwidthBytesPerMs: 100_000, wakeMs: 1, memoryBytes: 1e9 });
const DEVICES = [profile('owner'), profile('w1'), profile('w2'), profile('w3')];
const RESIDENT: PlannerOptions = { spatialSchemes: ['resident'], peerLinks: true, fcSchemes: ['outputSplit'], allowOwnerOnly: false, excludeDevices: false };

let model: LoadedModel;
let image: Tensor3D;
let alone: Float32Array;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await resolveZooModel(spec);
  image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 11);
  alone = tf.tidy(() => executeWhole(tf, model.graph, model.weights, image).dataSync() as Float32Array);
}, 60_000);

function portsOf(mesh: ReturnType<typeof testMesh>, ids: string[], wrap?: (id: string, port: WorkerPort) => WorkerPort): Map<string, WorkerPort> {
  return new Map(ids.map((id) => {
    const port: WorkerPort = { id, request: (meta, tensors, options) => mesh.request(id, meta, tensors, options) };
    return [id, wrap ? wrap(id, port) : port];
  }));
}

async function run(options: PlannerOptions, meshOptions: Parameters<typeof testMesh>[2] = {}, wrap?: (id: string, port: WorkerPort) => WorkerPort): Promise<{ plan: Plan; result: InferenceResult; mesh: ReturnType<typeof testMesh>; runtime: OwnerRuntime }> {
  const plan = planInference(model.graph, DEVICES, { ...options, fcWeights: model.weights.sparse });
  const ids = ['w1', 'w2', 'w3'];
  const mesh = testMesh(tf, ids, meshOptions);
  const ports = portsOf(mesh, ids, wrap);
  const runtime = new OwnerRuntime({ tf, spec, model });
  await runtime.prepare(plan, ports);
  const result = await runtime.infer(plan, ports, image);
  return { plan, result, mesh, runtime };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
const argmax = (values: Float32Array): number => values.reduce((best, v, i) => (v > (values[best] as number) ? i : best), 0);
const residentSteps = (plan: Plan): ResidentStep[] => plan.steps.map((s) => s.step).filter((s): s is ResidentStep => s.kind === 'resident');

describe('resident strips over the mesh', () => {
  it('keeps strips on the devices, swaps halos worker↔worker, and equals the owner alone', async () => {
    const { plan, result, mesh } = await run(RESIDENT);
    const steps = residentSteps(plan);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.some((s) => s.devices.length === 4)).toBe(true);
    expect(result.failed).toEqual([]);
    expect(maxAbsDiff(result.output, alone)).toBeLessThan(1e-4);
    // The reference executor runs the same plan layer by layer: the same answer again.
    const reference = tf.tidy(() => executePlan(tf, model.graph, model.weights, plan.steps.map((s) => s.step), image).dataSync() as Float32Array);
    expect(maxAbsDiff(reference, alone)).toBeLessThan(1e-4);
    const executors = [...mesh.executors.values()];
    expect(executors.reduce((n, e) => n + e.stats.halosToPeers, 0)).toBeGreaterThan(0);
    expect(executors.reduce((n, e) => n + e.stats.halosToPeers, 0)).toBe(executors.reduce((n, e) => n + e.stats.halosFromPeers, 0));
    const entries = result.trace.filter((t) => t.kind === 'resident');
    expect(new Set(entries.map((t) => t.deviceId))).toEqual(new Set(['owner', 'w1', 'w2', 'w3']));
    expect(entries.filter((t) => t.device !== 0).every((t) => (t.peerBytes ?? 0) > 0 || t.bytesOut > 0)).toBe(true);
    // Each strip says how long it waited for halos, within its compute window (the classifier takes it out of the device's speed).
    for (const t of entries) expect(t.haloWaitMs).toBeGreaterThanOrEqual(0);
    for (const t of entries) expect(t.haloWaitMs as number).toBeLessThanOrEqual(t.computeMs as number);
  }, 60_000);

  it('moves fewer bytes through the owner than per-layer BODP on the same layers', async () => {
    const bodp = await run({ spatialSchemes: ['bodp'], fcSchemes: ['outputSplit'], allowOwnerOnly: false, excludeDevices: false });
    const resident = await run(RESIDENT);
    const ownerBytes = (r: InferenceResult) => r.trace.reduce((n, t) => n + t.bytesOut + t.bytesIn, 0);
    expect(ownerBytes(resident.result)).toBeLessThan(ownerBytes(bodp.result) / 2);
  }, 60_000);

  it('runs as fused blocks over the same rows when workers cannot link to each other', async () => {
    const { plan, result, runtime } = await run(RESIDENT, { noPeerLinks: true });
    expect(runtime.residentFallback(plan)).toMatch(/direct links between workers did not come up/);
    expect(result.trace.some((t) => t.kind === 'resident')).toBe(false);
    expect(result.failed).toEqual([]);
    expect(maxAbsDiff(result.output, alone)).toBeLessThan(1e-4);
  }, 60_000);

  it('a worker lost in the middle of a resident run: the run is redone without it and the answer stays exact', async () => {
    let dropped = false;
    const { result } = await run(RESIDENT, {}, (id, port) => ({
      ...port,
      request: (meta, tensors, options) => {
        const method = (meta as { method?: string }).method;
        // w2's link dies once it has its first strip: the owner never hears back from it again.
        if (id === 'w2' && (dropped || method === RuntimeMethod.Resident)) {
          if (method === RuntimeMethod.Resident && !dropped) {
            dropped = true;
            void port.request(meta, tensors, options).catch(() => {});
          }
          return Promise.reject(new Error('the link to w2 closed'));
        }
        return port.request(meta, tensors, options);
      },
    }));
    expect(dropped).toBe(true);
    expect(result.failed.map((f) => f.deviceId)).toEqual(['w2']);
    expect(result.trace.some((t) => t.outcome === 'local-fallback' && t.deviceId === 'w2')).toBe(true);
    expect(maxAbsDiff(result.output, alone)).toBeLessThan(1e-4);
  }, 60_000);
});

describe('compact activations on the wire', () => {
  for (const wire of ['float16', 'int8'] as const) {
    for (const scheme of ['fused', 'resident'] as const) {
      it(`${scheme} with ${wire}: same top-1 as the owner alone, logits within the stated bound, fewer bytes`, async () => {
        const base: PlannerOptions = scheme === 'resident' ? RESIDENT : { spatialSchemes: ['fused'], fcSchemes: ['outputSplit'], allowOwnerOnly: false, excludeDevices: false };
        const exact = await run(base);
        const compact = await run({ ...base, wire });
        expect(compact.plan.steps.some(({ step }) => (step.kind === 'spatial' || step.kind === 'resident') && step.wire === wire)).toBe(true);
        expect(argmax(compact.result.output)).toBe(argmax(alone));
        const scale = Math.max(...alone.map(Math.abs));
        // float16 keeps ~3 significant digits per hop, 8 bits ~2: a few hops stay within these.
        expect(maxAbsDiff(compact.result.output, alone)).toBeLessThan((wire === 'float16' ? 0.01 : 0.1) * scale);
        // The split convolutions' bytes: Dense layers stay float32.
        const bytes = (r: InferenceResult) => r.trace.filter((t) => t.kind !== 'fc').reduce((n, t) => n + t.bytesOut + t.bytesIn + (t.peerBytes ?? 0), 0);
        expect(bytes(compact.result)).toBeLessThan(bytes(exact.result) * (wire === 'float16' ? 0.6 : 0.4));
      }, 60_000);
    }
  }

  it('result checks on compact tiles pass honest workers', async () => {
    const plan = planInference(model.graph, DEVICES, { spatialSchemes: ['fused', 'bodp'], fcSchemes: ['outputSplit'], allowOwnerOnly: false, excludeDevices: false, wire: 'int8', fcWeights: model.weights.sparse });
    const mesh = testMesh(tf, ['w1', 'w2', 'w3']);
    const ports = portsOf(mesh, ['w1', 'w2', 'w3']);
    const runtime = new OwnerRuntime({ tf, spec, model });
    await runtime.prepare(plan, ports);
    const result = await runtime.infer(plan, ports, image, { verify: { fraction: 1, budget: 10 } });
    expect(result.verification.checked).toBeGreaterThan(0);
    expect(result.verification.mismatches).toEqual([]);
    expect(result.wrong).toEqual([]);
  }, 60_000);
});

describe('what a worker accepts of a resident run', () => {
  it("refuses a program that is not the partitioner's geometry", () => {
    const step = residentRun(model.graph, [1, 2], [0, 1, 2], [1, 1, 1]);
    const program = residentProgram(step, 1);
    expect(residentMisfit(model.graph, program)).toBeNull();
    const shifted = structuredClone(program);
    (shifted.layers[0] as unknown as { node: { out: { rows: { start: number } } } }).node.out.rows.start += 1;
    expect(residentMisfit(model.graph, shifted)).toMatch(/layer 0/);
    const unchained = structuredClone(program);
    (unchained.layers[1] as unknown as { node: { inputs: { producerId: number }[] } }).node.inputs[0]!.producerId = 0;
    expect(residentMisfit(model.graph, unchained)).toMatch(/does not read the layer before/);
    const stranger = structuredClone(program);
    stranger.layers[0]!.halosOut.push({ to: 2, rows: { start: 0, end: 40 } });
    expect(residentMisfit(model.graph, stranger)).toMatch(/sends rows it does not compute/);
  });
});

describe('the halo mailbox', () => {
  const letter = (sender: string) => ({ sender, rows: { start: 0, end: 0 }, values: new Float32Array(1), shape: [1, 1, 1] as [number, number, number] });

  it('keeps a halo that arrives before its run asks, and hands it over once', async () => {
    const box = new HaloMailbox<HaloLetter>(letterBytes);
    expect(box.put({ runId: 'r', layer: 1, from: 2, sender: 'w2' }, letter('w2'))).toBe(true);
    expect(box.put({ runId: 'r', layer: 1, from: 2, sender: 'w2' }, letter('w2'))).toBe(false);
    await expect(box.take({ runId: 'r', layer: 1, from: 2, sender: 'w2' })).resolves.toMatchObject({ sender: 'w2' });
    expect(box.held).toBe(0);
  });

  it("does not let one run member's forged rows take another device's place", async () => {
    const box = new HaloMailbox<HaloLetter>(letterBytes);
    // w3 claims to be device 2 before device 2's own rows arrive.
    expect(box.put({ runId: 'r', layer: 1, from: 2, sender: 'w3' }, letter('w3'))).toBe(true);
    const waiting = box.take({ runId: 'r', layer: 1, from: 2, sender: 'w2' });
    expect(box.put({ runId: 'r', layer: 1, from: 2, sender: 'w2' }, letter('w2'))).toBe(true);
    await expect(waiting).resolves.toMatchObject({ sender: 'w2' });
  });

  it('bounds what waits, drops stale halos, and ends waits when the run is cancelled', async () => {
    let now = 0;
    const box = new HaloMailbox<HaloLetter>(letterBytes, { letters: 2, bytes: 1024, keepMs: 100, waitMs: 60_000 }, () => now);
    expect(box.put({ runId: 'a', layer: 1, from: 1, sender: 'x' }, letter('x'))).toBe(true);
    expect(box.put({ runId: 'a', layer: 2, from: 1, sender: 'x' }, letter('x'))).toBe(true);
    expect(box.put({ runId: 'a', layer: 3, from: 1, sender: 'x' }, letter('x'))).toBe(false);
    now = 1_000;
    expect(box.put({ runId: 'b', layer: 1, from: 1, sender: 'x' }, letter('x'))).toBe(true);
    expect(box.held).toBe(1);
    const waiting = box.take({ runId: 'c', layer: 1, from: 3, sender: 'x' });
    box.cancel('c', 'device 3 failed');
    await expect(waiting).rejects.toThrow(/device 3 failed/);
    expect(box.put({ runId: 'c', layer: 1, from: 3, sender: 'x' }, letter('x'))).toBe(false);
    // Bytes are capped as well as letters, and freed as halos are taken.
    expect(box.put({ runId: 'd', layer: 1, from: 1, sender: 'x' }, { ...letter('x'), values: new Float32Array(300) })).toBe(false);
    expect(box.put({ runId: 'd', layer: 1, from: 1, sender: 'x' }, { ...letter('x'), values: new Float32Array(200) })).toBe(true);
    expect(box.bytes).toBe(804);
    await box.take({ runId: 'd', layer: 1, from: 1, sender: 'x' });
    expect(box.bytes).toBe(4);
  });
});

describe('many images through the classifier', () => {
  const images = (n: number) => Array.from({ length: n }, (_, i) => () => tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 100 + i));
  const answersAlone = (n: number) => images(n).map((load) => tf.tidy(() => executeWhole(tf, model.graph, model.weights, load()).dataSync() as Float32Array));

  for (const mode of ['pipeline', 'spread'] as const) {
    it(`${mode}: every image gets the owner-alone answer, reported once, and the summary counts them`, async () => {
      const { Classifier } = await import('./classifier.ts');
      const classifier = new Classifier({ tf, mesh: testMesh(tf, ['w1', 'w2', 'w3']), spec, model, ownerProfile: { aMsPerFlop: 1e-5, bMs: 0.1 } });
      const expected = answersAlone(6);
      const seen = new Map<number, { devices: string[]; logits: Float32Array }>();
      const summary = await classifier.classifyMany(images(6), {
        mode,
        inFlight: 3,
        verify: false,
        onImage: (index, outcome) => {
          expect(seen.has(index)).toBe(false);
          if (!outcome.ok) throw outcome.error;
          seen.set(index, { devices: outcome.result.devices, logits: outcome.result.logits });
        },
      });
      expect(summary).toMatchObject({ images: 6, done: 6, failed: 0, inFlight: mode === 'spread' ? 4 : 3 });
      expect(summary.imagesPerSecond).toBeGreaterThan(0);
      for (const [index, { logits }] of seen) expect(maxAbsDiff(logits, expected[index] as Float32Array)).toBeLessThan(1e-4);
      if (mode === 'spread') {
        // Each image ran on one device: the owner alone, or one worker (with the owner's Dense layers).
        for (const { devices } of seen.values()) expect(devices.length).toBeLessThanOrEqual(2);
        expect(new Set([...seen.values()].map((s) => s.devices.join())).size).toBeGreaterThan(1);
      }
    }, 60_000);
  }
});
