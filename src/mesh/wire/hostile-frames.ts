/**
 * For fuzz tests only: fast-check arbitraries of what a hostile peer can put on a data channel.
 * Valid messages are encoded and then corrupted where it hurts (header fields, body lengths,
 * counts, dtypes, ranks, dimensions, chunk order), so most cases get past the first check and
 * reach the deeper ones; pure random bytes and random headers are mixed in.
 */
import fc from 'fast-check';
import { encodeMessage, type OutgoingMessage } from './codec.ts';
import { FRAME_HEADER_BYTES, MessageKind, WIRE_VERSION, writeFrameHeader } from './frame.ts';
import { wireTensor, type WireTensor } from './message.ts';

const pad4 = (n: number): number => (n + 3) & ~3;
const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Small tensors of every dtype, rank 0–4. */
export const tensorArb: fc.Arbitrary<WireTensor> = fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 4 }).chain((shape) => {
  const n = product(shape);
  return fc.oneof(
    fc.float32Array({ minLength: n, maxLength: n }).map((d) => wireTensor(shape, d)),
    fc.int32Array({ minLength: n, maxLength: n }).map((d) => wireTensor(shape, d)),
    fc.uint8Array({ minLength: n, maxLength: n }).map((d) => wireTensor(shape, d)),
  );
});

/** Metadata like the mesh's own: control messages, runtime requests and replies, or any JSON. */
const metaArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ t: fc.double() }),
  fc.record({ reason: fc.string({ maxLength: 30 }) }),
  fc.record({ code: fc.constantFrom('ERR_X', 'bad code', ''), message: fc.string({ maxLength: 30 }) }),
  fc.record({ method: fc.constantFrom('runtime.fc', 'runtime.spatial', 'mesh.probe', 'x'), planId: fc.string({ maxLength: 8 }), nodeId: fc.integer() }),
  fc.record({ computeMs: fc.double(), computeStartMs: fc.double(), computeEndMs: fc.double() }),
  fc.jsonValue({ maxDepth: 3 }),
).map((v) => JSON.parse(JSON.stringify(v ?? null)) as unknown);

export const messageArb: fc.Arbitrary<OutgoingMessage> = fc.record({
  kind: fc.constantFrom(...Object.values(MessageKind)),
  requestId: fc.nat({ max: 0xffffffff }),
  meta: metaArb,
  tensors: fc.array(tensorArb, { maxLength: 3 }),
});

/** Where each field of an encoded body lies (byte offsets in the body), from the message itself. */
function bodyFieldOffsets(message: OutgoingMessage): { metaLength: number; tensorCount: number; dtypes: number[]; ranks: number[]; dims: number[] } {
  const metaBytes = new TextEncoder().encode(JSON.stringify(message.meta ?? null)).length;
  const tensorCount = 4 + pad4(metaBytes);
  const dtypes: number[] = [];
  const ranks: number[] = [];
  const dims: number[] = [];
  let offset = tensorCount + 4;
  for (const t of message.tensors ?? []) {
    dtypes.push(offset);
    ranks.push(offset + 1);
    for (let d = 0; d < t.shape.length; d++) dims.push(offset + 4 + 4 * d);
    offset += 4 + 4 * t.shape.length;
  }
  return { metaLength: 0, tensorCount, dtypes, ranks, dims };
}

/** Header field offsets (frame.ts's layout). */
const HEADER_FIELDS = { version: [0, 1], kind: [1, 1], flags: [2, 2], messageId: [4, 4], requestId: [8, 4], totalBytes: [12, 4], chunkIndex: [16, 4], chunkCount: [20, 4] } as const;
type HeaderField = keyof typeof HEADER_FIELDS;

/** Values that sit on boundaries: zero, one, limits, the largest of each width. */
const edgeValueArb = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 7, 8, 9, 64, 255, 256, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 64 * 1024 * 1024, 64 * 1024 * 1024 + 1),
  fc.nat({ max: 0xffffffff }),
);

type Mutation =
  | { op: 'header'; frame: number; field: HeaderField; value: number }
  | { op: 'body'; field: 'metaLength' | 'tensorCount' | 'dtype' | 'rank' | 'dim'; which: number; value: number }
  | { op: 'byte'; frame: number; at: number; value: number }
  | { op: 'truncate'; frame: number; keep: number }
  | { op: 'extend'; frame: number; extra: Uint8Array }
  | { op: 'drop' | 'duplicate'; frame: number }
  | { op: 'swap'; a: number; b: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('header' as const), frame: fc.nat(), field: fc.constantFrom(...(Object.keys(HEADER_FIELDS) as HeaderField[])), value: edgeValueArb }),
  fc.record({ op: fc.constant('body' as const), field: fc.constantFrom('metaLength' as const, 'tensorCount' as const, 'dtype' as const, 'rank' as const, 'dim' as const), which: fc.nat(), value: edgeValueArb }),
  fc.record({ op: fc.constant('byte' as const), frame: fc.nat(), at: fc.nat(), value: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), frame: fc.nat(), keep: fc.nat() }),
  fc.record({ op: fc.constant('extend' as const), frame: fc.nat(), extra: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constantFrom('drop' as const, 'duplicate' as const), frame: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
);

function writeUint(frame: Uint8Array, at: number, width: number, value: number): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (at + width > frame.byteLength) return;
  if (width === 1) view.setUint8(at, value & 0xff);
  else if (width === 2) view.setUint16(at, value & 0xffff, true);
  else view.setUint32(at, value >>> 0, true);
}

/** Applies one mutation to the frames of `message` (encoded with `chunkBytes` per frame). */
function mutate(frames: Uint8Array[], message: OutgoingMessage, chunkBytes: number, m: Mutation): Uint8Array[] {
  if (frames.length === 0) return frames;
  const pick = (i: number) => i % frames.length;
  const out: Uint8Array[] = frames.map((f) => f.slice());
  switch (m.op) {
    case 'header': {
      const [at, width] = HEADER_FIELDS[m.field];
      writeUint(out[pick(m.frame)] as Uint8Array, at, width, m.value);
      return out;
    }
    case 'body': {
      const fields = bodyFieldOffsets(message);
      const candidates = m.field === 'metaLength' ? [fields.metaLength] : m.field === 'tensorCount' ? [fields.tensorCount] : m.field === 'dtype' ? fields.dtypes : m.field === 'rank' ? fields.ranks : fields.dims;
      if (candidates.length === 0) return out;
      const bodyOffset = candidates[m.which % candidates.length] as number;
      const width = m.field === 'dtype' || m.field === 'rank' ? 1 : 4;
      // The field's place in the chunked stream; a field split across two chunks is written in the first only.
      const frame = out[Math.floor(bodyOffset / chunkBytes)];
      if (frame) writeUint(frame, FRAME_HEADER_BYTES + (bodyOffset % chunkBytes), width, m.value);
      return out;
    }
    case 'byte': {
      const frame = out[pick(m.frame)] as Uint8Array;
      frame[m.at % frame.length] = m.value;
      return out;
    }
    case 'truncate': {
      const i = pick(m.frame);
      out[i] = (out[i] as Uint8Array).slice(0, m.keep % (out[i] as Uint8Array).length);
      return out;
    }
    case 'extend': {
      const i = pick(m.frame);
      const longer = new Uint8Array((out[i] as Uint8Array).length + m.extra.length);
      longer.set(out[i] as Uint8Array);
      longer.set(m.extra, (out[i] as Uint8Array).length);
      out[i] = longer;
      return out;
    }
    case 'drop':
      out.splice(pick(m.frame), 1);
      return out;
    case 'duplicate':
      out.splice(pick(m.frame), 0, (out[pick(m.frame)] as Uint8Array).slice());
      return out;
    case 'swap': {
      const a = pick(m.a);
      const b = pick(m.b);
      const first = out[a] as Uint8Array;
      out[a] = out[b] as Uint8Array;
      out[b] = first;
      return out;
    }
  }
}

/** One valid message, encoded with a random chunk size, then 1–3 corruptions. */
export const corruptedFramesArb: fc.Arbitrary<Uint8Array[]> = fc
  .record({ message: messageArb, chunkBytes: fc.integer({ min: 4, max: 200 }), messageId: fc.nat({ max: 0xffffffff }), mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) })
  .map(({ message, chunkBytes, messageId, mutations }) => mutations.reduce((frames, m) => mutate(frames, message, chunkBytes, m), encodeMessage(message, messageId, chunkBytes)));

/** A header that passes the version, kind and flags checks, with random numbers after it. */
export const randomHeaderFrameArb: fc.Arbitrary<Uint8Array> = fc
  .record({
    kind: fc.constantFrom(...Object.values(MessageKind)),
    messageId: fc.nat({ max: 3 }),
    requestId: edgeValueArb,
    totalBytes: edgeValueArb,
    chunkIndex: fc.oneof(fc.nat({ max: 3 }), edgeValueArb),
    chunkCount: fc.oneof(fc.integer({ min: 1, max: 4 }), edgeValueArb),
    chunk: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ chunk, ...header }) => {
    const frame = new Uint8Array(FRAME_HEADER_BYTES + chunk.length);
    writeFrameHeader(frame, header);
    frame.set(chunk, FRAME_HEADER_BYTES);
    return frame;
  });

/** Bytes with no structure at all, sometimes starting with the right version byte. */
export const randomBytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 100 }),
  fc.uint8Array({ minLength: 1, maxLength: 100 }).map((b) => ((b[0] = WIRE_VERSION), b)),
);

/** A hostile stream: valid messages, corrupted ones, random headers and random bytes, in any order. */
export const hostileStreamArb: fc.Arbitrary<Uint8Array[]> = fc
  .array(
    fc.oneof(
      { weight: 2, arbitrary: fc.tuple(messageArb, fc.integer({ min: 8, max: 300 }), fc.nat({ max: 3 })).map(([m, chunk, id]) => encodeMessage(m, id, chunk)) },
      { weight: 4, arbitrary: corruptedFramesArb },
      { weight: 1, arbitrary: randomHeaderFrameArb.map((f) => [f]) },
      { weight: 1, arbitrary: randomBytesArb.map((f) => [f]) },
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((groups) => groups.flat());
