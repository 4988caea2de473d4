/**
 * Fuzzing what the owner does with a worker's bytes: the owner's MessageLink and PeerSession fed
 * hostile streams (wire/hostile-frames.ts). Nothing may throw out of the frame handler or reject
 * unhandled, the link never holds more than its wire limits allow, and a peer whose bytes break
 * the wire format is dropped with that reason. A standalone Reassembler fed the same frames is
 * the oracle for "these bytes break the wire format". Seeded; run counts are in the test names.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshError, WireDecodeError } from '../errors.ts';
import type { DeviceInfo } from './control.ts';
import { MessageLink } from './link.ts';
import { PeerSession, type SessionAuth } from './session.ts';
import { memoryTransportPair, type FrameTransport } from './transport.ts';
import { hostileStreamArb } from './wire/hostile-frames.ts';
import { Reassembler, type WireLimits } from './wire/index.ts';

const SEED = 0x0a11_ce55;
const device = (name: string): DeviceInfo => ({ deviceId: `id-${name}-0000`, name, backends: ['wasm'], cores: 4, memoryGb: 4, userAgent: 'fuzz' });
const JOIN_KEY = 'fuzz-room-join-key-0123456789';
const OWNER_FP = 'sha-256 0A:0B:0C';
const WORKER_FP = 'sha-256 1A:1B:1C';
const ownerAuth: SessionAuth = { joinKey: JOIN_KEY, binding: { local: OWNER_FP, remote: WORKER_FP } };
const workerAuth: SessionAuth = { joinKey: JOIN_KEY, binding: { local: WORKER_FP, remote: OWNER_FP } };
/** No heartbeat verdicts during a run: only the bytes decide. */
const QUIET = { heartbeatMs: 60_000, silenceMs: 60_000, helloTimeoutMs: 60_000 };
/** Small enough that the generated messages reach the caps. */
const LIMITS: Partial<WireLimits> = { maxMessageBytes: 4_096, maxPartialMessages: 2, maxPartialBytes: 6_000 };
/** Why an owner may drop a worker for its bytes; a drop always carries one of these. */
const DROP_CODES = ['ERR_WIRE_DECODE', 'ERR_VERSION_MISMATCH', 'ERR_PROTOCOL', 'ERR_PEER_LEFT', 'ERR_REFUSED'];

/** A transport whose frames the test delivers by hand, synchronously, as a data channel's event would. */
class HandFedTransport implements FrameTransport {
  readonly bufferedAmount = 0;
  isOpen = true;
  onFrame: ((frame: Uint8Array) => void) | null = null;
  onClose: ((error: MeshError | null) => void) | null = null;
  send(): void {}
  waitForDrain(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    const onClose = this.onClose;
    this.onClose = null;
    onClose?.(null);
  }
  deliver(frame: Uint8Array): void {
    this.onFrame?.(frame);
  }
}

/** Whether the oracle says these bytes break the wire format, and at which frame. */
function firstWireError(frames: readonly Uint8Array[]): { index: number; error: WireDecodeError } | null {
  const oracle = new Reassembler(LIMITS);
  for (const [index, frame] of frames.entries()) {
    try {
      oracle.push(frame);
    } catch (err) {
      if (err instanceof WireDecodeError) return { index, error: err };
      throw err;
    }
  }
  return null;
}

function expectBounded(link: MessageLink): void {
  expect(link.partialMessages).toBeLessThanOrEqual(LIMITS.maxPartialMessages as number);
  expect(link.partialBytes).toBeLessThanOrEqual(LIMITS.maxPartialBytes as number);
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(async () => {
  await new Promise((r) => setTimeout(r, 50)); // let the last async handlers settle
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('owner link + session fuzz (seeded)', () => {
  it('3,000 hostile streams before the handshake: nothing thrown, held bytes within the limits, wire breakers dropped with the decoder’s reason', () => {
    let dropsForWire = 0;
    fc.assert(
      fc.property(hostileStreamArb, (frames) => {
        const transport = new HandFedTransport();
        const link = new MessageLink(transport, { limits: LIMITS });
        const session = new PeerSession(link, 'owner', device('owner'), ownerAuth, QUIET);
        let sessionReason: MeshError | null | undefined;
        session.on('close', (reason) => (sessionReason = reason));
        const expected = firstWireError(frames);
        for (const [index, frame] of frames.entries()) {
          if (link.isDestroyed) break;
          expect(() => transport.deliver(frame)).not.toThrow();
          expectBounded(link);
          if (expected?.index === index) {
            // The first frame that breaks the format drops the peer, with the same reason the oracle gives.
            expect(link.isDestroyed).toBe(true);
            expect(link.reason?.code).toBe(expected.error.code);
            dropsForWire++;
          }
        }
        if (link.isDestroyed) {
          expect(DROP_CODES).toContain(link.reason?.code);
          expect(sessionReason).toBe(link.reason);
          expect(link.partialBytes).toBe(0);
        }
        session.drop(new MeshError('ERR_PEER_LEFT', 'end of the case'));
        expect(transport.isOpen).toBe(false);
      }),
      { seed: SEED, numRuns: 3_000 },
    );
    expect(dropsForWire).toBeGreaterThan(1_000);
  });

  it('300 hostile streams from a worker that passed the handshake (channel proof included): the owner drops it with a reason, bounded, no unhandled rejection', async () => {
    let dropped = 0;
    await fc.assert(
      fc.asyncProperty(hostileStreamArb, async (frames) => {
        const [ownerSide, workerSide] = memoryTransportPair();
        const ownerLink = new MessageLink(ownerSide, { limits: LIMITS });
        const owner = new PeerSession(ownerLink, 'owner', device('owner'), ownerAuth, QUIET);
        const worker = new PeerSession(new MessageLink(workerSide), 'worker', device('worker'), workerAuth, QUIET);
        const ownerClosed = new Promise<MeshError | null>((resolve) => owner.on('close', resolve));
        await Promise.all([new Promise((r) => owner.on('ready', r)), new Promise((r) => worker.on('ready', r))]);

        // The worker's page goes rogue: its own link stays up, the bytes below go out beside it.
        const expected = firstWireError(frames);
        for (const frame of frames) if (workerSide.isOpen) workerSide.send(frame);
        await new Promise((r) => setTimeout(r, 1)); // after every frame's delivery task
        expectBounded(ownerLink);
        if (expected) {
          const reason = await ownerClosed;
          expect(reason).toBeInstanceOf(MeshError);
          expect(DROP_CODES).toContain(reason?.code);
          expect(reason?.message.length).toBeGreaterThan(12);
          dropped++;
        }
        if (ownerLink.isDestroyed) expect(ownerLink.partialBytes).toBe(0);
        owner.drop(new MeshError('ERR_PEER_LEFT', 'end of the case'));
        worker.drop(new MeshError('ERR_PEER_LEFT', 'end of the case'));
      }),
      { seed: SEED + 1, numRuns: 300 },
    );
    expect(dropped).toBeGreaterThan(100);
  });
});
