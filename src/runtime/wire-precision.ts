/**
 * Activations on the wire in fewer bytes (issue 9): IEEE half floats, or 8 bits with a per-tensor
 * affine scale. The sender quantises, the receiver restores float32 before computing, so kernels
 * never see the compact form. Both ends check what they get: a peer's tensor must have exactly the
 * byte count its shape and precision imply, and a scale that is finite.
 */
import type { WirePrecision } from '../partition/index.ts';
import { wireTensor, type WireTensor } from '../mesh/index.ts';
import { RuntimeError } from './errors.ts';

export const WIRE_PRECISIONS: readonly WirePrecision[] = ['float32', 'float16', 'int8'];

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE 754 binary16 bits, rounding to nearest even; overflow saturates to ±65504 (activations, not infinities). */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? sign | 0x7e00 : sign | 0x7bff; // NaN stays NaN; ±∞ saturates
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7bff;
  if (e <= 0) {
    if (e < -10) return sign; // below half's smallest subnormal: ±0
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (rest > midpoint || (rest === midpoint && (half & 1) === 1) ? half + 1 : half);
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  if (half >= 0x7c00) return sign | 0x7bff; // rounding carried into the infinity exponent
  return sign | half;
}

/** binary16 bits → float32 value (exact). */
export function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** How a compact tensor is to be read back: the precision, and for int8 `value = offset + q · scale`. */
export interface WireEncoding {
  precision: WirePrecision;
  scale?: number;
  offset?: number;
}

/** An activation ready to send: the tensor on the wire, and what the receiver needs to restore it. */
export interface PackedActivation {
  tensor: WireTensor;
  encoding: WireEncoding;
}

/**
 * Quantises `values` (shape `shape`) for the wire. float16: 2 bytes a value, as uint8 pairs
 * (little-endian); int8: one byte a value over the tensor's [min, max] (so ReLU maps, all ≥ 0,
 * use every level), with the scale and offset in the encoding.
 */
export function packActivation(values: Float32Array, shape: readonly number[], precision: WirePrecision): PackedActivation {
  if (precision === 'float32') return { tensor: wireTensor([...shape], values), encoding: { precision } };
  if (precision === 'float16') {
    const bytes = new Uint8Array(values.length * 2);
    for (let i = 0; i < values.length; i++) {
      const h = toHalf(values[i] as number);
      bytes[2 * i] = h & 0xff;
      bytes[2 * i + 1] = h >>> 8;
    }
    return { tensor: wireTensor([...shape, 2], bytes), encoding: { precision } };
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (values.length === 0) min = max = 0;
  const scale = max > min ? (max - min) / 255 : 1;
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = Math.min(255, Math.max(0, Math.round(((values[i] as number) - min) / scale)));
  return { tensor: wireTensor([...shape], bytes), encoding: { precision, scale, offset: min } };
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The shape of the values a packed tensor holds: float16 travels as byte pairs, one extra axis of 2. */
export function valueShape(tensor: WireTensor, precision: WirePrecision): number[] {
  return precision === 'float16' ? tensor.shape.slice(0, -1) : [...tensor.shape];
}

/** `values` as they arrive after a trip over the wire at `precision` (what a receiver computes from). */
export function quantised(values: Float32Array, shape: readonly number[], precision: WirePrecision): Float32Array {
  const { tensor, encoding } = packActivation(values, shape, precision);
  return unpackActivation(tensor, encoding, shape);
}

/**
 * Restores float32 values from a tensor a peer sent, checking it is what `encoding` and the
 * expected `shape` say: a wrong dtype, size or scale is the sender's fault, never a crash here.
 */
export function unpackActivation(tensor: WireTensor | undefined, encoding: WireEncoding, shape: readonly number[]): Float32Array {
  const count = product(shape);
  const { precision } = encoding;
  const expectShape = precision === 'float16' ? [...shape, 2] : [...shape];
  const expectDtype = precision === 'float32' ? 'float32' : 'uint8';
  if (!tensor || tensor.dtype !== expectDtype || tensor.shape.join() !== expectShape.join()) {
    throw new RuntimeError('ERR_RUNTIME_REQUEST', `expected a ${precision} tensor of shape [${shape.join(', ')}], got ${tensor ? `${tensor.dtype}[${tensor.shape.join(', ')}]` : 'none'}`);
  }
  if (precision === 'float32') return tensor.data as Float32Array;
  const bytes = tensor.data as Uint8Array;
  const out = new Float32Array(count);
  if (precision === 'float16') {
    for (let i = 0; i < count; i++) out[i] = fromHalf((bytes[2 * i] as number) | ((bytes[2 * i + 1] as number) << 8));
    return out;
  }
  const { scale, offset } = encoding;
  if (typeof scale !== 'number' || typeof offset !== 'number' || !Number.isFinite(scale) || !Number.isFinite(offset) || scale <= 0) {
    throw new RuntimeError('ERR_RUNTIME_REQUEST', 'an 8-bit tensor came without a finite positive scale and a finite offset');
  }
  for (let i = 0; i < count; i++) out[i] = offset + (bytes[i] as number) * scale;
  return out;
}

/**
 * The largest error quantising a tensor whose values lie within ±`maxAbs` (range `range`) can
 * add: what a result check must allow on top of float rounding when the result travelled compact.
 */
export function quantisationError(precision: WirePrecision, maxAbs: number, range: number): number {
  if (precision === 'float16') return maxAbs * 2 ** -11; // half an ulp at 11 significant bits
  if (precision === 'int8') return range / 255 / 2 + maxAbs * 1e-7;
  return 0;
}
