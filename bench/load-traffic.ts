/**
 * The signal traffic of `npm run load:signaling`: messages shaped like simple-peer's (an SDP offer
 * or answer for one data channel as Chromium writes it, trickled ICE host candidates), and a
 * ledger that times each one from `send` to its arrival at the peer it was addressed to.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Each message carries a sequence number so the receiver can find it in the ledger. */
export type SignalData = Record<string, unknown> & { seq: number };

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const iceChars = (length: number): string => randomBytes(length).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, length);

/** A data-channel-only SDP like Chromium's (about 600 bytes): what simple-peer sends in an offer or answer. */
function sdp(setup: 'actpass' | 'active'): string {
  const fingerprint = hex(32).toUpperCase().match(/../g)?.join(':') ?? '';
  return [
    'v=0',
    `o=- ${randomInt(2 ** 47)}${randomInt(1e6)} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${iceChars(4)}`,
    `a=ice-pwd:${iceChars(24)}`,
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${fingerprint}`,
    `a=setup:${setup}`,
    'a=mid:0',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
    '',
  ].join('\r\n');
}

/**
 * Bodies are drawn from small pools made once: the server treats them as opaque, and making a
 * fresh one per message would spend the load generator's CPU (which shares the cores with the
 * server) on random bytes instead of on traffic.
 */
const POOL_SIZE = 64;
const pool = <T>(make: (i: number) => T): T[] => Array.from({ length: POOL_SIZE }, (_, i) => make(i));
const pick = <T>(items: readonly T[], seq: number): T => items[seq % items.length] as T;

const offers = pool(() => sdp('actpass'));
const answers = pool(() => sdp('active'));
/** Trickled host candidates as Chromium writes them, in simple-peer's envelope. */
const candidates = pool((i) => ({
  candidate: `candidate:${randomInt(2 ** 31)} 1 udp ${2122260223 - (i % 4)} 192.168.1.${10 + (i % 4)} ${randomInt(40_000, 60_000)} typ host generation 0 ufrag ${iceChars(4)} network-id ${(i % 4) + 1}`,
  sdpMLineIndex: 0,
  sdpMid: '0',
}));

export const offer = (seq: number): SignalData => ({ type: 'offer', sdp: pick(offers, seq), seq });
export const answer = (seq: number): SignalData => ({ type: 'answer', sdp: pick(answers, seq), seq });
/** The `index`-th candidate of a negotiation. */
export const candidate = (seq: number, index: number): SignalData => ({ type: 'candidate', candidate: pick(candidates, seq * 4 + index), seq });

interface InFlight {
  sentAtMs: number;
  from: string;
  to: string;
}

/**
 * Times relayed signals. One ledger for the whole run: senders and receivers live in this
 * process, so both ends read the same clock (performance.now()).
 */
export class RelayLedger {
  private nextSeq = 1;
  private readonly inFlight = new Map<number, InFlight>();
  /** One latency sample per delivered message, in ms. */
  readonly latenciesMs: number[] = [];
  sent = 0;
  bytesSent = 0;
  delivered = 0;
  /** Arrived at a peer other than the addressee, or stamped with another sender. */
  misrouted = 0;
  /** Arrived with a sequence number never sent, or twice. */
  unexpected = 0;

  /** Assigns the next sequence number; call `send` with the message built on it. */
  seq(): number {
    return this.nextSeq++;
  }

  recordSend(from: string, to: string, data: SignalData): void {
    this.inFlight.set(data.seq, { sentAtMs: performance.now(), from, to });
    this.sent++;
    // The envelope the server receives: {"type":"signal","to":…,"data":…}.
    this.bytesSent += JSON.stringify(data).length + to.length + 28;
  }

  /** Called by the receiving peer `me` with the server-stamped sender `from`. */
  recordArrival(me: string, from: string, data: Record<string, unknown>): void {
    const seq = data['seq'];
    const entry = typeof seq === 'number' ? this.inFlight.get(seq) : undefined;
    if (!entry) {
      this.unexpected++;
      return;
    }
    this.inFlight.delete(seq as number);
    if (entry.to !== me || entry.from !== from) {
      this.misrouted++;
      return;
    }
    this.delivered++;
    this.latenciesMs.push(performance.now() - entry.sentAtMs);
  }

  /** Messages sent and never delivered (read once the traffic has drained). */
  get lost(): number {
    return this.inFlight.size;
  }
}

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of some samples (NaN when there are none). */
export function summarize(values: readonly number[]): Summary {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) =>
    sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number);
  const mean = sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: at(100), mean };
}

/** Event-loop delay is sampled by a timer of this period (ms). */
const LOOP_RESOLUTION_MS = 10;

export const monitorLoopDelay = (): IntervalHistogram => {
  const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  histogram.enable();
  return histogram;
};

/**
 * How late the loop's timer ran, in ms: Node's histogram holds the whole period between timer
 * runs, so the sampling period is taken off (an idle loop reads 0).
 */
export function loopDelayMs(histogram: IntervalHistogram): { p50: number; p99: number; max: number } {
  const late = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
  return { p50: late(histogram.percentile(50)), p99: late(histogram.percentile(99)), max: late(histogram.max) };
}
