/**
 * Input privacy over the in-memory mesh: with the first layer (or block) kept on the owner, no
 * request to a worker carries the input node (the image), and the answer is still the owner's own.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TileSlice } from '../partition/index.ts';
import { Classifier, type ClassifyOptions, type OwnerMeshLike } from './classifier.ts';
import { RuntimeMethod, type ModelSpec } from './protocol.ts';
import { testMesh } from './test-mesh.ts';
import { resolveZooModel } from './worker-executor.ts';

type ZooSpec = Extract<ModelSpec, { kind: 'zoo' }>;
const vgg: ZooSpec = { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } };
const mobileNet: ZooSpec = { kind: 'zoo', name: 'mobilenetv2', options: { inputSize: 33 } };

/** The test mesh, keeping the slice of every spatial request a worker is sent. */
function recordingMesh(ids: string[]): OwnerMeshLike & { slices: TileSlice[] } {
  const inner = testMesh(tf, ids);
  const slices: TileSlice[] = [];
  return {
    slices,
    readyPeers: () => inner.readyPeers(),
    request: (peerId, meta, tensors, options) => {
      const m = meta as { method?: string; slice?: TileSlice };
      if (m.method === RuntimeMethod.Spatial && m.slice) slices.push(m.slice);
      return inner.request(peerId, meta, tensors, options);
    },
  };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('input privacy over the mesh', () => {
  const cases: [string, ZooSpec, ClassifyOptions][] = [
    ['VGG-16 fused, first layer', vgg, { scheme: 'fused', privacy: 'firstLayer' }],
    ['VGG-16 BODP, first block', vgg, { scheme: 'bodp', privacy: 'firstBlock' }],
    ['VGG-16 2D grid, first layer', vgg, { scheme: 'grid', privacy: 'firstLayer' }],
    ['MobileNetV2-style fused, first layer', mobileNet, { scheme: 'fused', privacy: 'firstLayer' }],
  ];
  it.each(cases)('%s: without it workers get the image; with it no request carries the input node, the card’s facts say so, and the answer is exact', async (_name, spec, options) => {
    const model = await resolveZooModel(spec);
    const { inputId } = model.graph;
    const mesh = recordingMesh(['w1', 'w2']);
    const classifier = new Classifier({ tf, mesh, spec, model, ownerProfile: { aMsPerFlop: 1e-5, bMs: 0.1 } });
    const [h, w, c] = classifier.inputShape;
    const image = tf.randomUniform<tf.Rank.R3>([h, w, c], 0, 1, 'float32', 4);
    const alone = await classifier.classify(image, { scheme: 'owner' });
    const open = await classifier.classify(image, { scheme: options.scheme ?? 'auto' });
    const sentOpen = mesh.slices.splice(0);
    const kept = await classifier.classify(image, options);
    image.dispose();

    expect(sentOpen.some((s) => s.inputs.some((i) => i.nodeId === inputId))).toBe(true);
    expect(open.exposure?.image).toBe(true);
    expect(mesh.slices.length).toBeGreaterThan(0);
    for (const slice of mesh.slices) for (const input of slice.inputs) expect(input.nodeId).not.toBe(inputId);
    expect(kept.exposure?.image).toBe(false);
    expect(kept.exposure?.shape.length).toBe(3);
    expect(kept.privacy).toBe(options.privacy);
    const diff = kept.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - (alone.logits[i] as number))), 0);
    expect(diff).toBeLessThan(1e-4);
    expect(kept.top[0]?.index).toBe(alone.top[0]?.index);
  });

  it('an unknown privacy setting is refused with the choices', async () => {
    const model = await resolveZooModel(vgg);
    const classifier = new Classifier({ tf, mesh: recordingMesh(['w1']), spec: vgg, model, ownerProfile: { aMsPerFlop: 1e-5, bMs: 0.1 } });
    const image = tf.zeros<tf.Rank.R3>([32, 32, 3]);
    await expect(classifier.classify(image, { scheme: 'fused', privacy: 'pixels' as never })).rejects.toThrow(/privacy is one of off, firstLayer, firstBlock, not pixels/);
    image.dispose();
  });
});
