/**
 * Fuzzing the decoder and reassembler with what a hostile peer can send (hostile-frames.ts).
 * Seeded, so a failure reproduces; the run counts are in the test names and add up with
 * src/mesh/owner-link.fuzz.test.ts and src/runtime/worker-executor.fuzz.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireDecodeError } from '../../errors.ts';
import { encodeMessage, Reassembler, type IncomingMessage } from './codec.ts';
import { corruptedFramesArb, hostileStreamArb, randomBytesArb, randomHeaderFrameArb } from './hostile-frames.ts';
import { DEFAULT_WIRE_LIMITS, type WireLimits } from './limits.ts';
import { MessageKind } from './frame.ts';
import { elementCount, wireTensor } from './message.ts';

const SEED = 0x0d0c_0de8;
/** Tight limits so the cap paths are reached with small generated messages. */
const TIGHT: WireLimits = { maxMessageBytes: 2_048, maxMetaBytes: 256, maxMetaDepth: 3, maxTensors: 2, maxRank: 3, maxPartialMessages: 2, maxPartialBytes: 3_000 };

const BYTES_PER_ELEMENT = { float32: 4, int32: 4, uint8: 1 } as const;

/** What a decoded message must satisfy, whatever bytes it came from. */
function checkWellFormed(message: IncomingMessage, limits: WireLimits): void {
  expect(message.bytes).toBeLessThanOrEqual(limits.maxMessageBytes);
  expect(message.tensors.length).toBeLessThanOrEqual(limits.maxTensors);
  for (const t of message.tensors) {
    expect(['float32', 'int32', 'uint8']).toContain(t.dtype);
    expect(t.shape.length).toBeLessThanOrEqual(limits.maxRank);
    expect(t.shape.every((d) => Number.isInteger(d) && d >= 0)).toBe(true);
    expect(t.data.length).toBe(elementCount(t.shape));
    expect(t.data.BYTES_PER_ELEMENT).toBe(BYTES_PER_ELEMENT[t.dtype]);
  }
}

/**
 * Feeds every frame, going on after errors as a careless caller would: only WireDecodeError may
 * escape, and what is held never passes the limits.
 */
function feed(reassembler: Reassembler, frames: readonly Uint8Array[]): { errors: number; messages: number } {
  let errors = 0;
  let messages = 0;
  for (const frame of frames) {
    try {
      const message = reassembler.push(frame);
      if (message) {
        messages++;
        checkWellFormed(message, reassembler.limits);
      }
    } catch (err) {
      if (!(err instanceof WireDecodeError)) throw err;
      expect(err.code).toMatch(/^ERR_(WIRE_DECODE|VERSION_MISMATCH)$/);
      errors++;
    }
    expect(reassembler.partialCount).toBeLessThanOrEqual(reassembler.limits.maxPartialMessages);
    expect(reassembler.partialBytes).toBeLessThanOrEqual(reassembler.limits.maxPartialBytes);
    expect(reassembler.allocatedBytes).toBeLessThanOrEqual(reassembler.partialBytes);
  }
  return { errors, messages };
}

/** After any abuse and a clear() (what the link does on drop), the same reassembler still decodes. */
function stillWorks(reassembler: Reassembler): void {
  reassembler.clear();
  expect(reassembler.allocatedBytes).toBe(0);
  const frames = encodeMessage({ kind: MessageKind.Response, requestId: 42, meta: { ok: true }, tensors: [wireTensor([3], new Float32Array([1, 2, 3]))] }, 7, 16);
  const results = frames.map((f) => reassembler.push(f));
  expect(results.at(-1)).toMatchObject({ requestId: 42, meta: { ok: true } });
}

describe('wire decoder fuzz (seeded)', () => {
  it('3,000 corrupted valid messages (header fields, lengths, counts, dtypes, ranks, dims, chunk order): only WireDecodeError, bounded, still usable', () => {
    let errors = 0;
    fc.assert(
      fc.property(corruptedFramesArb, fc.boolean(), (frames, tight) => {
        const reassembler = new Reassembler(tight ? TIGHT : {});
        errors += feed(reassembler, frames).errors;
        stillWorks(reassembler);
      }),
      { seed: SEED, numRuns: 3_000 },
    );
    // The corruptions are not all harmless (a flipped metadata digit is): most must be caught.
    expect(errors).toBeGreaterThan(1_500);
  });

  it('2,000 hostile streams (valid, corrupted, random headers and random bytes interleaved): only WireDecodeError, bounded, still usable', () => {
    fc.assert(
      fc.property(hostileStreamArb, fc.boolean(), (frames, tight) => {
        const reassembler = new Reassembler(tight ? TIGHT : {});
        feed(reassembler, frames);
        stillWorks(reassembler);
      }),
      { seed: SEED + 1, numRuns: 2_000 },
    );
  });

  it('1,000 runs of random headers and random bytes against one long-lived reassembler: bounded throughout', () => {
    const reassembler = new Reassembler({ ...DEFAULT_WIRE_LIMITS, maxPartialBytes: 1 << 20 });
    fc.assert(
      fc.property(fc.array(fc.oneof(randomHeaderFrameArb, randomBytesArb), { minLength: 1, maxLength: 8 }), (frames) => {
        feed(reassembler, frames);
      }),
      { seed: SEED + 2, numRuns: 1_000 },
    );
    stillWorks(reassembler);
  });

  it('a message that declares more than the partial limit is refused before anything is allocated for it', () => {
    const reassembler = new Reassembler({ maxPartialBytes: 1_000 });
    const frames = encodeMessage({ kind: MessageKind.Request, tensors: [wireTensor([500], new Float32Array(500))] }, 1, 100);
    expect(() => reassembler.push(frames[0] as Uint8Array)).toThrow(WireDecodeError);
    expect(reassembler.allocatedBytes).toBe(0);
  });
});
