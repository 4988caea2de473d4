/**
 * The child process of `npm run load:signaling`: the real signaling server with its default caps
 * on 127.0.0.1, in a process of its own so that its memory is its own. It answers the parent's
 * questions over IPC; an uncaught error ends it with a non-zero code, which the parent reports as
 * a crash (there is deliberately no handler here to swallow one).
 */
import { createSignalingServer } from '../signaling/server.ts';
import { loopDelayMs, monitorLoopDelay } from './load-traffic.ts';

/** `gc` runs a full collection first (what is retained); `resetWindow` starts a new CPU and event-loop window. */
export type LoadServerRequest = { type: 'stats'; id: number; gc: boolean; resetWindow: boolean } | { type: 'close' };

export interface ServerStats {
  rooms: number;
  connections: number;
  memory: NodeJS.MemoryUsage;
  /** Since the last `resetWindow`: CPU time used (user + system, ms), wall time (ms) and event-loop delay (ms). */
  window: { cpuMs: number; wallMs: number; loopDelayMs: { p50: number; p99: number; max: number } };
  /** Lines the server logged, and those about an error it caught in a message handler. */
  logLines: number;
  internalErrorCount: number;
  /** The first few of those lines. */
  internalErrors: string[];
}

export type LoadServerReply = { type: 'ready'; port: number } | { type: 'stats'; id: number; stats: ServerStats };

const MAX_KEPT_ERRORS = 5;
const loopDelay = monitorLoopDelay();
let windowStart = { cpu: process.cpuUsage(), wallMs: performance.now() };
let logLines = 0;
let internalErrorCount = 0;
const internalErrors: string[] = [];

const server = await createSignalingServer({
  host: '127.0.0.1',
  port: 0,
  staticDir: null,
  tls: null,
  log: (line) => {
    logLines++;
    if (!line.includes('internal error')) return;
    internalErrorCount++;
    if (internalErrors.length < MAX_KEPT_ERRORS) internalErrors.push(line.slice(0, 600));
  },
});

const reply = (message: LoadServerReply): void => {
  process.send?.(message);
};

process.on('message', (request: LoadServerRequest) => {
  if (request.type === 'close') {
    void server.close().then(() => process.exit(0));
    return;
  }
  if (request.gc) globalThis.gc?.();
  const cpu = process.cpuUsage(windowStart.cpu);
  const window = {
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: performance.now() - windowStart.wallMs,
    loopDelayMs: loopDelayMs(loopDelay),
  };
  if (request.resetWindow) {
    windowStart = { cpu: process.cpuUsage(), wallMs: performance.now() };
    loopDelay.reset();
  }
  reply({
    type: 'stats',
    id: request.id,
    stats: {
      rooms: server.roomCount(),
      connections: server.connectionCount(),
      memory: process.memoryUsage(),
      window,
      logLines,
      internalErrorCount,
      internalErrors: [...internalErrors],
    },
  });
});
// The parent went away without asking: do not outlive it.
process.on('disconnect', () => void server.close().then(() => process.exit(0)));

reply({ type: 'ready', port: server.port });
