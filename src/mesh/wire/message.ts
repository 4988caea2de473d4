/**
 * A message body: JSON metadata plus zero or more tensors as raw little-endian bytes.
 *
 *   metaBytes u32 | meta (UTF-8 JSON) | pad to 4 | tensorCount u32 |
 *   per tensor: dtype u8, rank u8, 0 u16, dims u32×rank | tensor data, each padded to 4 bytes
 *
 * Tensor data is 4-byte aligned inside the body, so a received Float32 tensor is a view on the
 * received bytes, not a copy.
 */
import { WireDecodeError } from '../../errors.ts';
import type { WireLimits } from './limits.ts';

export type DType = 'float32' | 'int32' | 'uint8';
export type TensorData = Float32Array | Int32Array | Uint8Array;

export interface WireTensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** dtype codes on the wire: never renumber, only add. */
const DTYPE_CODES: Record<DType, number> = { float32: 1, int32: 2, uint8: 3 };
const DTYPES_BY_CODE = new Map(Object.entries(DTYPE_CODES).map(([name, code]) => [code, name as DType]));
const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, int32: 4, uint8: 1 };

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const pad4 = (n: number): number => (n + 3) & ~3;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Makes a tensor for sending, checking that shape and data agree. */
export function wireTensor(shape: number[], data: TensorData): WireTensor {
  const dtype: DType = data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : 'uint8';
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || elementCount(shape) !== data.length) {
    throw new RangeError(`wireTensor: shape [${shape.join(',')}] does not hold ${data.length} elements`);
  }
  return { dtype, shape, data };
}

/** Bytes of `data` in little-endian order (a view when the machine is little-endian, as all browsers are). */
function littleEndianBytes(data: TensorData): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (IS_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return bytes;
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    swapped[i] = bytes[i + 3] as number;
    swapped[i + 1] = bytes[i + 2] as number;
    swapped[i + 2] = bytes[i + 1] as number;
    swapped[i + 3] = bytes[i] as number;
  }
  return swapped;
}

/**
 * Lays out a body as a list of byte parts (the small header part, then each tensor's bytes as a
 * view, with padding parts), so large tensors are never copied into one big buffer before chunking.
 */
export function encodeBody(meta: unknown, tensors: readonly WireTensor[] = []): { parts: Uint8Array[]; totalBytes: number } {
  const metaBytes = textEncoder.encode(JSON.stringify(meta ?? null));
  let headerBytes = 4 + pad4(metaBytes.length) + 4;
  for (const t of tensors) headerBytes += 4 + 4 * t.shape.length;
  const header = new Uint8Array(headerBytes);
  const view = new DataView(header.buffer);
  view.setUint32(0, metaBytes.length, true);
  header.set(metaBytes, 4);
  let offset = 4 + pad4(metaBytes.length);
  view.setUint32(offset, tensors.length, true);
  offset += 4;
  for (const t of tensors) {
    view.setUint8(offset, DTYPE_CODES[t.dtype]);
    view.setUint8(offset + 1, t.shape.length);
    offset += 4;
    for (const d of t.shape) {
      view.setUint32(offset, d, true);
      offset += 4;
    }
  }
  const parts: Uint8Array[] = [header];
  let totalBytes = header.length;
  for (const t of tensors) {
    const bytes = littleEndianBytes(t.data);
    parts.push(bytes);
    const padding = pad4(bytes.length) - bytes.length;
    if (padding > 0) parts.push(new Uint8Array(padding));
    totalBytes += pad4(bytes.length);
  }
  return { parts, totalBytes };
}

function tensorView(dtype: DType, body: Uint8Array, offset: number, count: number): TensorData {
  const byteOffset = body.byteOffset + offset;
  const aligned = byteOffset % 4 === 0;
  switch (dtype) {
    case 'uint8':
      return body.subarray(offset, offset + count);
    case 'float32':
    case 'int32': {
      const Ctor = dtype === 'float32' ? Float32Array : Int32Array;
      if (aligned && IS_LITTLE_ENDIAN) return new Ctor(body.buffer as ArrayBuffer, byteOffset, count);
      const copy = new Ctor(count);
      const view = new DataView(body.buffer, byteOffset, count * 4);
      for (let i = 0; i < count; i++) copy[i] = dtype === 'float32' ? view.getFloat32(i * 4, true) : view.getInt32(i * 4, true);
      return copy;
    }
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]); // [ {
const CLOSERS = new Set([0x5d, 0x7d]); // ] }

/** How deeply the arrays and objects of a JSON text nest (brackets inside strings do not count). */
export function jsonDepth(bytes: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (OPENERS.has(b)) deepest = Math.max(deepest, ++depth);
    else if (CLOSERS.has(b)) depth--;
  }
  return deepest;
}

/** Reads a body written by encodeBody; every length is checked against the bytes and the limits first. */
export function decodeBody(body: Uint8Array, limits: WireLimits): { meta: unknown; tensors: WireTensor[] } {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const need = (offset: number, bytes: number, what: string) => {
    if (offset + bytes > body.byteLength) {
      throw new WireDecodeError(`truncated message: ${what} needs bytes ${offset}–${offset + bytes} of ${body.byteLength}`);
    }
  };
  need(0, 4, 'metadata length');
  const metaLength = view.getUint32(0, true);
  if (metaLength > limits.maxMetaBytes) throw new WireDecodeError(`metadata of ${metaLength} bytes exceeds the limit of ${limits.maxMetaBytes}`);
  need(4, metaLength, 'metadata');
  const metaBytes = body.subarray(4, 4 + metaLength);
  const depth = jsonDepth(metaBytes);
  if (depth > limits.maxMetaDepth) throw new WireDecodeError(`metadata nested ${depth} deep, over the limit of ${limits.maxMetaDepth}`);
  let meta: unknown;
  try {
    meta = JSON.parse(textDecoder.decode(metaBytes));
  } catch (err) {
    throw new WireDecodeError(`metadata is not UTF-8 JSON (${(err as Error).message})`);
  }
  let offset = 4 + pad4(metaLength);
  need(offset, 4, 'tensor count');
  const tensorCount = view.getUint32(offset, true);
  offset += 4;
  if (tensorCount > limits.maxTensors) throw new WireDecodeError(`${tensorCount} tensors exceed the limit of ${limits.maxTensors}`);

  const descriptors: { dtype: DType; shape: number[]; count: number }[] = [];
  let dataBytes = 0;
  for (let i = 0; i < tensorCount; i++) {
    need(offset, 4, `tensor ${i} descriptor`);
    const dtype = DTYPES_BY_CODE.get(view.getUint8(offset));
    const rank = view.getUint8(offset + 1);
    if (!dtype) throw new WireDecodeError(`tensor ${i} has unknown dtype code ${view.getUint8(offset)}`);
    if (rank > limits.maxRank) throw new WireDecodeError(`tensor ${i} has rank ${rank}, over the limit of ${limits.maxRank}`);
    if (view.getUint16(offset + 2, true) !== 0) throw new WireDecodeError(`tensor ${i} descriptor has reserved bits set`);
    offset += 4;
    need(offset, 4 * rank, `tensor ${i} shape`);
    const shape: number[] = [];
    let count = 1;
    for (let d = 0; d < rank; d++) {
      const dim = view.getUint32(offset + 4 * d, true);
      shape.push(dim);
      count *= dim;
      // Compare as we go so a hostile shape cannot overflow into a small number.
      if (count * BYTES_PER_ELEMENT[dtype] > limits.maxMessageBytes) {
        throw new WireDecodeError(`tensor ${i} of shape [${shape.join(',')},…] exceeds the message limit`);
      }
    }
    offset += 4 * rank;
    descriptors.push({ dtype, shape, count });
    dataBytes += pad4(count * BYTES_PER_ELEMENT[dtype]);
  }
  if (offset + dataBytes !== body.byteLength) {
    const found = body.byteLength - offset;
    throw new WireDecodeError(
      found < dataBytes
        ? `truncated message: tensors need ${dataBytes} bytes, ${found} found`
        : `extra ${found - dataBytes} of ${body.byteLength} bytes after the last tensor`,
    );
  }
  const tensors = descriptors.map(({ dtype, shape, count }) => {
    const data = tensorView(dtype, body, offset, count);
    offset += pad4(count * BYTES_PER_ELEMENT[dtype]);
    return { dtype, shape, data };
  });
  return { meta, tensors };
}
