/**
 * A model as one byte string, addressed by its SHA-256: a TF.js model's `model.json` topology and
 * weight manifest plus its weight bytes. This is what travels to workers that cannot fetch the
 * model themselves (a model dropped into the owner's page), and what they cache by hash.
 *
 *   headerBytes u32 LE | header (UTF-8 JSON: { format, modelTopology, weightSpecs }) | pad to 4 | weight data
 */
import { ModelError } from './errors.ts';
import type { ModelGraph } from './graph.ts';
import type { ModelWeights } from './weights.ts';

export const PACKAGE_FORMAT = 'modnn-model/1';
/** The largest package a worker accepts. */
export const MAX_PACKAGE_BYTES = 512 * 1024 * 1024;
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** The parts of TF.js `ModelArtifacts` a LayersModel needs. */
export interface ModelArtifactsLike {
  modelTopology: Record<string, unknown>;
  weightSpecs: WeightSpec[];
  /** One buffer, or one per weight file (TF.js 4 loads sharded weights that way). */
  weightData: ArrayBuffer | ArrayBuffer[];
}

const pad4 = (n: number): number => (n + 3) & ~3;

export function packModel(artifacts: ModelArtifactsLike): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ format: PACKAGE_FORMAT, modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs }));
  const shards = Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData];
  let offset = pad4(4 + header.length);
  const bytes = new Uint8Array(offset + shards.reduce((sum, shard) => sum + shard.byteLength, 0));
  new DataView(bytes.buffer).setUint32(0, header.length, true);
  bytes.set(header, 4);
  for (const shard of shards) {
    bytes.set(new Uint8Array(shard), offset);
    offset += shard.byteLength;
  }
  return bytes;
}

/** Reads a package back, checking its structure and that the weight bytes match the manifest. */
export function unpackModel(bytes: Uint8Array): ModelArtifactsLike {
  const fail = (why: string): never => {
    throw new ModelError('ERR_MODEL_PACKAGE', `unpackModel: ${why}`);
  };
  if (bytes.byteLength < 4 || bytes.byteLength > MAX_PACKAGE_BYTES) fail(`${bytes.byteLength} bytes is not a model package`);
  const headerBytes = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (headerBytes > MAX_HEADER_BYTES || 4 + headerBytes > bytes.byteLength) fail(`header of ${headerBytes} bytes does not fit`);
  let header: { format?: unknown; modelTopology?: unknown; weightSpecs?: unknown };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + headerBytes))) as typeof header;
  } catch (err) {
    return fail(`header is not JSON (${(err as Error).message})`);
  }
  if (header.format !== PACKAGE_FORMAT) fail(`format ${JSON.stringify(header.format)}, expected ${PACKAGE_FORMAT}`);
  if (typeof header.modelTopology !== 'object' || header.modelTopology === null) fail('no model topology');
  const specs = header.weightSpecs;
  if (!Array.isArray(specs)) return fail('no weight manifest');
  let expected = 0;
  for (const spec of specs as WeightSpec[]) {
    const valid =
      typeof spec?.name === 'string' &&
      Array.isArray(spec.shape) &&
      spec.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      (spec.dtype === 'float32' || spec.dtype === 'int32');
    if (!valid) fail(`malformed weight spec ${JSON.stringify(spec).slice(0, 120)}`);
    expected += 4 * spec.shape.reduce((a, b) => a * b, 1);
  }
  const offset = pad4(4 + headerBytes);
  if (bytes.byteLength - offset !== expected) fail(`weights hold ${bytes.byteLength - offset} bytes, the manifest ${expected}`);
  const weightData: ArrayBuffer = bytes.slice(offset).buffer;
  return { modelTopology: header.modelTopology as Record<string, unknown>, weightSpecs: specs as WeightSpec[], weightData };
}

/**
 * A runnable package: what a worker needs to run its share of a model, and nothing more. The
 * lowered graph and the weights of the layers a worker can be given (convolutions, pooling,
 * normalisation…). Dense kernels stay home: a worker runs a Dense layer only as a slice, whose
 * weights arrive with the plan (runtime.fc.install), and the owner runs the rest.
 *
 *   headerBytes u32 LE | header (UTF-8 JSON: { format, graph, weights: [{ name, shape }] }) | pad to 4 | float32 values
 */
export const RUNNABLE_FORMAT = 'modnn-runnable/1';

/** The weights a worker may need: every weight except those of Dense and unmodelled layers. */
export function workerWeightNames(graph: ModelGraph): string[] {
  return graph.nodes.filter((n) => n.attrs.op !== 'dense' && n.attrs.op !== 'opaque').flatMap((n) => n.weights.map((w) => w.name));
}

export function packRunnable(graph: ModelGraph, weights: ModelWeights): Uint8Array {
  const names = workerWeightNames(graph);
  const refs = names.map((name) => {
    const weight = weights.dense.get(name);
    if (!weight) throw new ModelError('ERR_MODEL_PACKAGE', `packRunnable: no dense values for '${name}'`);
    return { name, shape: [...weight.shape], values: weight.values };
  });
  const header = new TextEncoder().encode(JSON.stringify({ format: RUNNABLE_FORMAT, graph, weights: refs.map(({ name, shape }) => ({ name, shape })) }));
  let offset = pad4(4 + header.length);
  const bytes = new Uint8Array(offset + refs.reduce((sum, r) => sum + r.values.byteLength, 0));
  new DataView(bytes.buffer).setUint32(0, header.length, true);
  bytes.set(header, 4);
  for (const { values } of refs) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
    offset += values.byteLength;
  }
  return bytes;
}

/** Reads a runnable package: the graph and its workers' weights, checked against each other. */
export function unpackRunnable(bytes: Uint8Array): { graph: ModelGraph; weights: ModelWeights } {
  const fail = (why: string): never => {
    throw new ModelError('ERR_MODEL_PACKAGE', `unpackRunnable: ${why}`);
  };
  if (bytes.byteLength < 4 || bytes.byteLength > MAX_PACKAGE_BYTES) fail(`${bytes.byteLength} bytes is not a runnable package`);
  const headerBytes = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (headerBytes > MAX_HEADER_BYTES || 4 + headerBytes > bytes.byteLength) fail(`header of ${headerBytes} bytes does not fit`);
  let header: { format?: unknown; graph?: ModelGraph; weights?: { name: string; shape: number[] }[] };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + headerBytes))) as typeof header;
  } catch (err) {
    return fail(`header is not JSON (${(err as Error).message})`);
  }
  if (header.format !== RUNNABLE_FORMAT) fail(`format ${JSON.stringify(header.format)}, expected ${RUNNABLE_FORMAT}`);
  const graph = header.graph;
  const ordered = (nodes: unknown): boolean =>
    Array.isArray(nodes) &&
    nodes.every((node: unknown, i) => {
      const n = node as { id?: unknown; inputs?: unknown } | null;
      return n?.id === i && Array.isArray(n.inputs) && n.inputs.every((p: unknown) => typeof p === 'number' && Number.isInteger(p) && p >= 0 && p < i);
    });
  if (!graph || !ordered(graph.nodes)) return fail('the graph is not a topologically ordered node list');
  if (!Array.isArray(header.weights)) return fail('no weight list');
  const dense = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = pad4(4 + headerBytes);
  for (const { name, shape } of header.weights) {
    if (typeof name !== 'string' || !Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`malformed weight ${JSON.stringify(name)}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (offset + 4 * count > bytes.byteLength) fail(`weight '${name}' runs past the end`);
    dense.set(name, { shape, values: new Float32Array(bytes.slice(offset, offset + 4 * count).buffer) });
    offset += 4 * count;
  }
  if (offset !== bytes.byteLength) fail(`extra ${bytes.byteLength - offset} bytes after the weights`);
  for (const name of workerWeightNames(graph)) if (!dense.has(name)) fail(`weight '${name}' is missing`);
  return { graph, weights: { dense, sparse: new Map() } };
}

/** Hex SHA-256 of the bytes: the package's name everywhere. */
export async function contentHash(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
