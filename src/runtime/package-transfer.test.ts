/**
 * A model the workers cannot build or fetch themselves (dropped into the owner's page) reaches
 * them over the links as a package, is checked against its hash, cached, and not sent again.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MessageLink, memoryTransportPair } from '../mesh/index.ts';
import { buildMobileNetV2, contentHash, packModel, packRunnable, toLayersModel, type ModelArtifactsLike } from '../model/index.ts';
import { planInference, type DeviceProfile } from '../partition/index.ts';
import { executeWhole } from './local-executor.ts';
import { memoryModelStore, type ModelStore } from './model-store.ts';
import { OwnerRuntime, type WorkerPort } from './owner-runtime.ts';
import { RuntimeMethod, type ModelSpec } from './protocol.ts';
import { WorkerExecutor, loadPackage } from './worker-executor.ts';

const profile = (id: string): DeviceProfile => ({ id, aMsPerFlop: 1e-4, bMs: 0.5, bandwidthBytesPerMs: 100_000, wakeMs: 1, memoryBytes: 1e9 });

/** Saves a seeded MobileNetV2-style model as a user would have it: model.json topology, manifest, weight bytes. */
async function userModelArtifacts(): Promise<ModelArtifactsLike> {
  const zoo = buildMobileNetV2({ inputSize: 33, seed: 11 });
  const model = await toLayersModel(tf, zoo, zoo.weights());
  let saved: ModelArtifactsLike | null = null;
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      saved = artifacts as unknown as ModelArtifactsLike;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
    }),
  );
  model.dispose();
  return saved as unknown as ModelArtifactsLike;
}

function worker(id: string, store: ModelStore): WorkerPort {
  const [a, b] = memoryTransportPair();
  new MessageLink(b).setRequestHandler(new WorkerExecutor({ tf, store }).handle);
  const link = new MessageLink(a);
  return { id, request: (meta, tensors, options) => link.request(meta, tensors, options) };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('model packages over the links', () => {
  it('are streamed once to workers that miss them, then run distributed with the owner-alone answer', async () => {
    const full = packModel(await userModelArtifacts());
    const model = await loadPackage(tf, full);
    const bytes = packRunnable(model.graph, model.weights);
    // Workers never get a Dense kernel: the classifier's weights stay on the owner.
    const denseKernels = model.graph.nodes.filter((n) => n.attrs.op === 'dense').flatMap((n) => n.weights.map((w) => w.name));
    expect(denseKernels.length).toBeGreaterThan(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + new DataView(bytes.buffer).getUint32(0, true)))) as { weights: { name: string }[] };
    const shipped = header.weights.map((w) => w.name);
    expect(shipped.length).toBeGreaterThan(0);
    for (const name of denseKernels) expect(shipped).not.toContain(name);
    const spec: ModelSpec = { kind: 'package', hash: await contentHash(bytes), bytes: bytes.byteLength };
    const stores = [memoryModelStore(), memoryModelStore()];
    const ports = new Map(stores.map((store, i) => [`w${i + 1}`, worker(`w${i + 1}`, store)] as const));
    const plan = planInference(model.graph, [profile('owner'), profile('w1'), profile('w2')], { spatialSchemes: ['fused'], allowOwnerOnly: false, excludeDevices: false });

    const progress: number[] = [];
    const runtime = new OwnerRuntime({ tf, spec, model, packageBytes: bytes, uploadChunkBytes: 64 * 1024, onUpload: (_id, sent) => progress.push(sent) });
    expect(await runtime.prepare(plan, ports)).toEqual([]);
    expect(runtime.uploadedBytes).toEqual(new Map([['w1', bytes.byteLength], ['w2', bytes.byteLength]]));
    expect(progress.at(-1)).toBe(bytes.byteLength);
    for (const store of stores) expect(await store.get(spec.hash)).toEqual(bytes);

    const image = tf.randomUniform<tf.Rank.R3>([33, 33, 3], 0, 1, 'float32', 2);
    const result = await runtime.infer(plan, ports, image);
    const alone = executeWhole(tf, model.graph, model.weights, image);
    const maxDiff = tf.max(tf.abs(tf.sub(alone, tf.tensor(result.output, result.shape)))).dataSync()[0] as number;
    expect(maxDiff).toBeLessThan(1e-4);
    expect(result.trace.filter((t) => t.device > 0 && t.outcome === 'ok').length).toBeGreaterThan(0);
    image.dispose();
    alone.dispose();

    // The same workers join again (new links, same caches): nothing is transferred.
    const again = new OwnerRuntime({ tf, spec, model, packageBytes: bytes });
    const rejoined = new Map(stores.map((store, i) => [`w${i + 1}`, worker(`w${i + 1}`, store)] as const));
    expect(await again.prepare(plan, rejoined)).toEqual([]);
    expect(again.uploadedBytes.size).toBe(0);
  });

  it('a package whose bytes do not match its hash is refused, and the worker is left out', async () => {
    const model = await loadPackage(tf, packModel(await userModelArtifacts()));
    const bytes = packRunnable(model.graph, model.weights);
    const tampered = bytes.slice();
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0xff;
    const spec: ModelSpec = { kind: 'package', hash: await contentHash(bytes), bytes: bytes.byteLength };
    const ports = new Map([['w1', worker('w1', memoryModelStore())]]);
    const plan = planInference(model.graph, [profile('owner'), profile('w1')], { spatialSchemes: ['fused'], allowOwnerOnly: false, excludeDevices: false });
    const runtime = new OwnerRuntime({ tf, spec, model, packageBytes: tampered });
    const failed = await runtime.prepare(plan, ports);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.reason).toMatch(/SHA-256/);
  });

  it('a worker receives one package at a time, holding only the parts that arrived', async () => {
    const executor = new WorkerExecutor({ tf });
    const request = (meta: unknown, tensors: { dtype: 'uint8'; shape: number[]; data: Uint8Array }[] = []) => Promise.resolve().then(() => executor.handle({ meta, tensors } as never));
    const load = (hash: string, bytes: number) => request({ method: RuntimeMethod.Load, spec: { kind: 'package', hash, bytes } });
    const part = (hash: string, offset: number, total: number, data: Uint8Array) => request({ method: RuntimeMethod.Put, hash, offset, total }, [{ dtype: 'uint8', shape: [data.byteLength], data }]);
    const first = new Uint8Array([1, 2, 3, 4]);
    const second = new Uint8Array([5, 6, 7, 8, 9, 10]);
    const [hashA, hashB] = [await contentHash(first), await contentHash(second)];
    // Asking for a 512 MiB package allocates nothing yet (the bytes held grow with the parts that
    // arrive); a second missing package replaces it.
    const heldBefore = process.memoryUsage().arrayBuffers;
    await expect(load(hashA, 512 * 1024 * 1024)).rejects.toMatchObject({ code: 'ERR_MODEL_MISSING' });
    expect(process.memoryUsage().arrayBuffers - heldBefore).toBeLessThan(64 * 1024 * 1024);
    await expect(load(hashB, second.byteLength)).rejects.toMatchObject({ code: 'ERR_MODEL_MISSING' });
    await expect(part(hashA, 0, 512 * 1024 * 1024, first)).rejects.toThrow(/no upload/);
    expect(await part(hashB, 0, second.byteLength, second.subarray(0, 4))).toMatchObject({ meta: { received: 4, complete: false } });
    await expect(part(hashB, 0, second.byteLength, second.subarray(4))).rejects.toThrow(/expected bytes from 4/);
    expect(await part(hashB, 4, second.byteLength, second.subarray(4))).toMatchObject({ meta: { received: 6, complete: true } });
  });
});
