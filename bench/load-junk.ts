/**
 * Message-level junk for `npm run load:signaling`: malformed JSON, valid JSON of unknown shapes,
 * a wrong protocol version, oversized frames, floods above the rate limit, and signal data nested
 * deeper than the relay can re-serialise. Each probe uses sockets of its own.
 */
import { SIGNALING_PROTOCOL_VERSION } from '../signaling/protocol.ts';
import { SignalingSocket, sleep } from './load-client.ts';
import { answersOf, closeWithin, describeClose, liveRoom, waitFor, type ProbeContext, type ProbeResult } from './load-probe.ts';
import { roomEntries } from './load-rooms.ts';
import { candidate } from './load-traffic.ts';

/** A peer id that is well-formed but belongs to no one. */
const NOBODY = 'AAAAAAAAAAAAAAAA';
const CLOSE_WAIT_MS = 3_000;

const nonFatal = (socket: SignalingSocket): number =>
  [...socket.errors.counts.values()].reduce((a, b) => a + b, 0) - (socket.fatalError ? 1 : 0);

/** Text that is not JSON, or not an object; sent until the server stops listening. */
const NOT_JSON = ['not json', '{', '{"type":', 'null', '[]', '"host"', '1e999999', '{"type":"signal","to":', '\u0000\u0001\u0002', '}{'];

async function malformedJson(ctx: ProbeContext): Promise<ProbeResult> {
  const socket = new SignalingSocket(ctx.url);
  await socket.opened;
  const count = 60;
  for (let i = 0; i < count; i++) socket.send(NOT_JSON[i % NOT_JSON.length]);
  const close = await closeWithin(socket, CLOSE_WAIT_MS);
  return {
    name: 'malformed JSON',
    sent: `${count} text frames that are not JSON objects (truncated JSON, NUL bytes, a bare number, …)`,
    expected: 'each refused with ERR_MALFORMED; after too many refusals in a row the connection is closed (4000)',
    observed: `${nonFatal(socket)} refused, then ${describeClose(close) ?? 'still open'}`,
    answers: answersOf(socket),
    figures: { refusedBeforeClose: nonFatal(socket) },
    pass: close?.code === 4000 && close.reason === 'ERR_MALFORMED' && socket.errors.get('ERR_MALFORMED') > 0,
  };
}

/** Valid JSON the protocol does not know: unknown types, missing or extra fields, a spoofed sender. */
function unknownShapes(): unknown[] {
  const token = 'A'.repeat(43);
  return [
    { type: 'admin' },
    { type: 'HOST' },
    { type: 'host' },
    { type: 'join', protocol: SIGNALING_PROTOCOL_VERSION, roomId: '../../etc/passwd', joinToken: 'x' },
    { type: 'signal', to: 'x', data: {} },
    { type: 'signal', to: NOBODY, data: 'a string' },
    { type: 'signal', to: NOBODY, data: { sdp: 'no type and no candidate' } },
    { type: 'signal', to: NOBODY, data: { type: 'offer' }, from: 'BBBBBBBBBBBBBBBB' },
    { type: 'leave', extra: 1 },
    '{"__proto__":{"isAdmin":true},"type":"leave"}',
    { type: 'host', protocol: SIGNALING_PROTOCOL_VERSION, roomId: 'r'.repeat(22), joinToken: token, ownerToken: token, constructor: { prototype: { x: 1 } } },
    [1, 2, 3],
    { type: 'join', protocol: -1, roomId: 'r'.repeat(22), joinToken: token },
    Buffer.from([0x01, 0x02, 0x03]),
  ];
}

async function unknownTypes(ctx: ProbeContext): Promise<ProbeResult> {
  const socket = new SignalingSocket(ctx.url);
  await socket.opened;
  const shapes = unknownShapes();
  for (const shape of shapes) socket.send(shape);
  await waitFor(() => socket.errors.get('ERR_MALFORMED') >= shapes.length || !socket.isOpen, CLOSE_WAIT_MS);
  // Still usable: a valid host after the junk is welcomed.
  const entries = await roomEntries();
  const welcomed = await socket.enter(entries.host).then(
    () => true,
    () => false,
  );
  await socket.leave();
  return {
    name: 'unknown types and shapes',
    sent: `${shapes.length} messages: unknown types, missing and extra fields, a spoofed "from", __proto__ keys, a binary frame; then a valid host`,
    expected: 'each refused with ERR_MALFORMED (not fatal); the connection stays usable',
    observed: `${socket.errors.get('ERR_MALFORMED')} of ${shapes.length} refused as ERR_MALFORMED; the host after them ${welcomed ? 'was welcomed' : 'failed'}`,
    answers: answersOf(socket),
    pass: socket.errors.get('ERR_MALFORMED') === shapes.length && welcomed,
  };
}

async function wrongProtocol(ctx: ProbeContext): Promise<ProbeResult> {
  const socket = new SignalingSocket(ctx.url);
  await socket.opened;
  const entries = await roomEntries();
  socket.send({ ...entries.host, protocol: SIGNALING_PROTOCOL_VERSION + 98 });
  const close = await closeWithin(socket, CLOSE_WAIT_MS);
  return {
    name: 'wrong protocol version',
    sent: `a host with protocol ${SIGNALING_PROTOCOL_VERSION + 98}`,
    expected: 'ERR_PROTOCOL_VERSION, connection closed (4000)',
    observed: `${socket.fatalError?.code ?? 'no error'}, ${describeClose(close) ?? 'still open'}`,
    answers: answersOf(socket),
    pass: socket.fatalError?.code === 'ERR_PROTOCOL_VERSION' && close?.code === 4000,
  };
}

async function oversized(ctx: ProbeContext): Promise<ProbeResult> {
  const soft = ctx.caps.maxMessageBytes;
  const socket = new SignalingSocket(ctx.url);
  await socket.opened;
  const padded = (bytes: number) => {
    const frame = JSON.stringify({ type: 'leave', pad: '' });
    return frame.replace('""', `"${'x'.repeat(bytes - frame.length + 2)}"`);
  };
  socket.send(padded(soft + 1));
  await waitFor(() => socket.errors.get('ERR_TOO_LARGE') > 0, CLOSE_WAIT_MS);
  const stillOpen = socket.isOpen;
  const hugeBytes = 4 * soft + 1;
  socket.send(padded(hugeBytes));
  const close = await closeWithin(socket, CLOSE_WAIT_MS);
  return {
    name: 'oversized messages',
    sent: `one text frame of ${soft + 1} bytes (soft cap + 1), then one of ${hugeBytes} bytes (4 × soft cap + 1)`,
    expected: 'the first refused with ERR_TOO_LARGE, connection kept; the second closes the connection (1009)',
    observed: `first: ${socket.errors.get('ERR_TOO_LARGE') > 0 ? 'ERR_TOO_LARGE' : 'no answer'}${stillOpen ? ', still open' : ', closed'}; second: ${describeClose(close) ?? 'still open'}`,
    answers: answersOf(socket),
    figures: { closedAtBytes: hugeBytes },
    pass: socket.errors.get('ERR_TOO_LARGE') === 1 && stillOpen && close?.code === 1009,
  };
}

async function floodOutsideRoom(ctx: ProbeContext): Promise<ProbeResult> {
  const socket = new SignalingSocket(ctx.url);
  await socket.opened;
  const count = 1_000;
  for (let i = 0; i < count; i++) socket.signal(NOBODY, candidate(i, 0));
  const close = await closeWithin(socket, CLOSE_WAIT_MS);
  return {
    name: 'flood before joining',
    sent: `${count} signals at once from a connection in no room`,
    expected: `ERR_NOT_IN_ROOM until the burst (${ctx.caps.rateBurst}) is spent, then ERR_RATE_LIMITED, then closed (4000)`,
    observed: `${socket.errors.get('ERR_NOT_IN_ROOM')} ERR_NOT_IN_ROOM, ${socket.errors.get('ERR_RATE_LIMITED')} ERR_RATE_LIMITED, ${describeClose(close) ?? 'still open'}`,
    answers: answersOf(socket),
    pass: close?.code === 4000 && close.reason === 'ERR_RATE_LIMITED',
  };
}

async function floodInRoom(ctx: ProbeContext): Promise<ProbeResult> {
  const room = await liveRoom(ctx.url);
  const flooder = await room.join();
  let left = false;
  room.owner.onPeerLeft = (id) => (left ||= id === flooder.peerId);
  const count = 1_000;
  for (let i = 0; i < count; i++) flooder.socket.signal(room.ownerId, candidate(i, 0));
  const close = await closeWithin(flooder.socket, CLOSE_WAIT_MS);
  await waitFor(() => left, CLOSE_WAIT_MS);
  const relayed = room.owner.signalsReceived;
  const ownerFine = room.owner.isOpen && room.owner.errors.counts.size === 0;
  await room.owner.leave();
  return {
    name: 'flood inside a room',
    sent: `${count} valid candidates at once from a worker to its owner`,
    expected: 'about the burst relayed, the rest refused with ERR_RATE_LIMITED, the flooder closed (4000); the owner unharmed and told the worker left',
    observed: `${relayed} relayed to the owner, ${flooder.socket.errors.get('ERR_RATE_LIMITED')} ERR_RATE_LIMITED, flooder ${describeClose(close) ?? 'still open'}; owner ${ownerFine ? 'open, no errors' : 'harmed'}, peer-left ${left ? 'received' : 'missing'}`,
    answers: answersOf(flooder.socket, room.owner),
    pass: close?.code === 4000 && close.reason === 'ERR_RATE_LIMITED' && relayed < count && ownerFine && left,
  };
}

/**
 * Sends at `multiple` × the sustained rate for `seconds`: throttled once the burst is spent (2.5 s
 * at 3×), then cut off after rateLimitGraceMs (10 s) of it.
 */
async function steadyOverRate(ctx: ProbeContext, multiple = 3, seconds = 15): Promise<ProbeResult> {
  const room = await liveRoom(ctx.url);
  const sender = await room.join();
  const perTick = Math.round((ctx.caps.ratePerSec * multiple) / 20);
  let sent = 0;
  const startedMs = performance.now();
  for (let tick = 0; tick < seconds * 20 && sender.socket.isOpen; tick++) {
    for (let i = 0; i < perTick; i++) sender.socket.signal(room.ownerId, candidate(sent++, 0));
    await sleep(50);
  }
  await sleep(300);
  const open = sender.socket.isOpen;
  const closedAfterMs = sender.socket.closeInfo ? sender.socket.closeInfo.atMs - startedMs : null;
  const relayed = room.owner.signalsReceived;
  await Promise.all([sender.socket.leave(), room.owner.leave()]);
  return {
    name: `steady ${multiple}× over the rate`,
    sent: `${sent} signals over ${seconds} s (${ctx.caps.ratePerSec * multiple}/s against ${ctx.caps.ratePerSec}/s)`,
    expected: `about burst + rate × time relayed (${ctx.caps.rateBurst} + ${ctx.caps.ratePerSec} per second of sending), the rest refused; disconnected (4000 ERR_RATE_LIMITED) once over the rate for rateLimitGraceMs (${ctx.caps.rateLimitGraceMs} ms)`,
    observed: `${relayed} relayed, ${sender.socket.errors.get('ERR_RATE_LIMITED')} ERR_RATE_LIMITED; the sender was ${open ? 'throttled but never disconnected' : `disconnected (${describeClose(sender.socket.closeInfo)}) after ${((closedAfterMs ?? 0) / 1000).toFixed(1)} s of sending`}`,
    answers: answersOf(sender.socket),
    pass: !open && sender.socket.closeInfo?.code === 4000 && sender.socket.closeInfo.reason === 'ERR_RATE_LIMITED' && relayed > ctx.caps.rateBurst,
  };
}

/** Arrays nested deeper than JSON.stringify can recurse, inside an otherwise valid signal; more of them than the strikes allow. */
async function deepNesting(ctx: ProbeContext, messages = 60): Promise<ProbeResult> {
  const room = await liveRoom(ctx.url);
  const sender = await room.join();
  const depth = Math.floor((ctx.caps.maxMessageBytes - 200) / 2);
  const frame = `{"type":"signal","to":"${room.ownerId}","data":{"type":"offer","sdp":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
  for (let i = 0; i < messages; i++) sender.socket.send(frame);
  await waitFor(() => sender.socket.errors.get('ERR_MALFORMED') >= messages || !sender.socket.isOpen, CLOSE_WAIT_MS);
  await sleep(100);
  const relayed = room.owner.signalsReceived;
  const senderOpen = sender.socket.isOpen;
  const ownerFine = room.owner.isOpen;
  await Promise.all([sender.socket.leave(), room.owner.leave()]);
  return {
    name: 'deeply nested signal data',
    sent: `${messages} signals (${frame.length} bytes, under the size cap) whose data nests ${depth} arrays`,
    expected: 'refused at parse time like any malformed message; repeated, it closes the connection',
    observed: `${sender.socket.errors.get('ERR_MALFORMED')} answered ERR_MALFORMED (${sender.socket.lastErrors[0]?.message ?? 'no message'}); ${relayed} reached the owner; the sender ${senderOpen ? 'was never disconnected' : `was disconnected (${describeClose(sender.socket.closeInfo)})`}; the owner ${ownerFine ? 'unharmed' : 'harmed'}`,
    answers: answersOf(sender.socket),
    pass: !senderOpen && sender.socket.closeInfo?.code === 4000 && relayed === 0 && ownerFine,
  };
}

/** Every message-level probe, run side by side (each on its own sockets). */
export function runJunkProbes(ctx: ProbeContext): Promise<ProbeResult[]> {
  return Promise.all([
    malformedJson(ctx),
    unknownTypes(ctx),
    wrongProtocol(ctx),
    oversized(ctx),
    floodOutsideRoom(ctx),
    floodInRoom(ctx),
    steadyOverRate(ctx),
    deepNesting(ctx),
  ]);
}
