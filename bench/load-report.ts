/** The report of `npm run load:signaling`: its JSON shape and the Markdown written from it. */
import type { SignalingServerOptions } from '../signaling/server.ts';
import type { ProbeResult } from './load-probe.ts';
import type { MemorySample } from './load-server-process.ts';
import type { Summary } from './load-traffic.ts';
import { stampMarkdown, type MachineStamp } from './machine.ts';

export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

export interface Check {
  name: string;
  pass: boolean;
  detail: string;
}

export interface LoadReport {
  machine: MachineStamp;
  command: string;
  durationMs: number;
  /** The machine's 1-minute load average at the start and the end (other work shares the cores). */
  loadAverage: { start: number; end: number };
  config: {
    rooms: number;
    workersPerRoom: number;
    steadyMs: number;
    roundMs: number;
    candidatesPerSide: number;
    openConcurrency: number;
    /** The loopback addresses the load rooms connect from, one per room. */
    roomAddresses: string;
  };
  caps: SignalingServerOptions;
  connect: { attempted: number; welcomed: number; roomFailures: number; firstFailure: string | null; rampMs: number; welcomeMs: Summary };
  relay: {
    steadyMs: number;
    sent: number;
    delivered: number;
    lost: number;
    misrouted: number;
    unexpected: number;
    bytesSent: number;
    perSecond: number;
    latencyMs: Summary;
    /** Measured by a quiet room in a process of its own (null when that probe failed). */
    quietLatencyMs: Summary | null;
    /** The quiet room again after the load, on the idle server: this machine's baseline. */
    quietIdleLatencyMs: Summary | null;
    quietLostOrMisrouted: number | null;
    serverErrors: Record<string, number>;
    malformedFromServer: number;
    /** CPU time of the server process over wall time during the steady phase (1 = one core). */
    serverCpuShare: number;
    serverLoopDelayMs: LoopDelay;
    /** The same for the load generator: its own queueing inflates the latency it measures. */
    harnessLoopDelayMs: LoopDelay;
  };
  teardown: { closes: Record<string, number>; sockets: number };
  memory: MemorySample[];
  probes: ProbeResult[];
  server: { logLines: number; internalErrorCount: number; internalErrors: string[]; socketsLeftToClose: number };
  checks: Check[];
}

/** What each of the server's options caps, in words (an option not listed here is still reported). */
const CAP_MEANING: Record<string, string | undefined> = {
  maxPeersPerRoom: 'devices per room, owner included (`--max-peers`); one more join gets ERR_ROOM_FULL',
  maxMessageBytes: 'soft cap on one message (bytes); a larger one is refused with ERR_TOO_LARGE, the connection kept',
  maxRooms: 'rooms on the server, with or without their owner; a new owner beyond it gets ERR_SERVER_FULL',
  maxRoomsPerAddress: 'rooms opened from one client address and still open (an owner taking its own room back opens none); beyond it ERR_SERVER_FULL',
  maxConnections: 'WebSocket connections on the server; the upgrade beyond it is answered HTTP 503',
  maxConnectionsPerAddress: 'WebSocket connections from one client address; the upgrade beyond it is answered HTTP 503',
  maxSockets: 'TCP connections of any kind (HTTP, TLS, WebSocket, not yet known); a new one beyond it is closed at once',
  maxSocketsPerAddress: 'TCP connections of any kind from one client address; a new one beyond it is closed at once',
  handshakeTimeoutMs: "a TCP connection must have sent its first request's headers (TLS handshake included) within this (ms), else it is closed",
  roomIdleMs: 'a room whose owner is away this long is closed and its workers told (ms)',
  helloTimeoutMs: 'a connection must host or join within this (ms), else ERR_HELLO_TIMEOUT and close 4000',
  heartbeatMs: 'WebSocket ping interval (ms); a connection that misses one pong is terminated',
  rateBurst: 'messages one connection may send at once (token bucket capacity)',
  ratePerSec: 'sustained text messages per second per connection; beyond it ERR_RATE_LIMITED',
  rateLimitGraceMs: 'a connection refused for its rate with no quiet second in between for this long is closed (4000 ERR_RATE_LIMITED) (ms)',
  maxRelayFrameBytes: 'payload of one relayed (binary) frame; a larger one is refused with ERR_TOO_LARGE',
  relayBurstBytes: 'relayed bytes one connection may send at once; beyond it the server stops reading from it',
  relayBytesPerSec: 'sustained relayed bytes per second per connection; beyond it the server stops reading from it',
  relayFrameMinBytes: 'each relayed frame counts as at least this many bytes against the two above, so tiny frames are capped by number too',
  maxRelayBufferedBytes: 'bytes queued toward one receiver; beyond it the server stops reading from its senders',
};
const NOT_CAPS: ReadonlySet<string> = new Set(['port']);

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const loop = (d: LoopDelay): string => `${fmt(d.p50)} / ${fmt(d.p99)} / ${fmt(d.max)}`;
const answers = (a: Record<string, number>): string =>
  Object.entries(a)
    .map(([key, n]) => `${key} × ${n}`)
    .join(', ') || '–';

function capsTable(report: LoadReport): string[] {
  const figure = (name: string, key: string) => report.probes.find((p) => p.name === name)?.figures?.[key];
  const rows = Object.entries(report.caps)
    .filter(([key, value]) => typeof value === 'number' && !NOT_CAPS.has(key))
    .map(([key, value]) => `| \`${key}\` | ${int(value as number)} | ${CAP_MEANING[key] ?? 'see signaling/server.ts'} |`);
  const strikes = figure('malformed JSON', 'refusedBeforeClose');
  const hard = figure('oversized messages', 'closedAtBytes');
  rows.push(
    `| hard cap on a text message | ${int(4 * report.caps.maxMessageBytes)} | 4 × maxMessageBytes: a larger text message closes the connection (1009)${hard ? `; observed with ${int(hard)} bytes` : ''} |`,
    `| refused messages in a row (\`MAX_STRIKES\`, server.ts) | ${strikes ?? '?'} (observed) | the next refusal closes the connection (4000, reason = the error code); one accepted message resets the count |`,
    '| room id / join token / owner token | 22–64 / 43 / 43 base64url chars | anything else is ERR_MALFORMED; the server stores only SHA-256 of the tokens |',
    '| peer id | 8–32 base64url chars, 96 random bits | stamped by the server on every relayed signal; a client cannot choose its own |',
    '| nesting of a text message | 8 levels of arrays/objects | checked on the text before JSON.parse; deeper is ERR_MALFORMED (a strike) |',
    "| idle HTTP connection | 5,000 ms between requests, 30,000 ms within one | Node's keepAliveTimeout, and the socket timeout the server sets (until the WebSocket upgrade) |",
  );
  return ['| cap | value | what it bounds |', '|---|---:|---|', ...rows];
}

function memoryTable(memory: MemorySample[]): string[] {
  return [
    '| phase | rooms | connections | RSS MiB | peak RSS MiB | heap used MiB | heap total MiB | external MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...memory.map(
      (m) =>
        `| ${m.phase} | ${int(m.rooms)} | ${int(m.connections)} | ${fmt(m.rssMiB)} | ${m.peakRssMiB === null ? '–' : fmt(m.peakRssMiB)} | ${fmt(m.heapUsedMiB)} | ${fmt(m.heapTotalMiB)} | ${fmt(m.externalMiB)} |`,
    ),
  ];
}

function probeTable(probes: ProbeResult[]): string[] {
  const verdict = (p: ProbeResult) => (p.pass === null ? 'finding' : p.pass ? 'pass' : '**FAIL**');
  return [
    '| probe | sent | expected | observed | answers and closes | |',
    '|---|---|---|---|---|---|',
    ...probes.map((p) => `| ${cell(p.name)} | ${cell(p.sent)} | ${cell(p.expected)} | ${cell(p.observed)} | ${cell(answers(p.answers))} | ${verdict(p)} |`),
  ];
}

export function renderMarkdown(report: LoadReport): string {
  const { connect, relay, config } = report;
  const quiet = relay.quietLatencyMs;
  const failed = report.checks.filter((c) => !c.pass);
  const peak = report.memory.reduce((a, m) => Math.max(a, m.peakRssMiB ?? m.rssMiB), 0);
  const idle = report.memory[0];
  const findings = report.probes.filter((p) => p.pass === null);
  const lines = [
    '# Signaling under load',
    '',
    stampMarkdown(report.machine),
    '',
    `Command: \`${report.command}\` (${fmt(report.durationMs / 1000)} s). Raw figures: \`load-signaling.json\` beside this file.`,
    `The machine was shared: its 1-minute load average was ${fmt(report.loadAverage.start)} at the start and ${fmt(report.loadAverage.end)} at the end.`,
    '',
    `The real signaling server (signaling/server.ts, default options, plain HTTP on 127.0.0.1) ran in a child process;`,
    `${config.rooms} rooms × ${config.workersPerRoom + 1} simulated pages (1 owner + ${config.workersPerRoom} workers) spoke its protocol with the \`ws\``,
    `package, tokens derived as the page derives them: ${config.rooms - 1} rooms from one Node process (the load generator), each room from a`,
    `loopback address of its own (${config.roomAddresses}: the server caps connections and rooms per address, as for the devices of one home),`,
    `one quiet room from a process of its own on 127.0.0.1 (below). For ${fmt(config.steadyMs / 1000, 0)} s every load room renegotiated with`,
    `each of its workers every ${fmt(config.roundMs / 1000, 0)} s (rooms spread at random over the interval): the owner sends an offer and ${config.candidatesPerSide}`,
    `trickled host candidates, the worker answers the offer and trickles ${config.candidatesPerSide} of its own, shaped like simple-peer's signals`,
    '(a Chromium data-channel SDP of about 600 bytes, candidates of about 250). Then the junk and abuse below.',
    '',
    `**${failed.length === 0 ? 'All' : `${report.checks.length - failed.length} of`} ${report.checks.length} checks passed; the server ${report.checks.some((c) => c.name.startsWith('the server never crashed') && c.pass) ? 'never crashed' : '**crashed**'}.** Relay latency under ${int(relay.perSecond)} signals/s: p50 ${fmt(quiet?.p50 ?? Number.NaN, 2)} ms, p99 ${fmt(quiet?.p99 ?? Number.NaN, 2)} ms for a quiet page (${fmt(relay.quietIdleLatencyMs?.p50 ?? Number.NaN, 2)} and ${fmt(relay.quietIdleLatencyMs?.p99 ?? Number.NaN, 2)} ms for the same page once the server was idle again); server RSS ${idle ? fmt(idle.rssMiB) : '?'} MiB idle, ${fmt(peak)} MiB at most.`,
    '',
    '## Load',
    '',
    '| | |',
    '|---|---:|',
    `| pages welcomed | ${int(connect.welcomed)} of ${int(connect.attempted)} (${connect.roomFailures} rooms failed) |`,
    `| ramp: all rooms open (${config.openConcurrency} rooms at a time) | ${fmt(connect.rampMs / 1000)} s |`,
    `| connect → welcome, p50 / p99 / max | ${fmt(connect.welcomeMs.p50)} / ${fmt(connect.welcomeMs.p99)} / ${fmt(connect.welcomeMs.max)} ms |`,
    `| signals sent / delivered | ${int(relay.sent)} / ${int(relay.delivered)} |`,
    `| lost / misrouted / unexpected | ${relay.lost} / ${relay.misrouted} / ${relay.unexpected} |`,
    `| relayed per second (steady phase) | ${int(relay.perSecond)} |`,
    `| bytes sent to the server | ${fmt(relay.bytesSent / 2 ** 20)} MiB |`,
    `| **relay latency, quiet room** (send → the addressee's message event) p50 / p90 / p99 / max | ${quiet ? `**${fmt(quiet.p50, 2)}** / ${fmt(quiet.p90, 2)} / **${fmt(quiet.p99, 2)}** / ${fmt(quiet.max, 1)} ms (${int(quiet.count)} signals, ${relay.quietLostOrMisrouted ?? 0} lost or misrouted)` : 'the probe failed'} |`,
    `| the same quiet room after the load, idle server (this machine's baseline) p50 / p90 / p99 / max | ${relay.quietIdleLatencyMs ? `${fmt(relay.quietIdleLatencyMs.p50, 2)} / ${fmt(relay.quietIdleLatencyMs.p90, 2)} / ${fmt(relay.quietIdleLatencyMs.p99, 2)} / ${fmt(relay.quietIdleLatencyMs.max, 1)} ms (${int(relay.quietIdleLatencyMs.count)} signals)` : 'the probe failed'} |`,
    `| relay latency of all load signals, as the load generator saw it, p50 / p90 / p99 / max | ${fmt(relay.latencyMs.p50, 2)} / ${fmt(relay.latencyMs.p90, 2)} / ${fmt(relay.latencyMs.p99, 2)} / ${fmt(relay.latencyMs.max, 1)} ms |`,
    `| server CPU during the steady phase | ${fmt(100 * relay.serverCpuShare, 0)}% of one core |`,
    `| server event-loop delay (how late a 10 ms timer ran) p50 / p99 / max | ${loop(relay.serverLoopDelayMs)} ms |`,
    `| load generator event-loop delay p50 / p99 / max | ${loop(relay.harnessLoopDelayMs)} ms |`,
    `| error answers to legitimate traffic | ${answers(relay.serverErrors)} |`,
    `| closes when everyone left (\`leave\`) | ${answers(report.teardown.closes)} |`,
    '',
    'All latencies are one-way, read on one clock (sender and receiver live in the same process). The quiet room is one',
    'of the rooms, its owner and workers in a process of their own: the owner sends a candidate to one worker in turn 10',
    'times a second and each answers at once, through the loaded server: what a real page would see. The load',
    'generator’s own figure includes its queueing behind a thousand busy sockets (its event-loop delay above). The',
    'generator, the server and other work share this machine’s two cores.',
    '',
    '## Server memory',
    '',
    'From the server process (`process.memoryUsage()`, after a full GC where the phase says so) and `/proc/<pid>/status`',
    '(RSS, and VmHWM for the peak). A room whose owner left (`leave`) goes once no worker is in it; one whose owner dropped',
    'its connection waits `roomIdleMs` for it (the abuse probes leave some of those), so they are still counted at the end.',
    'The server runs under tsx, as `npm start` runs it: the idle RSS includes that TypeScript loader.',
    '',
    ...memoryTable(report.memory),
    '',
    '## Caps and limits',
    '',
    'Every numeric option of `DEFAULT_SERVER_OPTIONS` (signaling/server.ts) as this run used it, and the fixed limits.',
    'Per-address caps count the client\'s IP address (an IPv4 address seen through IPv6 counts as itself).',
    '',
    ...capsTable(report),
    '',
    '## Junk and abuse',
    '',
    'Each probe on sockets of its own, after the load (the raw TCP half-open sockets were opened before it and watched',
    'until they closed); the per-address probes from loopback addresses of their own (127.0.2.x), the rest from 127.0.0.1.',
    '"pass" and "FAIL" are checks (a FAIL fails the run); "finding" is behaviour reported for the maintainers: a missing',
    'cap, or a limit worth knowing.',
    '',
    ...probeTable(report.probes),
    '',
    '## Findings',
    '',
    ...(findings.length > 0 ? findings.map((p) => `- **${p.name}**: ${p.observed}.`) : ['- none']),
    `- The server logged ${report.server.internalErrorCount} errors it caught in its message handler (its catch-all kept it up)${report.server.internalErrors[0] ? `; the first: \`${cell(report.server.internalErrors[0].split('\n').slice(0, 2).join(' ').slice(0, 240))}\`` : ''}.`,
    '',
    '## Checks',
    '',
    ...report.checks.map((c) => `- ${c.pass ? 'pass' : '**FAIL**'}: ${c.name} (${cell(c.detail)})`),
    '',
  ];
  return `${lines.join('\n')}\n`;
}
