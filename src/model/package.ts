/**
 * A model as one byte string, addressed by its SHA-256: a TF.js model's `model.json` topology and
 * weight manifest plus its weight bytes. This is what travels to workers that cannot fetch the
 * model themselves (a model dropped into the owner's page), and what they cache by hash.
 *
 *   headerBytes u32 LE | header (UTF-8 JSON: { format, modelTopology, weightSpecs }) | pad to 4 | weight data
 */
import { ModelError } from './errors.ts';

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

/** Hex SHA-256 of the bytes: the package's name everywhere. */
export async function contentHash(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
