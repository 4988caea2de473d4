/**
 * Fuzzing a worker's request handling: WorkerExecutor.handle fed the requests an owner really
 * sends (from a real plan of a small VGG-16), corrupted in their metadata and tensors, plus
 * random ones. Every request must be answered or refused with a RuntimeError; nothing else may
 * escape, and the worker must still compute correctly afterwards. Seeded; the count is in the name.
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { wireTensor, type IncomingMessage, type WireTensor } from '../mesh/index.ts';
import { MessageKind } from '../mesh/index.ts';
import { planInference, type DeviceProfile, type FcStep, type TileSlice } from '../partition/index.ts';
import { RuntimeError } from './errors.ts';
import { RuntimeMethod, modelKeyOf, type ModelSpec } from './protocol.ts';
import { WorkerExecutor, resolveZooModel, workerWeights, type LoadedModel } from './worker-executor.ts';

const SEED = 0x3e3c_f022;
const SPEC: Extract<ModelSpec, { kind: 'zoo' }> = { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } };
const MODEL_KEY = modelKeyOf(SPEC);
const PLAN_ID = 'fuzz-plan';
const profile = (id: string): DeviceProfile => ({ id, aMsPerFlop: 1e-4, bMs: 0.5, bandwidthBytesPerMs: 100_000, wakeMs: 1, memoryBytes: 1e9 });

let model: LoadedModel;
let executor: WorkerExecutor;
let spatialSlices: TileSlice[];
let fcSlices: { nodeId: number; slice: FcStep['workers'][number] }[];

const request = (meta: unknown, tensors: WireTensor[] = []): IncomingMessage => ({ kind: MessageKind.Request, messageId: 1, requestId: 1, meta, tensors, bytes: 0 });
const randomFloats = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed + i));

function spatialRequest(slice: TileSlice): IncomingMessage {
  const bands = slice.inputs.map((input, i) => {
    const h = Math.max(0, input.rect.rows.end - input.rect.rows.start + 1);
    const w = Math.max(0, input.rect.cols.end - input.rect.cols.start + 1);
    const c = model.graph.nodes[input.nodeId]?.outputShape[2] as number;
    return wireTensor([h, w, c], randomFloats(h * w * c, i));
  });
  return request({ method: RuntimeMethod.Spatial, modelKey: MODEL_KEY, slice: JSON.parse(JSON.stringify(slice)) as unknown }, bands);
}

function fcInstallRequest({ nodeId, slice }: (typeof fcSlices)[number]): IncomingMessage {
  const csr = slice.weights;
  return request({ method: RuntimeMethod.FcInstall, modelKey: MODEL_KEY, planId: PLAN_ID, nodeId, rows: csr.rows, cols: csr.cols }, [
    wireTensor([slice.inputIndex.length], Int32Array.from(slice.inputIndex)),
    wireTensor([slice.outputIndex.length], Int32Array.from(slice.outputIndex)),
    wireTensor([csr.rowPtr.length], Int32Array.from(csr.rowPtr)),
    wireTensor([csr.colIdx.length], Int32Array.from(csr.colIdx)),
    wireTensor([csr.values.length], Float32Array.from(csr.values)),
  ]);
}

const fcRequest = ({ nodeId, slice }: (typeof fcSlices)[number]): IncomingMessage =>
  request({ method: RuntimeMethod.Fc, planId: PLAN_ID, nodeId }, [wireTensor([slice.inputIndex.length], randomFloats(slice.inputIndex.length, 3))]);

/** Every kind of request an owner sends, valid. */
function validRequests(): IncomingMessage[] {
  return [
    request({ method: RuntimeMethod.Load, spec: SPEC }),
    request({ method: RuntimeMethod.Profile, modelKey: MODEL_KEY }),
    request({ method: RuntimeMethod.Info }),
    request({ method: RuntimeMethod.Put, hash: 'ab'.repeat(32), offset: 0, total: 16 }, [wireTensor([16], new Uint8Array(16))]),
    ...spatialSlices.map(spatialRequest),
    ...fcSlices.map(fcInstallRequest),
    ...fcSlices.map(fcRequest),
  ];
}

/**
 * Replacement values for a metadata field. Numbers stay small where they are coordinates: a
 * worker that trusted a slice's geometry would try to allocate gigabytes (the geometry test below
 * checks it does not), which this machine cannot afford to find out by fuzzing.
 */
const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -3, max: 40 }),
  fc.constantFrom(0, -1, 0.5, 1e9, -1e9, 2 ** 31, '', 'x', null, true, [], {}, 'runtime.fc', 'runtime.spatial', MODEL_KEY, PLAN_ID),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Every path to a value inside `meta` (objects and arrays). */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...prefix, k]))];
}

function setPath(root: unknown, path: (string | number)[], replacement: unknown, remove: boolean): unknown {
  if (path.length === 0) return remove ? undefined : replacement;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (remove && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

/** A tensor with a random consistent shape and dtype, as the wire decoder lets through. */
const tensorArb: fc.Arbitrary<WireTensor> = fc.tuple(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }), fc.constantFrom('float32', 'int32', 'uint8')).map(([shape, dtype]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? randomFloats(n, n) : dtype === 'int32' ? Int32Array.from({ length: n }, (_, i) => i - 2) : new Uint8Array(n).fill(7);
  return wireTensor(shape, data);
});

type TensorChange = { op: 'replace' | 'insert'; at: number; tensor: WireTensor } | { op: 'drop'; at: number } | { op: 'retype'; at: number };
const tensorChangeArb: fc.Arbitrary<TensorChange> = fc.oneof(
  fc.record({ op: fc.constantFrom('replace' as const, 'insert' as const), at: fc.nat(), tensor: tensorArb }),
  fc.record({ op: fc.constantFrom('drop' as const, 'retype' as const), at: fc.nat() }),
);

function changeTensors(tensors: WireTensor[], change: TensorChange): WireTensor[] {
  const out = [...tensors];
  const at = out.length === 0 ? 0 : change.at % out.length;
  if (change.op === 'insert') out.splice(change.at % (out.length + 1), 0, change.tensor);
  else if (out.length === 0) return out;
  else if (change.op === 'replace') out[at] = change.tensor;
  else if (change.op === 'drop') out.splice(at, 1);
  else {
    // Same shape and values, another dtype: int32 indices read as floats, floats as ints.
    const t = out[at] as WireTensor;
    out[at] = wireTensor(t.shape, t.dtype === 'float32' ? Int32Array.from(t.data) : Float32Array.from(t.data));
  }
  return out;
}

const hostileRequestArb = (touchSliceGeometry: boolean) => fc.oneof(
  // A real request, one or two of its fields corrupted, maybe its tensors too.
  {
    weight: 6,
    arbitrary: fc
      .record({ which: fc.nat(), edits: fc.array(fc.record({ path: fc.nat(), value: valueArb, remove: fc.boolean() }), { minLength: 0, maxLength: 2 }), tensorChanges: fc.array(tensorChangeArb, { maxLength: 2 }) })
      .map(({ which, edits, tensorChanges }) => ({ which, edits, tensorChanges, touchSliceGeometry })),
  },
  // Anything at all as metadata, with random tensors.
  { weight: 1, arbitrary: fc.record({ meta: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ method: fc.constantFrom(...Object.values(RuntimeMethod)) }, { requiredKeys: [] })), tensors: fc.array(tensorArb, { maxLength: 3 }) }) },
);

type HostileRequest = ReturnType<typeof hostileRequestArb> extends fc.Arbitrary<infer T> ? T : never;

/** Builds the request a generated case describes (from a valid one, or from nothing). */
function build(c: HostileRequest, valid: IncomingMessage[]): IncomingMessage {
  if ('meta' in c) return request(c.meta, c.tensors);
  const base = valid[c.which % valid.length] as IncomingMessage;
  let meta = base.meta;
  for (const edit of c.edits) {
    const all = paths(meta).filter((p) => c.touchSliceGeometry === (p[0] === 'slice' && p.length > 1));
    if (all.length === 0) continue;
    meta = setPath(meta, all[edit.path % all.length] as (string | number)[], edit.value, edit.remove);
  }
  return request(JSON.parse(JSON.stringify(meta ?? null)) as unknown, c.tensorChanges.reduce(changeTensors, [...base.tensors]));
}

/** Whatever happens, only a reply or a RuntimeError. */
async function outcome(req: IncomingMessage): Promise<'ok' | 'refused'> {
  try {
    await executor.handle(req);
    return 'ok';
  } catch (err) {
    if (!(err instanceof RuntimeError)) throw err;
    expect(err.code).toMatch(/^ERR_(RUNTIME_REQUEST|MODEL_MISSING)$/);
    return 'refused';
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  const full = await resolveZooModel(SPEC);
  model = workerWeights(full);
  const plan = planInference(full.graph, [profile('owner'), profile('w1'), profile('w2')], {
    spatialSchemes: ['bodp'],
    fcSchemes: ['msccFgcp'],
    allowOwnerOnly: false,
    excludeDevices: false,
    fcWeights: full.weights.sparse,
  });
  spatialSlices = plan.steps.flatMap((p) => (p.step.kind === 'spatial' ? p.step.slices.filter((s) => s.device === 1) : [])).slice(0, 4);
  fcSlices = plan.steps.flatMap((p) => (p.step.kind === 'fc' ? p.step.workers.filter((w) => w.device === 1).map((slice) => ({ nodeId: (p.step as FcStep).nodeId, slice })) : []));
  // Every spec resolves to the same small model: a corrupted spec must not make the test build a big one.
  executor = new WorkerExecutor({ tf, resolve: () => Promise.resolve(model), profiler: () => Promise.resolve({ backend: 'cpu', adapter: null, aMsPerFlop: 1e-5, bMs: 0.1 }) });
  for (const req of validRequests().filter((r) => (r.meta as { method: string }).method !== RuntimeMethod.Put)) await executor.handle(req);
}, 60_000);

describe('worker executor fuzz (seeded)', () => {
  it('the valid requests pass (so the corrupted ones below start from real ones)', async () => {
    expect(spatialSlices.length).toBeGreaterThan(0);
    expect(fcSlices.length).toBeGreaterThan(0);
    for (const req of validRequests()) {
      const method = (req.meta as { method: string }).method;
      if (method === RuntimeMethod.Put) await expect(executor.handle(req)).rejects.toBeInstanceOf(RuntimeError); // no upload was asked for
      else expect(await outcome(req)).toBe('ok');
    }
  });

  it('1,000 corrupted and random requests (a spatial slice\'s geometry aside, see below): answered or refused with RuntimeError, nothing else; the worker still computes right after', async () => {
    const valid = validRequests();
    const counts = { ok: 0, refused: 0 };
    const tensorsBefore = tf.memory().numTensors;
    await fc.assert(
      fc.asyncProperty(hostileRequestArb(false), async (c) => {
        counts[await outcome(build(c, valid))]++;
      }),
      { seed: SEED, numRuns: 1_000 },
    );
    expect(counts.refused).toBeGreaterThan(300);
    expect(counts.ok).toBeGreaterThan(100); // many corruptions are harmless and still computed: the deep paths ran
    // No tensor leaks out of refused or answered requests (beyond weights a node's first run keeps).
    expect(tf.memory().numTensors - tensorsBefore).toBeLessThan(64);
    // Still right: the same tile as before the abuse.
    const slice = spatialSlices[0] as TileSlice;
    const reply = await executor.handle(spatialRequest(slice));
    expect(reply.tensors?.[0]?.shape).toEqual([slice.tile.rows.end - slice.tile.rows.start + 1, slice.tile.cols.end - slice.tile.cols.start + 1, expect.any(Number)]);
  }, 120_000);

  // A corrupted geometry is refused up front (tileSliceMisfit), before TF.js allocates what it claims.
  it('200 spatial requests with a corrupted slice geometry: refused with RuntimeError before any compute', async () => {
    const valid = validRequests().filter((r) => (r.meta as { method: string }).method === RuntimeMethod.Spatial);
    // The geometry a request carries, without the device index (which the worker does not use).
    const geometry = (meta: unknown): string => {
      const slice = (meta as { slice?: unknown } | null)?.slice;
      if (slice === null || typeof slice !== 'object' || Array.isArray(slice)) return JSON.stringify(slice ?? null);
      const { device: _device, ...rest } = slice as Record<string, unknown>;
      return JSON.stringify(rest);
    };
    let changed = 0;
    const tensorsBefore = tf.memory().numTensors;
    await fc.assert(
      fc.asyncProperty(hostileRequestArb(true), async (c) => {
        const req = build(c, valid);
        const result = await outcome(req);
        if ('meta' in c) return;
        if (geometry(req.meta) === geometry((valid[c.which % valid.length] as IncomingMessage).meta)) return;
        changed++;
        expect(result).toBe('refused');
      }),
      { seed: SEED + 1, numRuns: 200 },
    );
    expect(changed).toBeGreaterThan(50); // the check above really ran (99 of the 200 seeded cases change the geometry)
    expect(tf.memory().numTensors - tensorsBefore).toBeLessThan(64);
  });

  // Methods are looked up among the executor's own: an Object.prototype member is no method.
  it.each(['hasOwnProperty', 'constructor', 'toString', '__proto__'])('a request for method %j is refused with RuntimeError', async (method) => {
    await expect(Promise.resolve().then(() => executor.handle(request({ method })))).rejects.toBeInstanceOf(RuntimeError);
  });
});
