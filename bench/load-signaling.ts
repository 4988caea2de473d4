/**
 * `npm run load:signaling`: the real signaling server in a child process on 127.0.0.1, then
 * 200 rooms × 5 simulated pages (1 owner + 4 workers) negotiating over WebSocket for 40 s, then a
 * burst of junk and abuse. Reports relay latency, the server's memory, every answer it gave, and
 * whether it stayed up; writes bench/results/load-signaling.md and .json.
 *
 * A benchmark, not a test: timings are reported, never asserted. It exits non-zero when the
 * server crashed or a check failed (a message lost or misrouted, a cap that did not hold).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SERVER_OPTIONS } from '../signaling/server.ts';
import { SignalingSocket, Tally, closeAllSockets, mapLimit, sleep } from './load-client.ts';
import { runAbuseProbes } from './load-abuse.ts';
import { fillRoomTable, manyConnections, socketsFromOneAddress, startRawHalfOpen, startSilentMembers } from './load-exhaustion.ts';
import { runJunkProbes } from './load-junk.ts';
import { runRelayProbes } from './load-relay.ts';
import { waitFor, within, type ProbeContext, type ProbeResult } from './load-probe.ts';
import { renderMarkdown, type Check, type LoadReport } from './load-report.ts';
import { CANDIDATES_PER_SIDE, SimRoom } from './load-rooms.ts';
import { ServerProcess, openLatencyProbe, type MemorySample } from './load-server-process.ts';
import { RelayLedger, loopDelayMs, monitorLoopDelay, summarize } from './load-traffic.ts';
import { machineStamp } from './machine.ts';

/** Rooms of the load, one of them the quiet room that times relays from a process of its own. */
const ROOMS = 200;
const WORKERS_PER_ROOM = 4;
/** Rooms being opened at once while the load ramps up. */
const OPEN_CONCURRENCY = 20;
/**
 * The server caps connections and rooms per client address, and every page here is on this
 * machine: each load room connects from a loopback address of its own (127.0.1.1, 127.0.1.2, …),
 * as the devices of one home would. The server itself runs with its default caps.
 */
const roomAddress = (index: number): string => `127.0.1.${index + 1}`;
const STEADY_MS = 40_000;
/** Each room renegotiates with all its workers this often (an ICE restart, a reconnect). */
const ROUND_MS = 2_000;
const MEMORY_SAMPLE_MS = 2_000;
const DRAIN_MS = 5_000;
/** The quiet room times relays this long again once the load is gone. */
const IDLE_LAP_MS = 10_000;
/** The whole run is cut off (and fails) past this. */
const WATCHDOG_MS = 115_000;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (line: string) => console.log(`[load:signaling ${(performance.now() / 1000).toFixed(1)} s] ${line}`);

async function loadPhase(server: ServerProcess, url: string, memory: MemorySample[]) {
  const ledger = new RelayLedger();
  const welcomeMs: number[] = [];
  let openFailures = 0;
  const firstFailure: string[] = [];
  const rampStartMs = performance.now();
  const quietRoom = await openLatencyProbe(url, WORKERS_PER_ROOM);
  const opened = await mapLimit(Array.from({ length: ROOMS - 1 }), OPEN_CONCURRENCY, (_, index) =>
    SimRoom.open(url, WORKERS_PER_ROOM, ledger, welcomeMs, roomAddress(index)).catch((err: Error) => {
      openFailures++;
      if (firstFailure.length === 0) firstFailure.push(err.message);
      return null;
    }),
  );
  const rampMs = performance.now() - rampStartMs;
  const rooms = opened.filter((r): r is SimRoom => r !== null);
  const welcomed = welcomeMs.length + (quietRoom.opened ? 1 + WORKERS_PER_ROOM : 0);
  log(`${rooms.length + (quietRoom.opened ? 1 : 0)} rooms open (${welcomed} pages welcomed) in ${(rampMs / 1000).toFixed(1)} s`);
  memory.push(await server.sample('all connected, before traffic', false));
  const onePageMore = await pageBeyondFullServer(url);

  const harnessLoop = monitorLoopDelay();
  quietRoom.start();
  await server.stats(false, true);
  let peak: MemorySample | null = null;
  const sampler = setInterval(() => {
    void server.sample('peak under load', false).then(
      (s) => (peak = !peak || s.heapUsedMiB > peak.heapUsedMiB ? s : peak),
      () => {},
    );
  }, MEMORY_SAMPLE_MS);
  const steadyStartMs = performance.now();
  const timers = rooms.map((room) => {
    const start = setTimeout(() => {
      room.negotiate();
      timers.push(setInterval(() => room.negotiate(), ROUND_MS));
    }, Math.random() * ROUND_MS);
    return start;
  });
  await sleep(STEADY_MS);
  for (const timer of timers) clearTimeout(timer);
  const steadyMs = performance.now() - steadyStartMs;
  clearInterval(sampler);
  const serverWindow = (await server.stats()).window;
  harnessLoop.disable();
  const quiet = await quietRoom.lap();
  await waitFor(() => ledger.lost === 0, DRAIN_MS);
  if (peak) memory.push(peak);
  log(`relayed ${ledger.delivered} of ${ledger.sent} signals in ${(steadyMs / 1000).toFixed(1)} s`);

  const serverErrors = new Tally();
  let malformedFromServer = 0;
  for (const socket of rooms.flatMap((r) => r.sockets)) {
    serverErrors.merge(socket.errors);
    malformedFromServer += socket.malformedFromServer;
  }
  const closes = new Tally();
  const closeInfos = await within(Promise.all(rooms.map((r) => r.leave())), 10_000, []);
  for (const close of closeInfos.flat()) closes.add(`${close.code} ${close.reason}`.trim());
  const latency = summarize(ledger.latenciesMs);
  return {
    connect: {
      attempted: ROOMS * (1 + WORKERS_PER_ROOM),
      welcomed,
      roomFailures: openFailures + (quietRoom.opened ? 0 : 1),
      firstFailure: firstFailure[0] ?? null,
      rampMs,
      welcomeMs: summarize(welcomeMs),
    },
    relay: {
      steadyMs,
      sent: ledger.sent,
      delivered: ledger.delivered,
      lost: ledger.lost,
      misrouted: ledger.misrouted,
      unexpected: ledger.unexpected,
      bytesSent: ledger.bytesSent,
      perSecond: ledger.delivered / (steadyMs / 1000),
      latencyMs: latency,
      quietLatencyMs: quiet ? summarize(quiet.ms) : null,
      quietLostOrMisrouted: quiet ? quiet.lost + quiet.misrouted : null,
      serverErrors: serverErrors.toJSON(),
      malformedFromServer,
      serverCpuShare: serverWindow.cpuMs / serverWindow.wallMs,
      serverLoopDelayMs: serverWindow.loopDelayMs,
      harnessLoopDelayMs: loopDelayMs(harnessLoop),
    },
    teardown: { closes: closes.toJSON(), sockets: closeInfos.flat().length },
    onePageMore,
    quietRoom,
  };
}

/** With every connection slot taken by the rooms, one page more: refused before the upgrade? */
async function pageBeyondFullServer(url: string): Promise<ProbeResult> {
  const socket = new SignalingSocket(url);
  await socket.opened.catch(() => {});
  await waitFor(() => socket.refusedStatus !== null || socket.closeInfo !== null, 2_000);
  const status = socket.refusedStatus;
  socket.terminate();
  return {
    name: 'one page more on a full server',
    sent: `one more WebSocket while the ${ROOMS} × ${WORKERS_PER_ROOM + 1} load pages are connected`,
    expected: `refused with HTTP 503: the load fills maxConnections (${DEFAULT_SERVER_OPTIONS.maxConnections})`,
    observed:
      status === null
        ? 'accepted'
        : `refused with HTTP ${status}: ${ROOMS} rooms of ${WORKERS_PER_ROOM + 1} take every connection the server allows; maxConnections binds long before maxRooms × maxPeersPerRoom (${DEFAULT_SERVER_OPTIONS.maxRooms * DEFAULT_SERVER_OPTIONS.maxPeersPerRoom})`,
    answers: status === null ? {} : { [`HTTP ${status}`]: 1 },
    pass: status === 503,
  };
}

/** A room opened after all the junk: it must still work end to end. */
async function freshRoom(url: string): Promise<{ check: Check; room: SimRoom | null }> {
  const ledger = new RelayLedger();
  const room = await SimRoom.open(url, WORKERS_PER_ROOM, ledger, []).catch((err: Error) => err);
  if (room instanceof Error) return { check: { name: 'a fresh room works after the junk', pass: false, detail: room.message }, room: null };
  room.negotiate();
  await waitFor(() => ledger.lost === 0 && ledger.sent > 0, DRAIN_MS);
  const pass = ledger.delivered === ledger.sent && ledger.misrouted === 0 && ledger.unexpected === 0;
  return {
    check: { name: 'a fresh room works after the junk', pass, detail: `owner + ${WORKERS_PER_ROOM} workers welcomed; ${ledger.delivered} of ${ledger.sent} signals delivered to the right peer` },
    room,
  };
}

type LoadFigures = Omit<Awaited<ReturnType<typeof loadPhase>>, 'onePageMore' | 'quietRoom'>;

/** What legitimate load must get: everyone in, every signal to its addressee, no refusals. */
function loadChecks({ connect, relay }: LoadFigures): Check[] {
  const firstFailure = connect.firstFailure ? `; first failure: ${connect.firstFailure}` : '';
  return [
    { name: 'every simulated page welcomed', pass: connect.welcomed === connect.attempted, detail: `${connect.welcomed} of ${connect.attempted}${firstFailure}` },
    {
      name: 'every signal delivered to its addressee, stamped with its sender',
      pass: relay.lost === 0 && relay.misrouted === 0 && relay.unexpected === 0 && relay.delivered === relay.sent,
      detail: `${relay.delivered} of ${relay.sent} delivered, ${relay.lost} lost, ${relay.misrouted} misrouted, ${relay.unexpected} unexpected`,
    },
    { name: 'no error answers under legitimate load', pass: Object.keys(relay.serverErrors).length === 0, detail: JSON.stringify(relay.serverErrors) },
    { name: 'every server frame matched the protocol', pass: relay.malformedFromServer === 0, detail: `${relay.malformedFromServer} malformed` },
  ];
}

const probeCheck = (p: ProbeResult): Check => ({ name: p.name, pass: p.pass === true, detail: p.observed });

let running: ServerProcess | null = null;

async function main(): Promise<number> {
  const startedMs = performance.now();
  const loadAverageAtStart = os.loadavg()[0] ?? Number.NaN;
  const server = await ServerProcess.start();
  running = server;
  // A crash ends the run at once: nothing after it would measure the server.
  void server.exited.then(() => {
    if (!server.crash) return;
    console.error(`load:signaling: FAILED: ${server.crash}.`);
    closeAllSockets();
    process.exit(1);
  });
  const watchdog = setTimeout(() => {
    console.error(`load:signaling: still running after ${WATCHDOG_MS / 1000} s; stopping (failed).`);
    server.kill();
    closeAllSockets();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();

  const url = `ws://127.0.0.1:${server.port}/signal`;
  const ctx: ProbeContext = {
    url,
    caps: DEFAULT_SERVER_OPTIONS,
    serverCounts: async () => {
      const stats = await server.stats();
      return { rooms: stats.rooms, connections: stats.connections };
    },
  };
  log(`server pid ${server.pid} on port ${server.port}`);
  const memory: MemorySample[] = [await server.sample('idle, after start', true)];

  const finishRawHalfOpen = await startRawHalfOpen(server.port, DEFAULT_SERVER_OPTIONS);
  const { onePageMore, quietRoom, ...load } = await loadPhase(server, url, memory);
  await sleep(500); // let the server finish the closes before measuring
  memory.push(await server.sample('everyone left, after GC', true));

  log('junk and abuse');
  const silentMembers = await startSilentMembers(ctx);
  const probes: ProbeResult[] = [onePageMore, ...(await runJunkProbes(ctx)), ...(await runAbuseProbes(ctx)), ...(await runRelayProbes(ctx))];
  log('waiting for the server to close the silent WebSockets');
  await silentMembers.settled;
  probes.push(...(await silentMembers.finish()));
  probes.push(await manyConnections(ctx));
  probes.push(await socketsFromOneAddress(ctx, server.port));
  const fresh = await freshRoom(url);
  if (fresh.room) probes.push(await fillRoomTable(ctx, fresh.room.joinEntry));
  await fresh.room?.leave();
  log('timing the quiet room on the idle server');
  quietRoom.start();
  await sleep(IDLE_LAP_MS);
  const idleLap = await quietRoom.lap();
  await quietRoom.close();
  probes.push(...(await finishRawHalfOpen()));
  memory.push(await server.sample('end, after GC', true));
  const finalStats = await server.stats();

  const checks: Check[] = [...loadChecks(load), ...probes.filter((p) => p.pass !== null).map(probeCheck), fresh.check];

  await server.close();
  const leftOver = closeAllSockets();
  clearTimeout(watchdog);
  checks.push({ name: 'the server never crashed and closed cleanly', pass: server.crash === null, detail: server.crash ?? 'exit code 0' });

  const report: LoadReport = {
    machine: machineStamp(),
    command: 'npm run load:signaling',
    durationMs: performance.now() - startedMs,
    loadAverage: { start: loadAverageAtStart, end: os.loadavg()[0] ?? Number.NaN },
    config: {
      rooms: ROOMS,
      workersPerRoom: WORKERS_PER_ROOM,
      steadyMs: STEADY_MS,
      roundMs: ROUND_MS,
      candidatesPerSide: CANDIDATES_PER_SIDE,
      openConcurrency: OPEN_CONCURRENCY,
      roomAddresses: `${roomAddress(0)}–${roomAddress(ROOMS - 2)}`,
    },
    caps: DEFAULT_SERVER_OPTIONS,
    ...load,
    relay: { ...load.relay, quietIdleLatencyMs: idleLap ? summarize(idleLap.ms) : null },
    memory,
    probes,
    server: {
      logLines: finalStats.logLines,
      internalErrorCount: finalStats.internalErrorCount,
      internalErrors: finalStats.internalErrors,
      socketsLeftToClose: leftOver,
    },
    checks,
  };
  const dir = path.join(root, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'load-signaling.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(dir, 'load-signaling.md'), renderMarkdown(report));
  const failed = checks.filter((c) => !c.pass);
  log(`wrote bench/results/load-signaling.md; ${checks.length - failed.length} of ${checks.length} checks passed`);
  for (const check of failed) console.error(`FAILED: ${check.name}: ${check.detail}`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('load:signaling failed:', err);
    running?.kill();
    closeAllSockets();
    process.exit(1);
  },
);
