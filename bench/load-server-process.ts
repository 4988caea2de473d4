/**
 * The child processes of `npm run load:signaling`. The server (bench/load-server.ts): its port,
 * its counters and memory (from the server itself and from /proc), and whether it died on its
 * own. The quiet latency probe (bench/load-latency-probe.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LatencyProbeReply, LatencyProbeRequest } from './load-latency-probe.ts';
import type { LoadServerReply, LoadServerRequest, ServerStats } from './load-server.ts';

const START_TIMEOUT_MS = 20_000;
const REPLY_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 5_000;
const MiB = 2 ** 20;
const here = path.dirname(fileURLToPath(import.meta.url));

/** Runs a TypeScript file of bench/ in a child Node process with an IPC channel. */
const forkTs = (file: string, execArgv: string[] = []): ChildProcess =>
  fork(path.join(here, file), [], { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

export interface MemorySample {
  phase: string;
  rooms: number;
  connections: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  /** Peak resident set of the process so far (VmHWM in /proc/<pid>/status). */
  peakRssMiB: number | null;
}

/** VmRSS / VmHWM of a process in MiB, or null off Linux. */
function procStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export class ServerProcess {
  /** Set when the child ended without being asked to: a crash. */
  crash: string | null = null;
  private closing = false;
  private nextId = 1;
  private readonly pending = new Map<number, (stats: ServerStats) => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (!this.closing) this.crash = `the server process exited by itself (code ${code}, signal ${signal})`;
        else if (code !== 0) this.crash = `the server process ended with code ${code}, signal ${signal} when asked to close`;
        resolve({ code, signal });
      }),
    );
    // A write to a child that just died fails with EPIPE: that is the crash reported by 'exit'.
    child.on('error', (err) => (this.crash ??= `the server process failed: ${err.message}`));
    child.on('message', (reply: LoadServerReply) => {
      if (reply.type !== 'stats') return;
      this.pending.get(reply.id)?.(reply.stats);
      this.pending.delete(reply.id);
    });
  }

  static async start(): Promise<ServerProcess> {
    const child = forkTs('load-server.ts', ['--expose-gc']);
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the signaling server did not start within 20 s')), START_TIMEOUT_MS);
      child.once('exit', (code) => reject(new Error(`the signaling server exited during start-up (code ${code})`)));
      child.on('message', (reply: LoadServerReply) => {
        if (reply.type !== 'ready') return;
        clearTimeout(timer);
        resolve(reply.port);
      });
    }).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
    return new ServerProcess(child, port);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The server's counters and memory; `gc` first runs a full collection (what is retained). */
  stats(gc = false, resetWindow = false): Promise<ServerStats> {
    if (this.crash || !this.child.connected) return Promise.reject(new Error(this.crash ?? 'the server process is gone'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('the server did not answer a stats request within 5 s'));
      }, REPLY_TIMEOUT_MS);
      this.pending.set(id, (stats) => {
        clearTimeout(timer);
        resolve(stats);
      });
      this.child.send({ type: 'stats', id, gc, resetWindow } satisfies LoadServerRequest, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  async sample(phase: string, gc: boolean): Promise<MemorySample> {
    const stats = await this.stats(gc);
    return {
      phase,
      rooms: stats.rooms,
      connections: stats.connections,
      rssMiB: procStatusMiB(this.pid, 'VmRSS') ?? stats.memory.rss / MiB,
      heapUsedMiB: stats.memory.heapUsed / MiB,
      heapTotalMiB: stats.memory.heapTotal / MiB,
      externalMiB: stats.memory.external / MiB,
      peakRssMiB: procStatusMiB(this.pid, 'VmHWM'),
    };
  }

  /** Asks the server to close; kills it if it does not within 5 s. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ type: 'close' } satisfies LoadServerRequest);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** Ends the child at once (the run is failing). */
  kill(): void {
    this.closing = true;
    this.child.kill('SIGKILL');
  }
}

export interface QuietLatency {
  /** One-way relay latency of each signal, ms. */
  ms: number[];
  lost: number;
  misrouted: number;
}

/**
 * Opens the quiet room in its own process (before the load, so that it has its connections).
 * `start` begins a lap of timing, `lap` ends it and returns what it measured (null when the
 * probe failed or did not answer: the report then says so), `close` ends the process.
 */
export async function openLatencyProbe(
  url: string,
  workers: number,
): Promise<{ opened: boolean; start(): void; lap(): Promise<QuietLatency | null>; close(): Promise<void> }> {
  const child = forkTs('load-latency-probe.ts');
  child.on('error', () => {}); // a probe that died is reported as null, below
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const send = (request: LatencyProbeRequest) => {
    if (child.connected) child.send(request, () => {});
  };
  const opened = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
    child.on('message', (reply: LatencyProbeReply) => {
      if (reply.type !== 'opened') return;
      clearTimeout(timer);
      resolve(true);
    });
    void exited.then(() => resolve(false));
    send({ type: 'open', url, workers });
  });
  return {
    opened,
    start: () => send({ type: 'start' }),
    lap() {
      if (!opened || !child.connected) return Promise.resolve(null);
      return new Promise<QuietLatency | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), REPLY_TIMEOUT_MS);
        const onReply = (reply: LatencyProbeReply) => {
          if (reply.type !== 'latencies') return;
          clearTimeout(timer);
          child.off('message', onReply);
          resolve({ ms: reply.ms, lost: reply.lost, misrouted: reply.misrouted });
        };
        child.on('message', onReply);
        void exited.then(() => resolve(null));
        send({ type: 'lap' });
      });
    },
    async close() {
      send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
