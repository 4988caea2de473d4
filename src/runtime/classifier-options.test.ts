/**
 * The classification options benchmarks use (FC scheme, equal split, owner computing nothing,
 * keeping a plan, re-measuring the workers): each does what it says and keeps the answer exact.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Classifier, type Classification } from './classifier.ts';
import { RuntimeMethod, type ModelSpec } from './protocol.ts';
import { testMesh } from './test-mesh.ts';
import { resolveZooModel } from './worker-executor.ts';

const spec: Extract<ModelSpec, { kind: 'zoo' }> = { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } };
const OWNER_PROFILE = { aMsPerFlop: 1e-5, bMs: 0.1 };

const fakeMesh = (ids: string[], msPerFlop?: (id: string) => number) => testMesh(tf, ids, msPerFlop ? { msPerFlop } : {});

function expectSameAnswer(mesh: Classification, alone: Classification): void {
  expect(mesh.top[0]?.index).toBe(alone.top[0]?.index);
  const maxDiff = mesh.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - (alone.logits[i] as number))), 0);
  expect(maxDiff).toBeLessThan(1e-4);
}

/** FLOPs each device computed in spatial tasks, by id. */
function spatialFlops(c: Classification): Map<string, number> {
  const flops = new Map<string, number>();
  for (const t of c.result.trace) if (t.kind === 'spatial') flops.set(t.deviceId, (flops.get(t.deviceId) ?? 0) + t.flops);
  return flops;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Classifier options for benchmarks', () => {
  it('fc: owner keeps pruned Dense layers on the owner, outputSplit and msccFgcp send them to the workers; each answer is exact', async () => {
    const model = await resolveZooModel(spec);
    const classifier = new Classifier({ tf, mesh: fakeMesh(['w1', 'w2']), spec, model, ownerProfile: OWNER_PROFILE });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 11);
    const alone = await classifier.classify(image, { scheme: 'owner' });
    const owner = await classifier.classify(image, { scheme: 'fused', fc: 'owner' });
    const split = await classifier.classify(image, { scheme: 'fused', fc: 'outputSplit' });
    const mscc = await classifier.classify(image, { scheme: 'fused', fc: 'msccFgcp' });
    image.dispose();
    expect(owner.steps).not.toMatch(/outputSplit|msccFgcp/);
    expect(owner.fcWeightBytes['w1']).toBe(0);
    expect(owner.fcWeightBytes['owner']).toBeGreaterThan(0);
    expect(split.steps).toMatch(/outputSplit/);
    expect(mscc.steps).toMatch(/msccFgcp/);
    for (const c of [split, mscc]) {
      expect(c.fcWeightBytes['w1']).toBeGreaterThan(0);
      expect(c.result.trace.some((t) => t.kind === 'fc' && t.device > 0 && t.outcome === 'ok')).toBe(true);
    }
    // However the columns are split, all the nonzeros are held somewhere exactly once.
    const total = (c: Classification) => Object.values(c.fcWeightBytes).reduce((a, b) => a + b, 0);
    expect(total(split)).toBe(total(owner));
    expect(total(mscc)).toBe(total(owner));
    for (const c of [owner, split, mscc]) expectSameAnswer(c, alone);
  });

  it('split: equal gives a 10× slower worker as many rows as the others; biased gives it fewer', async () => {
    const model = await resolveZooModel(spec);
    const classifier = new Classifier({ tf, mesh: fakeMesh(['fast', 'slow'], (id) => (id === 'slow' ? 1e-4 : 1e-5)), spec, model, ownerProfile: OWNER_PROFILE });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 12);
    const alone = await classifier.classify(image, { scheme: 'owner' });
    const biased = await classifier.classify(image, { scheme: 'bodp', replan: false });
    const equal = await classifier.classify(image, { scheme: 'bodp', split: 'equal', replan: false });
    image.dispose();
    const b = spatialFlops(biased);
    const e = spatialFlops(equal);
    expect(b.get('slow')).toBeLessThan((b.get('fast') as number) / 2);
    // Equal rows, not equal FLOPs: maps of 2 or 4 rows split 1/1/0 or 2/1/1, earlier devices first.
    expect(e.get('slow') as number).toBeGreaterThan(0.6 * (e.get('fast') as number));
    expect(e.get('slow') as number).toBeGreaterThan(2 * (b.get('slow') as number));
    expectSameAnswer(biased, alone);
    expectSameAnswer(equal, alone);
  });

  it('ownerComputes: false leaves every split step to the workers, and the answer is exact', async () => {
    const model = await resolveZooModel(spec);
    const classifier = new Classifier({ tf, mesh: fakeMesh(['w1']), spec, model, ownerProfile: OWNER_PROFILE });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 13);
    const alone = await classifier.classify(image, { scheme: 'owner' });
    const tax = await classifier.classify(image, { scheme: 'fused', ownerComputes: false });
    image.dispose();
    expect(tax.devices).toEqual(['owner', 'w1']);
    const ownerSplitWork = tax.result.trace.filter((t) => t.device === 0 && t.kind !== 'owner');
    expect(ownerSplitWork.filter((t) => t.flops > 0)).toEqual([]);
    expect(tax.result.trace.some((t) => t.deviceId === 'w1' && t.kind === 'spatial' && t.outcome === 'ok')).toBe(true);
    expect(tax.fcWeightBytes['owner']).toBe(0);
    expectSameAnswer(tax, alone);
  });

  it('replan: false keeps the plan made before the measured speeds drifted; the default plans again', async () => {
    const model = await resolveZooModel(spec);
    // The workers claim to be 10,000× faster than they are: the first image's measurements drift far.
    const make = () => new Classifier({ tf, mesh: fakeMesh(['w1', 'w2'], () => 1e-9), spec, model, ownerProfile: OWNER_PROFILE });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 14);
    const kept = make();
    const first = await kept.classify(image, { scheme: 'bodp' });
    const again = await kept.classify(image, { scheme: 'bodp', replan: false });
    expect(again.predictedMs).toBe(first.predictedMs);
    const replanned = make();
    const before = await replanned.classify(image, { scheme: 'bodp' });
    const after = await replanned.classify(image, { scheme: 'bodp' });
    image.dispose();
    expect(after.predictedMs).not.toBe(before.predictedMs);
  });

  it('workers: only the named workers are used', async () => {
    const model = await resolveZooModel(spec);
    const classifier = new Classifier({ tf, mesh: fakeMesh(['w1', 'w2', 'w3']), spec, model, ownerProfile: OWNER_PROFILE });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 16);
    const some = await classifier.classify(image, { scheme: 'fused', workers: ['w3', 'w1'] });
    const all = await classifier.classify(image, { scheme: 'fused' });
    image.dispose();
    expect(some.devices).toEqual(['owner', 'w1', 'w3']);
    expect(all.devices).toEqual(['owner', 'w1', 'w2', 'w3']);
  });

  it('maxFusedDepth: 1 makes the 2D grid run layer by layer', async () => {
    const model = await resolveZooModel(spec);
    const classifier = new Classifier({ tf, mesh: fakeMesh(['w1', 'w2', 'w3']), spec, model, ownerProfile: OWNER_PROFILE });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 17);
    const alone = await classifier.classify(image, { scheme: 'owner' });
    const perLayer = await classifier.classify(image, { scheme: 'grid', fc: 'owner', maxFusedDepth: 1 });
    image.dispose();
    const grids = perLayer.steps.split(' ').filter((s) => s.startsWith('grid'));
    expect(grids).toHaveLength(18);
    expect(new Set(grids)).toEqual(new Set(['grid(1)']));
    expectSameAnswer(perLayer, alone);
  });

  it('a worker whose profile fails is left out with the reason', async () => {
    const model = await resolveZooModel(spec);
    const mesh = fakeMesh(['w1', 'broken']);
    const request = mesh.request.bind(mesh);
    mesh.request = (peerId, meta, tensors, options) =>
      peerId === 'broken' && (meta as { method?: string }).method === RuntimeMethod.Profile ? Promise.reject(new Error('busy elsewhere')) : request(peerId, meta, tensors, options);
    const classifier = new Classifier({ tf, mesh, spec, model, ownerProfile: OWNER_PROFILE });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 18);
    const c = await classifier.classify(image, { scheme: 'fused' });
    image.dispose();
    expect(c.devices).toEqual(['owner', 'w1']);
    expect(c.excluded).toEqual([{ deviceId: 'broken', reason: 'could not be measured for this model: busy elsewhere' }]);
  });

  it('reprofile: true asks the workers for their profile again; otherwise it is asked once', async () => {
    const model = await resolveZooModel(spec);
    const mesh = fakeMesh(['w1']);
    const classifier = new Classifier({ tf, mesh, spec, model, ownerProfile: OWNER_PROFILE });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 15);
    await classifier.classify(image, { scheme: 'fused' });
    await classifier.classify(image, { scheme: 'fused' });
    expect(mesh.profileRequests.get('w1')).toBe(1);
    const again = await classifier.classify(image, { scheme: 'fused', reprofile: true });
    image.dispose();
    expect(mesh.profileRequests.get('w1')).toBe(2);
    expect(again.devices).toEqual(['owner', 'w1']);
    expect(again.suspended).toEqual([]);
  });
});
