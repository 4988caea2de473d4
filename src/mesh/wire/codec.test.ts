import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireDecodeError } from '../../errors.ts';
import { encodeMessage, Reassembler, type OutgoingMessage } from './codec.ts';
import { FRAME_HEADER_BYTES, MessageKind, writeFrameHeader } from './frame.ts';
import { wireTensor, type WireTensor } from './message.ts';

const shapeArb = fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 0, maxLength: 4 });
const tensorArb: fc.Arbitrary<WireTensor> = fc.oneof(
  shapeArb.chain((shape) =>
    fc.float32Array({ minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) }).map((d) => wireTensor(shape, d)),
  ),
  shapeArb.chain((shape) =>
    fc.int32Array({ minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) }).map((d) => wireTensor(shape, d)),
  ),
  shapeArb.chain((shape) =>
    fc.uint8Array({ minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) }).map((d) => wireTensor(shape, d)),
  ),
);
const messageArb: fc.Arbitrary<OutgoingMessage> = fc.record({
  kind: fc.constantFrom(...Object.values(MessageKind)),
  requestId: fc.nat({ max: 0xffffffff }),
  meta: fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown), // normalise -0 and the like
  tensors: fc.array(tensorArb, { maxLength: 4 }),
});

/** Copies a frame into a fresh buffer, as a data channel delivers it. */
const delivered = (frame: Uint8Array): Uint8Array => new Uint8Array(frame);

function sameTensors(actual: WireTensor[], expected: readonly WireTensor[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((t, i) => {
    const e = expected[i] as WireTensor;
    expect(t.dtype).toBe(e.dtype);
    expect(t.shape).toEqual(e.shape);
    // Compare bytes so NaN payloads and -0 count as equal only when they are bit-identical.
    expect(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).toEqual(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength));
  });
}

describe('wire codec: round trip', () => {
  it('any message survives any chunk size', () => {
    fc.assert(
      fc.property(messageArb, fc.integer({ min: 1, max: 300 }), fc.nat({ max: 0xffffffff }), (message, chunkBytes, messageId) => {
        const reassembler = new Reassembler();
        const frames = encodeMessage(message, messageId, chunkBytes);
        const results = frames.map((f) => reassembler.push(delivered(f)));
        expect(results.slice(0, -1).every((r) => r === null)).toBe(true);
        const got = results.at(-1);
        expect(got).toMatchObject({ kind: message.kind, messageId, requestId: message.requestId, meta: message.meta });
        sameTensors(got?.tensors ?? [], message.tensors ?? []);
        expect(reassembler.partialBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('reassembles interleaved chunked messages', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 2, maxLength: 5 }), fc.integer({ min: 8, max: 64 }), fc.nat(), (messages, chunkBytes, seed) => {
        const streams = messages.map((m, i) => encodeMessage(m, i + 1, chunkBytes));
        const reassembler = new Reassembler();
        const done = new Map<number, unknown>();
        // Round-robin with a seeded skip, preserving each message's own chunk order.
        let turn = seed;
        while (streams.some((s) => s.length > 0)) {
          const live = streams.map((s, i) => [s, i] as const).filter(([s]) => s.length > 0);
          const [stream, index] = live[turn++ % live.length] as (typeof live)[number];
          const result = reassembler.push(delivered(stream.shift() as Uint8Array));
          if (result) done.set(index, result.meta);
        }
        expect([...done.keys()].sort()).toEqual(messages.map((_, i) => i));
        messages.forEach((m, i) => expect(done.get(i)).toEqual(m.meta));
      }),
      { numRuns: 100 },
    );
  });

  it('hands out received Float32 tensors as views, not copies', () => {
    const frame = encodeMessage({ kind: MessageKind.Request, tensors: [wireTensor([2, 3], new Float32Array(6).fill(1.5))] }, 1, 4096)[0] as Uint8Array;
    const received = delivered(frame);
    const msg = new Reassembler().push(received);
    expect(msg?.tensors[0]?.data.buffer).toBe(received.buffer);
  });
});

describe('wire codec: bad input', () => {
  const valid = encodeMessage({ kind: MessageKind.Request, requestId: 7, meta: { method: 'x' }, tensors: [wireTensor([4, 4], new Float32Array(16))] }, 1, 4096)[0] as Uint8Array;

  const cases: [string, (f: Uint8Array) => Uint8Array, RegExp][] = [
    ['short header', (f) => f.slice(0, FRAME_HEADER_BYTES - 1), /shorter than/],
    ['truncated body', (f) => f.slice(0, f.length - 4), /single-frame message has/],
    ['unknown kind', (f) => ((f[1] = 250), f), /unknown message kind 250/],
    ['reserved flags', (f) => ((f[2] = 1), f), /reserved flags/],
    ['chunk index past count', (f) => ((f[16] = 3), f), /impossible/],
    ['zero chunks', (f) => ((f[20] = 0), f), /impossible/],
    ['body over the limit', (f) => ((f[15] = 0x7f), f), /exceeds the limit/],
  ];
  it.each(cases)('rejects a frame with %s', (_name, corrupt, message) => {
    const reassembler = new Reassembler();
    expect(() => reassembler.push(corrupt(delivered(valid)))).toThrow(message);
    expect(reassembler.push(delivered(valid))?.meta).toEqual({ method: 'x' }); // still works after
  });

  it('names a wire version mismatch as such', () => {
    const frame = delivered(valid);
    frame[0] = 2;
    let caught: unknown;
    try {
      new Reassembler().push(frame);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(WireDecodeError);
    expect((caught as WireDecodeError).code).toBe('ERR_VERSION_MISMATCH');
    expect((caught as WireDecodeError).message).toMatch(/reload/);
  });

  it('rejects metadata nested deeper than the limit before parsing it, and counts no brackets inside strings', () => {
    const deep = JSON.parse('['.repeat(33) + ']'.repeat(33)) as unknown;
    expect(() => new Reassembler().push(encodeMessage({ kind: MessageKind.Request, meta: deep }, 1, 4096)[0] as Uint8Array)).toThrow(/nested 33 deep/);
    const text = { note: '[[[[{{{{'.repeat(10) + '\\"[[[' };
    expect(new Reassembler().push(encodeMessage({ kind: MessageKind.Request, meta: { a: [text] } }, 1, 4096)[0] as Uint8Array)?.meta).toEqual({ a: [text] });
  });

  it('rejects trailing bytes after the last tensor', () => {
    const frames = encodeMessage({ kind: MessageKind.Request, meta: 1, tensors: [wireTensor([1], new Float32Array(1))] }, 1, 4096);
    const frame = frames[0] as Uint8Array;
    const longer = new Uint8Array(frame.length + 4);
    longer.set(frame);
    new DataView(longer.buffer).setUint32(12, frame.length + 4 - FRAME_HEADER_BYTES, true);
    expect(() => new Reassembler().push(longer)).toThrow(/extra 4 of/);
  });

  it.each([
    ['maxTensors', { maxTensors: 1 }, /2 tensors exceed/],
    ['maxRank', { maxRank: 1 }, /rank 2/],
    ['maxMetaBytes', { maxMetaBytes: 4 }, /metadata of/],
    ['maxMessageBytes', { maxMessageBytes: 16 }, /exceeds the limit/],
  ])('enforces %s', (_name, limits, message) => {
    const frame = encodeMessage({ kind: MessageKind.Request, meta: 'hello', tensors: [wireTensor([1, 1], new Float32Array(1)), wireTensor([1], new Float32Array(1))] }, 1, 4096)[0] as Uint8Array;
    expect(() => new Reassembler(limits).push(delivered(frame))).toThrow(message);
  });

  it('caps memory held for partial messages and frees it on clear()', () => {
    const big = encodeMessage({ kind: MessageKind.Request, tensors: [wireTensor([1000], new Float32Array(1000))] }, 1, 1000);
    const reassembler = new Reassembler({ maxPartialBytes: 6000, maxPartialMessages: 1 });
    reassembler.push(delivered(big[0] as Uint8Array));
    expect(reassembler.partialBytes).toBeGreaterThan(4000);
    const other = encodeMessage({ kind: MessageKind.Request, tensors: [wireTensor([1000], new Float32Array(1000))] }, 2, 1000);
    expect(() => reassembler.push(delivered(other[0] as Uint8Array))).toThrow(/in flight/);
    reassembler.clear();
    expect(reassembler.partialBytes).toBe(0);
    expect(reassembler.partialCount).toBe(0);
  });

  it('holds memory for what has arrived, not for what a first frame declares', () => {
    const declared = 48 * 1024 * 1024;
    const frame = new Uint8Array(FRAME_HEADER_BYTES + 1000);
    writeFrameHeader(frame, { kind: MessageKind.Request, messageId: 1, requestId: 1, totalBytes: declared, chunkIndex: 0, chunkCount: 2 });
    const reassembler = new Reassembler();
    reassembler.push(frame);
    expect(reassembler.partialBytes).toBe(declared);
    expect(reassembler.allocatedBytes).toBeLessThanOrEqual(1024 * 1024);
  });

  it('grows a partial body as chunks arrive and hands out the exact body at the end', () => {
    const tensor = wireTensor([700_000], Float32Array.from({ length: 700_000 }, (_, i) => i));
    const frames = encodeMessage({ kind: MessageKind.Response, requestId: 3, tensors: [tensor] }, 5, 64 * 1024);
    const reassembler = new Reassembler();
    let peak = 0;
    let message = null;
    for (const frame of frames) {
      message = reassembler.push(delivered(frame));
      peak = Math.max(peak, reassembler.allocatedBytes);
    }
    expect(peak).toBe(frames.reduce((sum, f) => sum + f.byteLength - FRAME_HEADER_BYTES, 0));
    expect(reassembler.allocatedBytes).toBe(0);
    const got = message?.tensors[0]?.data as Float32Array;
    expect(got.length).toBe(700_000);
    expect(got.every((v, i) => v === i)).toBe(true);
  });

  it('rejects a chunk that does not continue its message', () => {
    const frames = encodeMessage({ kind: MessageKind.Request, tensors: [wireTensor([100], new Float32Array(100))] }, 1, 64);
    const reassembler = new Reassembler();
    reassembler.push(delivered(frames[0] as Uint8Array));
    expect(() => reassembler.push(delivered(frames[2] as Uint8Array))).toThrow(/does not continue/);
    expect(() => new Reassembler().push(delivered(frames[1] as Uint8Array))).toThrow(/never started/);
  });

  it('lets only WireDecodeError escape for random bytes and random corruptions, and keeps working', () => {
    const reassembler = new Reassembler({ maxMessageBytes: 1 << 20, maxPartialBytes: 1 << 22 });
    const check = (bytes: Uint8Array) => {
      try {
        reassembler.push(bytes);
      } catch (err) {
        if (!(err instanceof WireDecodeError)) throw err;
      }
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.tuple(fc.nat({ max: valid.length - 1 }), fc.nat({ max: 255 })).map(([i, b]) => {
            const f = delivered(valid);
            f[i] = b;
            return f;
          }),
        ),
        (bytes) => check(bytes),
      ),
      { numRuns: 2_000 },
    );
    reassembler.clear();
    expect(reassembler.push(delivered(valid))?.requestId).toBe(7);
  });
});
