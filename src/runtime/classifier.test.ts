import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { keptWeightTensorCount } from '../model/index.ts';
import { Classifier } from './classifier.ts';
import type { ModelSpec } from './protocol.ts';
import { testMesh } from './test-mesh.ts';
import { resolveZooModel } from './worker-executor.ts';

const spec: Extract<ModelSpec, { kind: 'zoo' }> = { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } };
/** Each worker claims to be absurdly fast; what it really does is measured during inference. */
const CLAIMED_MS_PER_FLOP = 1e-9;

const fakeMesh = (ids: string[], claimedMsPerFlop: (id: string) => number = () => CLAIMED_MS_PER_FLOP, memoryGb?: (id: string) => number | null) =>
  testMesh(tf, ids, { msPerFlop: claimedMsPerFlop, ...(memoryGb ? { memoryGb } : {}) });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Classifier', () => {
  it('classifies across the mesh with the owner-alone answer, and refreshes each device’s profile from what it measured', async () => {
    const model = await resolveZooModel(spec);
    const classifier = new Classifier({ tf, mesh: fakeMesh(['w1', 'w2']), spec, model, ownerProfile: { aMsPerFlop: 1e-5, bMs: 0.1 } });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 3);
    const alone = await classifier.classify(image, { scheme: 'owner' });
    const mesh = await classifier.classify(image, { scheme: 'bodp' });
    image.dispose();

    expect(mesh.devices).toEqual(['owner', 'w1', 'w2']);
    expect(mesh.top[0]?.index).toBe(alone.top[0]?.index);
    const maxDiff = mesh.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - (alone.logits[i] as number))), 0);
    expect(maxDiff).toBeLessThan(1e-4);
    expect(mesh.top.reduce((s, t) => s + t.probability, 0)).toBeLessThanOrEqual(1 + 1e-6);
    // VGG-16 ends in a softmax: its output already is the probabilities, not softmaxed again.
    for (const t of alone.top) expect(t.probability).toBeCloseTo(alone.logits[t.index] as number, 6);

    // The trace places each worker task on the owner's timeline: sent, computed, returned, in that order.
    const remote = mesh.result.trace.filter((t) => t.device > 0 && t.outcome === 'ok');
    expect(remote.length).toBeGreaterThan(0);
    for (const t of remote) {
      expect(t.sendEndMs).not.toBeNull();
      expect(t.startMs).toBeLessThanOrEqual(t.sendEndMs as number);
      expect(t.sendEndMs as number).toBeLessThanOrEqual(t.computeStartMs as number);
      expect(t.computeStartMs as number).toBeLessThanOrEqual(t.computeEndMs as number);
      expect(t.computeEndMs as number).toBeLessThanOrEqual(t.endMs);
    }

    // The claim was 1e-9 ms/FLOP; TF.js on the CPU is far slower, and the refreshed profile moved towards that.
    const w1 = classifier.profiles().get('w1');
    expect(w1?.aMsPerFlop).toBeGreaterThan(CLAIMED_MS_PER_FLOP * 10);
    expect(classifier.profiles().get('owner')).toBeDefined();
  });

  it('keeps no tensor behind on the owner, image after image, alone and across the mesh', async () => {
    const model = await resolveZooModel(spec);
    const classifier = new Classifier({ tf, mesh: fakeMesh(['w1', 'w2']), spec, model, ownerProfile: { aMsPerFlop: 1e-5, bMs: 0.1 } });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 7);
    // The first images make the weights' tensors (kept for the model's life) and backend state.
    for (const scheme of ['owner', 'bodp', 'fused', 'auto'] as const) await classify(scheme);
    // Weights' tensors fill in as each device first runs a layer: they are not leaks.
    const live = () => tf.memory().numTensors - keptWeightTensorCount();
    const before = live();
    for (const scheme of ['owner', 'bodp', 'fused', 'owner', 'auto'] as const) await classify(scheme);
    expect(live()).toBe(before);
    image.dispose();

    async function classify(scheme: 'owner' | 'bodp' | 'fused' | 'auto'): Promise<void> {
      await classifier.classify(image, { scheme });
    }
  });

  it('leaves out a worker whose memory cannot hold the model’s weights, and says why', async () => {
    const model = await resolveZooModel(spec);
    // This model's conv weights are ~0.1 MB; a device reporting 0.0001 GB gives the planner ~27 kB.
    const classifier = new Classifier({ tf, mesh: fakeMesh(['w1', 'tiny'], undefined, (id) => (id === 'tiny' ? 0.0001 : null)), spec, model, ownerProfile: { aMsPerFlop: 1e-5, bMs: 0.1 } });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 5);
    const alone = await classifier.classify(image, { scheme: 'owner' });
    const mesh = await classifier.classify(image, { scheme: 'fused' });
    image.dispose();
    expect(mesh.devices).toEqual(['owner', 'w1']);
    expect(mesh.excluded.map((e) => e.deviceId)).toEqual(['tiny']);
    expect(mesh.excluded[0]?.reason).toMatch(/weights need [\d.]+ MB; the device offers about [\d.]+ MB/);
    expect(mesh.top[0]?.index).toBe(alone.top[0]?.index);
  });

  it('leaves out a worker whose profile is nonsense instead of failing the plan', async () => {
    const model = await resolveZooModel(spec);
    const mesh = fakeMesh(['w1', 'liar'], (id) => (id === 'liar' ? Number.NaN : CLAIMED_MS_PER_FLOP));
    const classifier = new Classifier({ tf, mesh, spec, model, ownerProfile: { aMsPerFlop: 1e-5, bMs: 0.1 } });
    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 4);
    const result = await classifier.classify(image, { scheme: 'fused' });
    image.dispose();
    expect(result.devices).toEqual(['owner', 'w1']);
  });
});
