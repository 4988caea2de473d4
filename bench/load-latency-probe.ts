/**
 * A child process of `npm run load:signaling`: one of the load's rooms (an owner and four
 * workers) kept quiet, in a process of its own, timing signals through the server while the load
 * runs. The load generator's event loop is busy with a thousand sockets; this one is nearly idle,
 * like a real page, so its numbers are the server's relay latency under load rather than the
 * generator's own queueing.
 *
 * It times in laps (under load, and again once the server is idle, for the baseline of this
 * machine). IPC: the parent sends `open` (answered `opened`), then `start` and `lap` (answered
 * `latencies`) as often as it likes, and `close` (the child exits).
 */
import { closeAllSockets } from './load-client.ts';
import { liveRoom } from './load-probe.ts';
import { candidate, RelayLedger } from './load-traffic.ts';

export type LatencyProbeRequest = { type: 'open'; url: string; workers: number } | { type: 'start' } | { type: 'lap' } | { type: 'close' };
export type LatencyProbeReply = { type: 'opened' } | { type: 'latencies'; ms: number[]; lost: number; misrouted: number };

/**
 * The owner sends one signal every this often, to each worker in turn, and the worker answers:
 * 10 a second from the owner, half the server's sustained rate.
 */
const INTERVAL_MS = 100;
const DRAIN_MS = 1_000;

const reply = (message: LatencyProbeReply): void => {
  process.send?.(message);
};

interface QuietRoom {
  start(): void;
  /** Stops sending, waits for what is in flight, and reports the lap's samples. */
  lap(): Promise<void>;
}

async function open(url: string, workerCount: number): Promise<QuietRoom> {
  const ledger = new RelayLedger();
  let misroutedBefore = 0;
  const room = await liveRoom(url);
  const owner = { socket: room.owner, peerId: room.ownerId };
  const workers = await Promise.all(Array.from({ length: workerCount }, () => room.join()));
  const send = (from: typeof owner, to: string) => {
    const data = candidate(ledger.seq(), 0);
    ledger.recordSend(from.peerId, to, data);
    from.socket.signal(to, data);
  };
  owner.socket.onSignal = (from, data) => ledger.recordArrival(owner.peerId, from, data);
  for (const worker of workers) {
    worker.socket.onSignal = (from, data) => {
      ledger.recordArrival(worker.peerId, from, data);
      send(worker, from);
    };
  }
  let timer: ReturnType<typeof setInterval> | null = null;
  let turn = 0;
  return {
    start() {
      timer = setInterval(() => send(owner, (workers[turn++ % workers.length] as (typeof workers)[number]).peerId), INTERVAL_MS);
    },
    async lap() {
      if (timer) clearInterval(timer);
      timer = null;
      await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
      // Still in flight after the drain counts as lost (the next lap would count it again: fine, it is a failure).
      reply({ type: 'latencies', ms: ledger.latenciesMs.splice(0), lost: ledger.lost, misrouted: ledger.misrouted - misroutedBefore });
      misroutedBefore = ledger.misrouted;
    },
  };
}

let quiet: QuietRoom | null = null;
process.on('message', (request: LatencyProbeRequest) => {
  switch (request.type) {
    case 'open':
      void open(request.url, request.workers).then(
        (room) => {
          quiet = room;
          reply({ type: 'opened' });
        },
        (err: Error) => {
          console.error(`load:signaling latency probe: ${err.message}`);
          process.exit(1);
        },
      );
      return;
    case 'start':
      quiet?.start();
      return;
    case 'lap':
      void quiet?.lap();
      return;
    case 'close':
      closeAllSockets();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
