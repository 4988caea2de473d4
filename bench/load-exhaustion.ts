/**
 * Resource exhaustion for `npm run load:signaling`: half-open sockets of four kinds, every
 * connection slot taken from one client, and the room table filled by short-lived owners.
 */
import net from 'node:net';
import { SignalingSocket, mapLimit, trackSocket, type CloseInfo } from './load-client.ts';
import { answersOf, describeClose, liveRoom, waitFor, within, type ProbeContext, type ProbeResult } from './load-probe.ts';
import { roomEntries, type RoomEntry } from './load-rooms.ts';

const HALF_OPEN_EACH = 20;
const NO_PONG_WORKERS = 10;

interface WatchedSocket {
  socket: net.Socket;
  closedAtMs: number | null;
}

function rawSocket(port: number, firstBytes: string | null): Promise<WatchedSocket> {
  return new Promise((resolve, reject) => {
    const socket = trackSocket(net.connect(port, '127.0.0.1'));
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
 * WebSocket yet, so neither counts against maxConnections.
 */
export async function startRawHalfOpen(port: number): Promise<() => ProbeResult[]> {
  const startedMs = performance.now();
  const silent = await Promise.all(Array.from({ length: HALF_OPEN_EACH }, () => rawSocket(port, null)));
  const slow = await Promise.all(Array.from({ length: HALF_OPEN_EACH }, () => rawSocket(port, 'GET /signal HTTP/1.1\r\nHost: 127.0.0.1\r\n')));
  return () => {
    const heldS = secondsSince(startedMs, performance.now());
    return [
      {
        name: 'half-open: silent TCP',
        sent: `${HALF_OPEN_EACH} TCP connections that never send a byte, watched for ${heldS}`,
        expected: 'closed after a timeout; their number capped',
        observed: closedSummary(startedMs, silent.map((s) => s.closedAtMs)),
        answers: {},
        pass: null,
      },
      {
        name: 'half-open: endless HTTP headers',
        sent: `${HALF_OPEN_EACH} connections that send "GET /signal HTTP/1.1" and one header, never the blank line, watched for ${heldS}`,
        expected: "closed by Node's HTTP headers timeout (60 s, checked every 30 s)",
        observed:
          closedSummary(startedMs, slow.map((s) => s.closedAtMs)) +
          (slow.every((s) => s.closedAtMs === null)
            ? " (server.ts hands each socket to an http.Server that never listens itself, and Node runs its header-timeout checks only for a listening server)"
            : ''),
        answers: {},
        pass: null,
      },
    ];
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

/** Takes every free connection slot from this one client, and some more. */
export async function manyConnections(ctx: ProbeContext, extra = 20): Promise<ProbeResult> {
  const before = await ctx.serverCounts();
  const attempts = ctx.caps.maxConnections - before.connections + extra;
  const sockets = Array.from({ length: attempts }, () => new SignalingSocket(ctx.url));
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
    sent: `${attempts} WebSockets at once from one address (${before.connections} other connections open)`,
    expected: `accepted up to maxConnections (${ctx.caps.maxConnections}) in total, the rest refused (HTTP 503) before the upgrade`,
    observed: `${accepted} accepted (server held ${held.connections}), ${refused} refused (${[...refusedWith].map(([status, n]) => `${n} × HTTP ${status}`).join(', ') || 'none'}); ${freed ? 'all closed again' : 'some would not close'}`,
    answers: Object.fromEntries([...refusedWith].map(([status, n]) => [`HTTP ${status}`, n])),
    pass: held.connections === ctx.caps.maxConnections && refused === attempts - accepted && refusedWith.has(503) && freed,
  };
}

/**
 * Fills the room table with owners that host and leave at once, then checks what a new owner,
 * and a worker joining a room opened before, get.
 */
export async function fillRoomTable(ctx: ProbeContext, earlierRoom: RoomEntry): Promise<ProbeResult> {
  const before = await ctx.serverCounts();
  const needed = ctx.caps.maxRooms - before.rooms;
  const outcomes = await mapLimit(Array.from({ length: needed }), 50, async () => {
    const socket = new SignalingSocket(ctx.url);
    const welcomed = await socket.enter((await roomEntries()).host).then(() => true, () => false);
    await (welcomed ? socket.leave() : socket.closed);
    return welcomed;
  });
  const hosted = outcomes.filter(Boolean).length;
  const after = await ctx.serverCounts();
  const latecomer = new SignalingSocket(ctx.url);
  const latecomerIn = await latecomer.enter((await roomEntries()).host).then(() => true, () => false);
  const worker = new SignalingSocket(ctx.url);
  const workerIn = await worker.enter(earlierRoom).then(() => true, () => false);
  await Promise.all([
    workerIn ? worker.leave() : within(worker.closed, 3_000, null),
    latecomerIn ? latecomer.leave() : within(latecomer.closed, 3_000, null),
  ]);
  return {
    name: 'room table filled by one client',
    sent: `${needed} connections that each host a new room and leave at once (${before.rooms} rooms existed)`,
    expected: `no client can hold more than a few rooms; other owners can still open one`,
    observed: `${hosted} rooms hosted and left, the server then held ${after.rooms}; a new owner got ${latecomer.fatalError?.code ?? 'welcomed'} (${describeClose(latecomer.closeInfo) ?? 'open'}); a worker joining an older room was ${workerIn ? 'welcomed' : 'refused'}. Rooms without an owner stay for roomIdleMs (${ctx.caps.roomIdleMs / 60_000} min)`,
    answers: answersOf(latecomer),
    pass: null,
  };
}
