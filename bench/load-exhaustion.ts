/**
 * Resource exhaustion for `npm run load:signaling`: half-open sockets of four kinds, every
 * socket and connection slot one address may take, and the room table filled by short-lived
 * owners. The per-address probes connect from loopback addresses of their own (127.0.2.x).
 */
import net from 'node:net';
import { SignalingSocket, mapLimit, trackSocket, type CloseInfo } from './load-client.ts';
import { answersOf, describeClose, liveRoom, waitFor, within, type ProbeContext, type ProbeResult } from './load-probe.ts';
import { roomEntries, type RoomEntry } from './load-rooms.ts';
import type { SignalingServerOptions } from '../signaling/server.ts';

const HALF_OPEN_EACH = 20;
const NO_PONG_WORKERS = 10;

interface WatchedSocket {
  socket: net.Socket;
  closedAtMs: number | null;
}

function rawSocket(port: number, firstBytes: string | null, localAddress = '127.0.0.1'): Promise<WatchedSocket> {
  return new Promise((resolve, reject) => {
    const socket = trackSocket(net.connect({ port, host: '127.0.0.1', localAddress }));
    const watched: WatchedSocket = { socket, closedAtMs: null };
    socket.on('error', () => {});
    socket.once('close', () => (watched.closedAtMs = performance.now()));
    socket.once('connect', () => {
      if (firstBytes) socket.write(firstBytes);
      resolve(watched);
    });
    socket.once('error', reject);
  });
}

const secondsSince = (startMs: number, atMs: number): string => `${((atMs - startMs) / 1000).toFixed(1)} s`;

/** How many closed and when (min–max seconds after they opened). */
function closedSummary(startMs: number, closedAt: (number | null)[]): string {
  const times = closedAt.filter((t): t is number => t !== null);
  if (times.length === 0) return `none of ${closedAt.length} closed`;
  return `${times.length} of ${closedAt.length} closed, ${secondsSince(startMs, Math.min(...times))}–${secondsSince(startMs, Math.max(...times))} after opening`;
}

/**
 * Opens raw TCP half-open sockets now and returns `finish`, which reports what became of them:
 * connections that never send a byte, and HTTP requests whose headers never end. Neither is a
 * WebSocket yet, so neither counts against maxConnections: the handshake deadline must end them.
 */
export async function startRawHalfOpen(port: number, caps: SignalingServerOptions): Promise<() => Promise<ProbeResult[]>> {
  const startedMs = performance.now();
  const silent = await Promise.all(Array.from({ length: HALF_OPEN_EACH }, () => rawSocket(port, null)));
  const slow = await Promise.all(Array.from({ length: HALF_OPEN_EACH }, () => rawSocket(port, 'GET /signal HTTP/1.1\r\nHost: 127.0.0.1\r\n')));
  return async () => {
    const all = [...silent, ...slow];
    await waitFor(() => all.every((s) => s.closedAtMs !== null), Math.max(0, startedMs + caps.handshakeTimeoutMs + 5_000 - performance.now()));
    const heldS = secondsSince(startedMs, performance.now());
    const expected = `closed after handshakeTimeoutMs (${caps.handshakeTimeoutMs} ms)`;
    return [
      {
        name: 'half-open: silent TCP',
        sent: `${HALF_OPEN_EACH} TCP connections that never send a byte, watched for ${heldS}`,
        expected,
        observed: closedSummary(startedMs, silent.map((s) => s.closedAtMs)),
        answers: {},
        pass: silent.every((s) => s.closedAtMs !== null),
      },
      {
        name: 'half-open: endless HTTP headers',
        sent: `${HALF_OPEN_EACH} connections that send "GET /signal HTTP/1.1" and one header, never the blank line, watched for ${heldS}`,
        expected,
        observed: closedSummary(startedMs, slow.map((s) => s.closedAtMs)),
        answers: {},
        pass: slow.every((s) => s.closedAtMs !== null),
      },
    ];
  };
}

/** More silent TCP connections from one address than it may hold: the extra ones closed at once. */
export async function socketsFromOneAddress(ctx: ProbeContext, port: number, extra = 10): Promise<ProbeResult> {
  const attempts = ctx.caps.maxSocketsPerAddress + extra;
  const startedMs = performance.now();
  const sockets = await mapLimit(Array.from({ length: attempts }), 50, () => rawSocket(port, null, '127.0.2.1'));
  // Well before the handshake deadline: only the refused ones can have closed.
  await waitFor(() => sockets.filter((s) => s.closedAtMs !== null).length >= extra, Math.min(1_000, ctx.caps.handshakeTimeoutMs / 2));
  const closedEarly = sockets.filter((s) => s.closedAtMs !== null).length;
  const heldS = secondsSince(startedMs, performance.now());
  for (const s of sockets) s.socket.destroy();
  return {
    name: 'raw sockets from one address',
    sent: `${attempts} TCP connections that send nothing, from one address (127.0.2.1)`,
    expected: `maxSocketsPerAddress (${ctx.caps.maxSocketsPerAddress}) held until the handshake deadline, the other ${extra} closed at once`,
    observed: `${closedEarly} closed within ${heldS}, ${attempts - closedEarly} held`,
    answers: {},
    pass: closedEarly === extra,
  };
}

/**
 * Opens WebSockets that go quiet: some never say hello, some join a room and stop answering the
 * server's pings (a phone gone off the Wi-Fi). `settled` resolves once the server should have
 * closed them all; `finish` reports what it did.
 */
export async function startSilentMembers(ctx: ProbeContext): Promise<{ settled: Promise<boolean>; finish(): Promise<ProbeResult[]> }> {
  const startedMs = performance.now();
  const mute = Array.from({ length: HALF_OPEN_EACH }, () => new SignalingSocket(ctx.url));
  await Promise.all(mute.map((s) => s.opened));
  const room = await liveRoom(ctx.url);
  const gone = new Set<string>();
  room.owner.onPeerLeft = (id) => gone.add(id);
  const vanishing = Array.from({ length: NO_PONG_WORKERS }, () => new SignalingSocket(ctx.url, { autoPong: false }));
  const vanishingIds = await Promise.all(vanishing.map(async (s) => (await s.enter(room.entries.join)).peerId));
  const deadlineMs = Math.max(ctx.caps.helloTimeoutMs, 2 * ctx.caps.heartbeatMs) + 3_000;
  const settled = waitFor(() => [...mute, ...vanishing].every((s) => s.closeInfo !== null), deadlineMs);

  return {
    settled,
    async finish() {
      await settled;
      const closedAt = (sockets: SignalingSocket[]) => sockets.map((s) => s.closeInfo?.atMs ?? null);
      const allClosedWith = (sockets: SignalingSocket[], check: (c: CloseInfo) => boolean) =>
        sockets.every((s) => s.closeInfo !== null && check(s.closeInfo));
      const told = vanishingIds.filter((id) => gone.has(id)).length;
      await room.owner.leave();
      return [
        {
          name: 'half-open: WebSocket without hello',
          sent: `${HALF_OPEN_EACH} WebSockets that open and never host or join`,
          expected: `closed after helloTimeoutMs (${ctx.caps.helloTimeoutMs} ms) with ERR_HELLO_TIMEOUT (4000)`,
          observed: closedSummary(startedMs, closedAt(mute)),
          answers: answersOf(...mute),
          pass: allClosedWith(mute, (c) => c.code === 4000 && c.reason === 'ERR_HELLO_TIMEOUT'),
        },
        {
          name: 'half-open: members that stop answering pings',
          sent: `${NO_PONG_WORKERS} workers that joined a room and never answer the server's WebSocket pings`,
          expected: `terminated within 2 × heartbeatMs (${2 * ctx.caps.heartbeatMs} ms); the owner told each left`,
          observed: `${closedSummary(startedMs, closedAt(vanishing))}; the owner got peer-left for ${told} of ${NO_PONG_WORKERS}`,
          answers: answersOf(...vanishing),
          pass: allClosedWith(vanishing, (c) => c.code === 1006) && told === NO_PONG_WORKERS,
        },
      ];
    },
  };
}

/** Takes every connection slot one address may hold, and some more. */
export async function manyConnections(ctx: ProbeContext, extra = 20): Promise<ProbeResult> {
  const before = await ctx.serverCounts();
  const attempts = ctx.caps.maxConnectionsPerAddress + extra;
  const sockets = Array.from({ length: attempts }, () => new SignalingSocket(ctx.url, { localAddress: '127.0.2.2' }));
  await mapLimit(sockets, 200, (s) => s.opened.catch(() => {}));
  await waitFor(() => sockets.every((s) => s.isOpen || s.refusedStatus !== null || s.closeInfo !== null), 3_000);
  const accepted = sockets.filter((s) => s.isOpen).length;
  const refusedWith = new Map<number, number>();
  for (const s of sockets) if (s.refusedStatus !== null) refusedWith.set(s.refusedStatus, (refusedWith.get(s.refusedStatus) ?? 0) + 1);
  const held = await ctx.serverCounts();
  for (const s of sockets) s.terminate();
  const freed = await waitFor(() => sockets.every((s) => s.closeInfo !== null), 5_000);
  const refused = [...refusedWith.values()].reduce((a, b) => a + b, 0);
  return {
    name: 'many connections from one client',
    sent: `${attempts} WebSockets at once from one address (127.0.2.2; ${before.connections} connections open from others)`,
    expected: `accepted up to maxConnectionsPerAddress (${ctx.caps.maxConnectionsPerAddress}), the rest refused (HTTP 503) before the upgrade`,
    observed: `${accepted} accepted (server held ${held.connections}), ${refused} refused (${[...refusedWith].map(([status, n]) => `${n} × HTTP ${status}`).join(', ') || 'none'}); ${freed ? 'all closed again' : 'some would not close'}`,
    answers: Object.fromEntries([...refusedWith].map(([status, n]) => [`HTTP ${status}`, n])),
    pass: accepted === ctx.caps.maxConnectionsPerAddress && refused === extra && refusedWith.get(503) === extra && freed,
  };
}

/** Hosts one room from `localAddress`; true when welcomed. The socket is handed back to end it. */
async function hostFrom(ctx: ProbeContext, localAddress: string, entry?: RoomEntry): Promise<{ socket: SignalingSocket; welcomed: boolean }> {
  const socket = new SignalingSocket(ctx.url, { localAddress });
  const welcomed = await socket.enter(entry ?? (await roomEntries()).host).then(() => true, () => false);
  return { socket, welcomed };
}

/**
 * Tries to fill the room table from single addresses: owners that host and leave at once (their
 * rooms must go with them), and owners that host and drop their connection (their rooms wait for
 * them, up to maxRoomsPerAddress per address); then checks that a new owner elsewhere, and a
 * worker joining a room opened before, still get in.
 */
export async function fillRoomTable(ctx: ProbeContext, earlierRoom: RoomEntry): Promise<ProbeResult> {
  const before = await ctx.serverCounts();
  const needed = ctx.caps.maxRooms - before.rooms;
  // Fewer at once than the address may hold rooms: each room is left before the next is opened.
  const leavers = await mapLimit(Array.from({ length: needed }), Math.min(8, ctx.caps.maxRoomsPerAddress), async () => {
    const { socket, welcomed } = await hostFrom(ctx, '127.0.2.3');
    await (welcomed ? socket.leave() : socket.closed);
    return welcomed;
  });
  const hostedAndLeft = leavers.filter(Boolean).length;
  const afterLeavers = await ctx.serverCounts();

  const droppers = [];
  for (let i = 0; i < ctx.caps.maxRoomsPerAddress + 4; i++) {
    const attempt = await hostFrom(ctx, '127.0.2.4');
    attempt.socket.terminate(); // a page that crashed: its room waits roomIdleMs for it
    await attempt.socket.closed;
    droppers.push(attempt);
  }
  const kept = droppers.filter((d) => d.welcomed).length;
  const refusedCodes = droppers.filter((d) => !d.welcomed).map((d) => d.socket.fatalError?.code ?? 'closed');
  const afterDroppers = await ctx.serverCounts();

  const latecomer = await hostFrom(ctx, '127.0.2.5');
  const worker = await hostFrom(ctx, '127.0.2.6', earlierRoom);
  await Promise.all([
    worker.welcomed ? worker.socket.leave() : within(worker.socket.closed, 3_000, null),
    latecomer.welcomed ? latecomer.socket.leave() : within(latecomer.socket.closed, 3_000, null),
  ]);
  const refusedAll = refusedCodes.length === 4 && refusedCodes.every((c) => c === 'ERR_SERVER_FULL');
  return {
    name: 'room table filled by one client',
    sent: `${needed} owners from one address (127.0.2.3) that each host a new room and leave at once (${before.rooms} rooms existed); then ${droppers.length} from another (127.0.2.4) that host and drop their connection`,
    expected: `rooms left by their owner go at once; an address holds at most maxRoomsPerAddress (${ctx.caps.maxRoomsPerAddress}) rooms; other owners can still open one`,
    observed: `${hostedAndLeft} hosted and left, the server then held ${afterLeavers.rooms} rooms; of the droppers ${kept} kept a room, ${refusedCodes.length} refused (${refusedCodes.join(', ') || 'none'}), ${afterDroppers.rooms} rooms; a new owner elsewhere was ${latecomer.welcomed ? 'welcomed' : `refused (${latecomer.socket.fatalError?.code ?? describeClose(latecomer.socket.closeInfo)})`}; a worker joining an older room was ${worker.welcomed ? 'welcomed' : 'refused'}`,
    answers: answersOf(...droppers.map((d) => d.socket), latecomer.socket),
    pass:
      hostedAndLeft === needed &&
      afterLeavers.rooms === before.rooms &&
      kept === ctx.caps.maxRoomsPerAddress &&
      refusedAll &&
      latecomer.welcomed &&
      worker.welcomed,
  };
}
