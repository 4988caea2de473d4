/**
 * Result verification over the in-memory mesh (real WorkerExecutors on message links): honest
 * workers pass every check whatever the scheme (float reorderings are not mistaken for lies); a
 * worker that perturbs what it returns is caught, evicted, and the answer is still the owner's own;
 * the per-image budget caps the owner's checking work.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage, WireTensor } from '../mesh/index.ts';
import { keptWeightTensorCount } from '../model/index.ts';
import { planInference, type DeviceProfile } from '../partition/index.ts';
import { Classifier, type Classification, type ClassifyOptions, type OwnerMeshLike } from './classifier.ts';
import { executeWhole } from './local-executor.ts';
import { OwnerRuntime, type WorkerPort } from './owner-runtime.ts';
import { RuntimeMethod, type ModelSpec } from './protocol.ts';
import { testMesh } from './test-mesh.ts';
import { resolveZooModel, type LoadedModel } from './worker-executor.ts';

type ZooSpec = Extract<ModelSpec, { kind: 'zoo' }>;
const vgg: ZooSpec = { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } };
const mobileNet: ZooSpec = { kind: 'zoo', name: 'mobilenetv2', options: { inputSize: 33 } };
const OWNER_PROFILE = { aMsPerFlop: 1e-5, bMs: 0.1 };
const EVERY_RESULT = { fraction: 1, budget: 10, seed: 1 } as const;

const models = new Map<string, LoadedModel>();
async function modelFor(spec: ZooSpec): Promise<LoadedModel> {
  const key = JSON.stringify(spec);
  if (!models.has(key)) models.set(key, await resolveZooModel(spec));
  return models.get(key) as LoadedModel;
}

const isCompute = (meta: unknown): boolean => {
  const method = (meta as { method?: string } | null)?.method;
  return method === RuntimeMethod.Spatial || method === RuntimeMethod.Fc;
};

/** A copy of a float tensor with every value moved by 0.5 + 10% (what a broken or hostile phone might send). */
function perturbed(t: WireTensor): WireTensor {
  if (t.dtype !== 'float32') return t;
  return { ...t, data: Float32Array.from(t.data, (v) => v * 1.1 + 0.5) };
}

/**
 * The test mesh, with `liar`'s compute replies perturbed on their way back (from its `lieFrom`-th
 * compute reply on), and every eviction recorded.
 */
function meshWithLiar(ids: string[], liar: string | null, lieFrom = 0): OwnerMeshLike & { removed: { peerId: string; reason: string }[]; computeRequests: { peerId: string; meta: unknown }[] } {
  const inner = testMesh(tf, ids);
  const removed: { peerId: string; reason: string }[] = [];
  const computeRequests: { peerId: string; meta: unknown }[] = [];
  let replies = 0;
  return {
    removed,
    computeRequests,
    readyPeers: () => inner.readyPeers().filter((p) => !removed.some((r) => r.peerId === p.peerId)),
    block: (peerId, reason) => removed.push({ peerId, reason }),
    request: async (peerId, meta, tensors, options): Promise<IncomingMessage> => {
      if (isCompute(meta)) computeRequests.push({ peerId, meta });
      const reply = await inner.request(peerId, meta, tensors, options);
      if (peerId !== liar || !isCompute(meta) || replies++ < lieFrom) return reply;
      return { ...reply, tensors: reply.tensors.map(perturbed) };
    },
  };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

async function classifyWith(spec: ZooSpec, mesh: OwnerMeshLike, options: ClassifyOptions, seed = 5): Promise<{ mesh: Classification; alone: Classification }> {
  const model = await modelFor(spec);
  const classifier = new Classifier({ tf, mesh, spec, model, ownerProfile: OWNER_PROFILE });
  const [h, w, c] = classifier.inputShape;
  const image = tf.randomUniform<tf.Rank.R3>([h, w, c], 0, 1, 'float32', seed);
  try {
    const alone = await classifier.classify(image, { scheme: 'owner' });
    return { mesh: await classifier.classify(image, options), alone };
  } finally {
    image.dispose();
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('result verification, honest workers', () => {
  const schemes: [string, ZooSpec, ClassifyOptions][] = [
    ['VGG-16 BODP + MSCC/FGCP', vgg, { scheme: 'bodp' }],
    ['VGG-16 fused + output split', vgg, { scheme: 'fused' }],
    ['VGG-16 2D grid', vgg, { scheme: 'grid' }],
    ['MobileNetV2-style fused residual blocks', mobileNet, { scheme: 'fused' }],
  ];
  it.each(schemes)('%s, every result checked: all pass, nobody is evicted, the answer is the owner’s', async (_name, spec, options) => {
    const mesh = meshWithLiar(['w1', 'w2', 'w3'], null);
    const { mesh: c, alone } = await classifyWith(spec, mesh, { ...options, verify: EVERY_RESULT });
    const v = c.result.verification;
    expect(v.results).toBeGreaterThan(0);
    expect(v.checked).toBe(v.results);
    expect(v.mismatches).toEqual([]);
    expect(v.flops).toBeGreaterThan(0);
    expect(c.evicted).toEqual([]);
    expect(c.result.failed).toEqual([]);
    expect(mesh.removed).toEqual([]);
    expect(maxDiff(c.logits, alone.logits)).toBeLessThan(1e-4);
  });

  it('the default checks about one result in ten within a tenth of the image’s FLOPs; verify: false checks none', async () => {
    const mesh = meshWithLiar(['w1', 'w2', 'w3'], null);
    const model = await modelFor(vgg);
    const classifier = new Classifier({ tf, mesh, spec: vgg, model, ownerProfile: OWNER_PROFILE });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 3);
    let checked = 0;
    let results = 0;
    for (let i = 0; i < 8; i++) {
      const c = await classifier.classify(image, { scheme: 'bodp', verify: { seed: i } });
      expect(c.result.verification.flops).toBeLessThanOrEqual(0.1 * c.result.verification.imageFlops);
      checked += c.result.verification.checked;
      results += c.result.verification.results;
    }
    const off = await classifier.classify(image, { scheme: 'bodp', verify: false });
    image.dispose();
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThan(results / 2);
    expect(off.result.verification.checked).toBe(0);
    expect(off.result.verification.results).toBeGreaterThan(0);
  });

  it('bad verify settings are refused with the reason', async () => {
    const mesh = meshWithLiar(['w1'], null);
    const model = await modelFor(vgg);
    const classifier = new Classifier({ tf, mesh, spec: vgg, model, ownerProfile: OWNER_PROFILE });
    const image = tf.zeros<tf.Rank.R3>([32, 32, 3]);
    await expect(classifier.classify(image, { scheme: 'bodp', verify: { fraction: 2 } })).rejects.toThrow(/verify\.fraction is a chance between 0 and 1, not 2/);
    await expect(classifier.classify(image, { scheme: 'bodp', verify: { budget: Number.NaN } })).rejects.toThrow(/verify\.budget/);
    image.dispose();
  });
});

describe('result verification, a worker that perturbs its results', () => {
  it('unchecked, its lies change the answer (what the checks are for)', async () => {
    const { mesh: c, alone } = await classifyWith(vgg, meshWithLiar(['w1', 'w2', 'w3'], 'w2'), { scheme: 'bodp', verify: false });
    expect(maxDiff(c.logits, alone.logits)).toBeGreaterThan(1e-2);
    expect(c.evicted).toEqual([]);
  });

  it.each([
    ['BODP + MSCC/FGCP', { scheme: 'bodp' }],
    ['fused + output split', { scheme: 'fused' }],
    ['2D grid', { scheme: 'grid' }],
  ] as [string, ClassifyOptions][])('%s, every result checked: caught, evicted through the mesh with the numbers, the answer equals the owner alone, and it gets no more work', async (_name, options) => {
    const mesh = meshWithLiar(['w1', 'w2', 'w3'], 'w2');
    const { mesh: c, alone } = await classifyWith(vgg, mesh, { ...options, verify: EVERY_RESULT });
    expect(maxDiff(c.logits, alone.logits)).toBeLessThan(1e-4);
    expect(c.evicted.map((e) => e.deviceId)).toEqual(['w2']);
    expect(c.evicted[0]?.reason).toMatch(/^returned wrong results for a checked (tile|FC share) \(max \|Δ\| [\d.e+-]+ vs tolerance [\d.e+-]+\)$/);
    expect(mesh.removed).toEqual([{ peerId: 'w2', reason: c.evicted[0]?.reason }]);
    expect(c.result.verification.mismatches.map((m) => m.deviceId)).toEqual(['w2']);
    expect(c.suspended.map((s) => s.deviceId)).toContain('w2');
    // Caught on its first result: nothing of it was taken into the image, so nothing is re-run.
    expect(c.result.verification.reruns).toBe(0);
    const afterCaught = mesh.computeRequests.length;
    const next = await (async () => {
      const model = await modelFor(vgg);
      const classifier = new Classifier({ tf, mesh, spec: vgg, model, ownerProfile: OWNER_PROFILE });
      const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 5);
      try {
        return await classifier.classify(image, { ...options, verify: EVERY_RESULT });
      } finally {
        image.dispose();
      }
    })();
    expect(next.devices).not.toContain('w2');
    expect(mesh.computeRequests.slice(afterCaught).some((r) => r.peerId === 'w2')).toBe(false);
  });

  it('caught late, after some of its results went unchecked into the image: the image is re-run from the first step it touched, and the answer is still exact', async () => {
    const model = await modelFor(vgg);
    const profile = (id: string): DeviceProfile => ({ id, aMsPerFlop: 1e-4, bMs: 0.5, bandwidthBytesPerMs: 100_000, wakeMs: 1, memoryBytes: 1e9 });
    const plan = planInference(model.graph, [profile('owner'), profile('w1'), profile('w2'), profile('w3')], { spatialSchemes: ['bodp'], fcSchemes: ['msccFgcp'], allowOwnerOnly: false, excludeDevices: false, fcWeights: model.weights.sparse });
    const mesh = meshWithLiar(['w1', 'w2', 'w3'], 'w2');
    const ports = new Map<string, WorkerPort>(['w1', 'w2', 'w3'].map((id) => [id, { id, request: (meta, tensors, options) => mesh.request(id, meta, tensors, options) }]));
    const runtime = new OwnerRuntime({ tf, spec: vgg, model });
    expect(await runtime.prepare(plan, ports)).toEqual([]);
    // No checks in the first two steps (3 worker results each), every result checked after.
    let draws = 0;
    const random = () => (draws++ < 6 ? 0.99 : 0);
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 9);
    const live = () => tf.memory().numTensors - keptWeightTensorCount();
    const tensorsBefore = live();
    const result = await runtime.infer(plan, ports, image, { verify: { fraction: 0.5, budget: 10, random } });
    // The lie, the dropped steps and the owner's copies are all disposed.
    expect(live()).toBe(tensorsBefore);
    const alone = executeWhole(tf, model.graph, model.weights, image);
    const expected = (await alone.data()) as Float32Array;
    alone.dispose();
    image.dispose();
    expect(result.wrong.map((w) => w.deviceId)).toEqual(['w2']);
    expect(result.verification.mismatches[0]?.step).toBe(2);
    expect(result.verification.reruns).toBe(1);
    expect(maxDiff(result.output, expected)).toBeLessThan(1e-4);
    // The re-run computed w2's shares on the owner.
    expect(result.trace.some((t) => t.deviceId === 'w2' && t.step === 0 && t.outcome === 'local-fallback')).toBe(true);
  });

  it('with every result asked for but a budget of 10%: each result’s chance is lowered to fit the budget, the cap holds, and a worker lying only in the later layers is still caught', async () => {
    let caught = 0;
    for (let seed = 0; seed < 6; seed++) {
      // Its first 10 compute results (the first half of the image) are honest.
      const { mesh: c, alone } = await classifyWith(vgg, meshWithLiar(['w1', 'w2', 'w3'], 'w2', 10), { scheme: 'bodp', verify: { fraction: 1, budget: 0.1, seed } });
      expect(c.result.verification.flops).toBeLessThanOrEqual(0.1 * c.result.verification.imageFlops);
      expect(c.result.verification.chance).toBeLessThan(1);
      if (c.evicted.length > 0) {
        caught++;
        expect(maxDiff(c.logits, alone.logits)).toBeLessThan(1e-4);
      }
    }
    expect(caught).toBeGreaterThan(0);
  });

  it('the budget caps the checking work: at 5% of the image, some results go unchecked', async () => {
    const mesh = meshWithLiar(['w1', 'w2', 'w3'], null);
    const { mesh: c } = await classifyWith(vgg, mesh, { scheme: 'bodp', verify: { fraction: 1, budget: 0.05, seed: 2 } });
    const v = c.result.verification;
    expect(v.flops).toBeGreaterThan(0);
    expect(v.flops).toBeLessThanOrEqual(0.05 * v.imageFlops);
    expect(v.checked).toBeLessThan(v.results);
  });
});
