import { describe, expect, it } from 'vitest';
import { ModelError } from './errors.ts';
import { contentHash, packModel, packRunnable, unpackModel, unpackRunnable, type ModelArtifactsLike } from './package.ts';

const artifacts = (): ModelArtifactsLike => ({
  modelTopology: { class_name: 'Sequential', config: { layers: [] } },
  weightSpecs: [
    { name: 'dense/kernel', shape: [3, 2], dtype: 'float32' },
    { name: 'dense/bias', shape: [2], dtype: 'float32' },
  ],
  weightData: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]).buffer,
});

/** A package with a hand-written header and no weights. */
function withHeader(header: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array((4 + json.length + 3) & ~3);
  new DataView(bytes.buffer).setUint32(0, json.length, true);
  bytes.set(json, 4);
  return bytes;
}

describe('model packages', () => {
  it('round-trip topology, manifest and weight bytes', () => {
    const back = unpackModel(packModel(artifacts()));
    expect(back.modelTopology).toEqual(artifacts().modelTopology);
    expect(back.weightSpecs).toEqual(artifacts().weightSpecs);
    expect([...new Float32Array(back.weightData as ArrayBuffer)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('join sharded weight files into one', () => {
    const sharded = { ...artifacts(), weightData: [Float32Array.from([1, 2, 3]).buffer, Float32Array.from([4, 5, 6, 7, 8]).buffer] };
    expect(packModel(sharded)).toEqual(packModel(artifacts()));
  });

  it('are named by a SHA-256 that changes with any byte', async () => {
    const bytes = packModel(artifacts());
    const hash = await contentHash(bytes);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    expect(await contentHash(bytes)).not.toBe(hash);
  });

  it.each([
    ['truncated weights', (b: Uint8Array) => b.slice(0, b.length - 4), /the manifest 32/],
    ['a header that does not fit', (b: Uint8Array) => (new DataView(b.buffer).setUint32(0, 1e6, true), b), /does not fit/],
    ['garbage', () => new Uint8Array([1, 2, 3]), /not a model package/],
    ['another format', () => withHeader({ format: 'modnn-model/999', modelTopology: {}, weightSpecs: [] }), /format "modnn-model\/999"/],
    ['a malformed weight spec', () => withHeader({ format: 'modnn-model/1', modelTopology: {}, weightSpecs: [{ name: 'w', shape: [-1], dtype: 'float32' }] }), /malformed weight spec/],
  ])('reject %s with ERR_MODEL_PACKAGE', (_name, corrupt, message) => {
    const bad = corrupt(packModel(artifacts()));
    expect(() => unpackModel(bad)).toThrow(ModelError);
    expect(() => unpackModel(bad)).toThrow(message);
  });
});

describe('runnable packages', () => {
  it('carry the graph and every weight a worker can run, and no Dense kernel', async () => {
    const { buildVgg16 } = await import('./zoo/vgg16.ts');
    const vgg = buildVgg16({ inputSize: 32, widthMultiplier: 1 / 16, classes: 10, fcDensities: [1, 1, 1] });
    const weights = vgg.weights();
    const back = unpackRunnable(packRunnable(vgg.graph, weights));
    expect(back.graph).toEqual(JSON.parse(JSON.stringify(vgg.graph)));
    const conv = vgg.graph.nodes.find((n) => n.attrs.op === 'conv2d');
    const kernel = conv?.weights[0]?.name as string;
    expect(back.weights.dense.get(kernel)?.values).toEqual(weights.dense.get(kernel)?.values);
    for (const n of vgg.graph.nodes.filter((n) => n.attrs.op === 'dense')) {
      for (const w of n.weights) expect(back.weights.dense.has(w.name)).toBe(false);
    }
  });

  it('are refused when a weight is missing or the graph is not ordered', async () => {
    const { buildVgg16 } = await import('./zoo/vgg16.ts');
    const vgg = buildVgg16({ inputSize: 32, widthMultiplier: 1 / 16, classes: 10 });
    const bytes = packRunnable(vgg.graph, vgg.weights());
    expect(() => unpackRunnable(bytes.slice(0, bytes.length - 4))).toThrow(/runs past the end|is missing/);
    const json = new TextEncoder().encode(JSON.stringify({ format: 'modnn-runnable/1', graph: { nodes: [{ id: 0, inputs: [3] }] }, weights: [] }));
    const bad = new Uint8Array((4 + json.length + 3) & ~3);
    new DataView(bad.buffer).setUint32(0, json.length, true);
    bad.set(json, 4);
    expect(() => unpackRunnable(bad)).toThrow(/topologically ordered/);
  });
});
