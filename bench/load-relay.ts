/**
 * Junk for the relay fallback of `npm run load:signaling`: binary frames that are not relay
 * frames, a frame over the size cap, a frame into another room, and a flood of tiny valid frames.
 */
import { decodeRelayFrame, encodeRelayFrame } from '../signaling/protocol.ts';
import { sleep } from './load-client.ts';
import { answersOf, closeWithin, describeClose, liveRoom, waitFor, type ProbeContext, type ProbeResult } from './load-probe.ts';

const WAIT_MS = 3_000;

async function malformedFrames(ctx: ProbeContext): Promise<ProbeResult> {
  const room = await liveRoom(ctx.url);
  const sender = await room.join();
  const junk = [
    Uint8Array.of(200, 65, 66), // an id length longer than the frame
    Uint8Array.of(8, 0, 1, 2, 3, 4, 5, 6, 7, 9), // an id of control characters
    Uint8Array.of(0), // an empty id
    new Uint8Array(0),
  ];
  const count = 60;
  for (let i = 0; i < count; i++) sender.socket.send(junk[i % junk.length]);
  const close = await closeWithin(sender.socket, WAIT_MS);
  const received = room.owner.binaryReceived;
  await room.owner.leave();
  return {
    name: 'relay: malformed binary frames',
    sent: `${count} binary frames that are not relay frames (an id length past the end, control characters, empty)`,
    expected: 'each refused with ERR_MALFORMED, none passed on; too many in a row close the connection (4000)',
    observed: `${sender.socket.errors.get('ERR_MALFORMED')} ERR_MALFORMED, ${describeClose(close) ?? 'still open'}; the owner received ${received} frames`,
    answers: answersOf(sender.socket),
    pass: close?.code === 4000 && received === 0,
  };
}

async function oversizedFrame(ctx: ProbeContext): Promise<ProbeResult> {
  const room = await liveRoom(ctx.url);
  const sender = await room.join();
  const payloadBytes = ctx.caps.maxRelayFrameBytes + 1;
  sender.socket.send(encodeRelayFrame(room.ownerId, new Uint8Array(payloadBytes)));
  await waitFor(() => sender.socket.errors.counts.size > 0 || !sender.socket.isOpen, WAIT_MS);
  await sleep(100);
  const received = room.owner.binaryReceived;
  const open = sender.socket.isOpen;
  await Promise.all([sender.socket.leave(), room.owner.leave()]);
  return {
    name: 'relay: frame over the size cap',
    sent: `one relay frame with a ${payloadBytes}-byte payload (maxRelayFrameBytes + 1) to the owner`,
    expected: 'refused with ERR_TOO_LARGE, not passed on',
    observed: `${JSON.stringify(sender.socket.errors.toJSON())}, sender ${open ? 'still open' : describeClose(sender.socket.closeInfo)}; the owner received ${received}`,
    answers: answersOf(sender.socket),
    pass: sender.socket.errors.get('ERR_TOO_LARGE') === 1 && received === 0,
  };
}

async function intoAnotherRoom(ctx: ProbeContext): Promise<ProbeResult> {
  const victim = await liveRoom(ctx.url);
  const own = await liveRoom(ctx.url);
  const sender = await own.join();
  const senders: string[] = [];
  own.owner.onBinary = (bytes) => senders.push(decodeRelayFrame(bytes)?.peerId ?? 'malformed');
  sender.socket.send(encodeRelayFrame(victim.ownerId, Uint8Array.of(1, 2, 3)));
  sender.socket.send(encodeRelayFrame(own.ownerId, Uint8Array.of(4, 5, 6))); // the control
  await waitFor(() => senders.length > 0 && sender.socket.errors.counts.size > 0, WAIT_MS);
  await sleep(100);
  const victimReceived = victim.owner.binaryReceived;
  const stampedRight = senders.length === 1 && senders[0] === sender.peerId;
  await Promise.all([victim.owner.leave(), own.owner.leave(), sender.socket.leave()]);
  return {
    name: 'relay: frame into another room',
    sent: "a relay frame to another room's owner, then one to the sender's own owner",
    expected: "ERR_UNKNOWN_PEER, nothing reaches the other room; the second arrives with the sender's id in place of the recipient's",
    observed: `the other room's owner received ${victimReceived}; answers ${JSON.stringify(sender.socket.errors.toJSON())}; the legitimate frame ${stampedRight ? "arrived with the sender's id" : `arrived as ${JSON.stringify(senders)}`}`,
    answers: answersOf(sender.socket),
    pass: victimReceived === 0 && sender.socket.errors.get('ERR_UNKNOWN_PEER') === 1 && stampedRight,
  };
}

/** Many tiny valid frames at once: each counts as relayFrameMinBytes, so their number is capped too. */
async function floodOfTinyFrames(ctx: ProbeContext, frames = 5_000, payloadBytes = 32): Promise<ProbeResult> {
  const room = await liveRoom(ctx.url);
  const sender = await room.join();
  const frame = encodeRelayFrame(room.ownerId, new Uint8Array(payloadBytes));
  let lastArrivalMs: number | null = null;
  room.owner.onBinary = () => (lastArrivalMs = performance.now());
  const startedMs = performance.now();
  for (let i = 0; i < frames && sender.socket.isOpen; i++) sender.socket.send(frame);
  const sentMs = performance.now();
  // Settled once the owner has them all, or nothing (more) arrived for two seconds.
  await waitFor(() => room.owner.binaryReceived >= frames || !sender.socket.isOpen || performance.now() - (lastArrivalMs ?? sentMs) > 2_000, 15_000);
  const tookS = ((lastArrivalMs ?? startedMs) - startedMs) / 1000;
  const received = room.owner.binaryReceived;
  const refusals = Object.entries(sender.socket.errors.toJSON()).map(([code, n]) => `${n} × ${code}`);
  const open = sender.socket.isOpen;
  await Promise.all([sender.socket.leave(), room.owner.leave()]);
  const burstFrames = Math.floor(ctx.caps.relayBurstBytes / ctx.caps.relayFrameMinBytes);
  const framesPerSec = ctx.caps.relayBytesPerSec / ctx.caps.relayFrameMinBytes;
  // The budget's upper bound on what can have passed by the last arrival (10% for timer slack),
  // plus one socket read (64 KiB), which the server handles whole before its pause takes hold.
  const framesPerRead = Math.ceil((64 * 1024) / frame.byteLength);
  const allowed = burstFrames + framesPerSec * tookS * 1.1 + framesPerRead;
  return {
    name: 'relay: flood of tiny frames',
    sent: `${frames} valid relay frames of ${payloadBytes} bytes at once, worker → owner (${((frames * (payloadBytes + 1 + room.ownerId.length)) / 2 ** 20).toFixed(2)} MiB)`,
    expected: `each frame counts as at least relayFrameMinBytes (${ctx.caps.relayFrameMinBytes}): about ${burstFrames} at once (plus what one 64 KiB socket read holds), then ${Math.round(framesPerSec)} frames/s; held back, not refused or dropped`,
    observed: `${received} passed on to the owner in ${tookS.toFixed(1)} s (${Math.round(received / Math.max(tookS, 0.001))} frames/s on average), ${refusals.length > 0 ? `refused ${refusals.join(', ')}` : 'none refused'}; the sender ${open ? 'stayed connected' : `was closed (${describeClose(sender.socket.closeInfo)})`}`,
    answers: answersOf(sender.socket),
    pass: received === frames && received <= allowed && refusals.length === 0 && open,
  };
}

/** Every relay probe, side by side. */
export function runRelayProbes(ctx: ProbeContext): Promise<ProbeResult[]> {
  return Promise.all([malformedFrames(ctx), oversizedFrame(ctx), intoAnotherRoom(ctx), floodOfTinyFrames(ctx)]);
}
