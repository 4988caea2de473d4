/**
 * Membership on one link: the hello/welcome handshake (versions checked up front), a heartbeat
 * every second with round-trip time, a leave notice, and the verdict "gone" for a peer silent
 * past the deadline. Used by both sides: the worker says hello, the owner answers.
 */
import { MeshError } from '../errors.ts';
import {
  MESH_PROTOCOL_VERSION,
  heartbeatSchema,
  helloSchema,
  pongSchema,
  leaveSchema,
  parseMeta,
  refuseSchema,
  welcomeSchema,
  type DeviceInfo,
} from './control.ts';
import { Emitter } from './emitter.ts';
import type { MessageLink } from './link.ts';
import { MessageKind, type IncomingMessage } from './wire/index.ts';

export const APP_VERSION = '0.1.0';

export interface SessionOptions {
  /** Heartbeat interval. Default 1 s. */
  heartbeatMs: number;
  /** A peer that sends nothing for this long is declared gone. Default 2.5 s (checked every 250 ms, so a silent peer is gone within 3 s). */
  silenceMs: number;
  /** The handshake must finish within this. Default 10 s. */
  helloTimeoutMs: number;
  now: () => number;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  heartbeatMs: 1_000,
  silenceMs: 2_500,
  helloTimeoutMs: 10_000,
  now: () => performance.now(),
};

export type SessionState = 'handshake' | 'ready' | 'closed';

type SessionEvents = {
  /** The handshake succeeded; carries the other side's device. */
  ready: DeviceInfo;
  /** A new round-trip time sample, in ms. */
  rtt: number;
  /** Messages other than membership ones (requests are answered by the link's handler). */
  message: IncomingMessage;
  close: MeshError | null;
};

const EWMA_WEIGHT = 0.3;
const SILENCE_CHECK_MS = 250;
/**
 * A silence check that comes this late means this page itself was blocked (a long computation, a
 * model being built): the peer's heartbeats may be waiting unread behind it, so that check passes
 * and the next one, after they are read, decides.
 */
const OWN_STALL_MS = 4 * SILENCE_CHECK_MS;

export class PeerSession extends Emitter<SessionEvents> {
  state: SessionState = 'handshake';
  /** The other side's device, once the handshake is done. */
  remote: DeviceInfo | null = null;
  /** Smoothed round-trip time in ms (null until the first pong). */
  rttMs: number | null = null;
  /**
   * The peer's clock minus ours, in ms (its `performance.now()` against ours), estimated from
   * pongs at the lowest-RTT samples; null until the first pong. Maps the peer's times to ours.
   */
  clockOffsetMs: number | null = null;
  private bestOffsetRttMs = Infinity;
  private lastCheckAtMs = Date.now();
  private readonly options: SessionOptions;
  private readonly timers: ReturnType<typeof setInterval>[] = [];

  constructor(
    readonly link: MessageLink,
    readonly role: 'owner' | 'worker',
    private readonly local: DeviceInfo,
    options: Partial<SessionOptions> = {},
  ) {
    super();
    this.options = { ...DEFAULT_SESSION_OPTIONS, ...options };
    link.on('message', (m) => this.onMessage(m));
    link.on('close', (reason) => this.finish(reason));
    const helloTimer = setTimeout(() => {
      if (this.state === 'handshake') this.drop(new MeshError('ERR_TIMEOUT', `no handshake within ${this.options.helloTimeoutMs} ms`));
    }, this.options.helloTimeoutMs);
    this.timers.push(helloTimer);
    this.timers.push(setInterval(() => this.beat(), this.options.heartbeatMs));
    this.timers.push(setInterval(() => this.checkSilence(), SILENCE_CHECK_MS));
    if (role === 'worker') {
      void link.send({ kind: MessageKind.Hello, meta: { protocol: MESH_PROTOCOL_VERSION, app: APP_VERSION, device: local } }).catch(() => {});
    }
  }

  /**
   * Says goodbye and closes once the notice has left. From `pagehide` the page may be gone
   * before that: the notice is then best effort, and the peer's heartbeat covers the rest.
   */
  leave(reason: string): void {
    if (this.state === 'closed') return;
    void this.link.send({ kind: MessageKind.Leave, meta: { reason } }, { urgent: true }).catch(() => {});
    this.finish(null);
    void this.link.closeAfterFlush(null);
  }

  /** Closes with a reason (the link's 'close' then reports it). */
  drop(reason: MeshError): void {
    this.link.destroy(reason);
  }

  private checkSilence(): void {
    if (this.state === 'closed') return;
    const now = Date.now();
    const stalledHere = now - this.lastCheckAtMs > OWN_STALL_MS;
    this.lastCheckAtMs = now;
    if (stalledHere) return;
    const silentForMs = now - this.link.lastFrameAtMs;
    if (silentForMs > this.options.silenceMs) {
      this.drop(new MeshError('ERR_PEER_SILENT', `no word from the peer for ${Math.round(silentForMs)} ms`));
    }
  }

  private beat(): void {
    if (this.state === 'closed') return;
    void this.link.send({ kind: MessageKind.Ping, meta: { t: this.options.now() } }, { urgent: true }).catch(() => {});
  }

  private onMessage(message: IncomingMessage): void {
    if (this.state === 'closed') return; // leaving: the link only flushes what was sent
    switch (message.kind) {
      case MessageKind.Ping: {
        const ping = parseMeta(heartbeatSchema, message.meta);
        if (!ping) return this.drop(new MeshError('ERR_PROTOCOL', 'malformed ping'));
        void this.link.send({ kind: MessageKind.Pong, meta: { t: ping.t, peerT: this.options.now() } }, { urgent: true }).catch(() => {});
        return;
      }
      case MessageKind.Pong: {
        const pong = parseMeta(pongSchema, message.meta);
        if (!pong) return this.drop(new MeshError('ERR_PROTOCOL', 'malformed pong'));
        const sample = this.options.now() - pong.t;
        if (sample < 0 || sample > 60_000) return; // not one of ours, or from before a clock jump
        this.rttMs = this.rttMs === null ? sample : this.rttMs + EWMA_WEIGHT * (sample - this.rttMs);
        // The peer read its clock about half a round trip after our ping left; the quickest
        // round trips bound that best (slightly relaxed over time so drift is followed).
        this.bestOffsetRttMs *= 1.05;
        if (pong.peerT !== undefined && sample <= this.bestOffsetRttMs) {
          this.bestOffsetRttMs = sample;
          this.clockOffsetMs = pong.peerT - (pong.t + sample / 2);
        }
        this.emit('rtt', sample);
        return;
      }
      case MessageKind.Leave: {
        const leave = parseMeta(leaveSchema, message.meta);
        return this.drop(new MeshError('ERR_PEER_LEFT', `the peer left${leave ? `: ${leave.reason}` : ''}`));
      }
      case MessageKind.Hello:
        return this.onHello(message.meta);
      case MessageKind.Welcome:
        return this.onWelcome(message.meta);
      case MessageKind.Refuse: {
        const refuse = parseMeta(refuseSchema, message.meta);
        return this.drop(new MeshError('ERR_REFUSED', refuse ? refuse.message : 'the owner refused this device', refuse?.code));
      }
      default:
        if (this.state !== 'ready') return this.drop(new MeshError('ERR_PROTOCOL', `message kind ${message.kind} before the handshake`));
        this.emit('message', message);
    }
  }

  private onHello(meta: unknown): void {
    if (this.role !== 'owner' || this.state !== 'handshake') return this.drop(new MeshError('ERR_PROTOCOL', 'unexpected hello'));
    const hello = parseMeta(helloSchema, meta);
    if (!hello) return this.drop(new MeshError('ERR_PROTOCOL', 'malformed hello'));
    if (hello.protocol !== MESH_PROTOCOL_VERSION) {
      const message = `this device runs app ${hello.app} (mesh protocol ${hello.protocol}), the owner ${APP_VERSION} (protocol ${MESH_PROTOCOL_VERSION}): reload both pages`;
      void this.link.send({ kind: MessageKind.Refuse, meta: { code: 'ERR_VERSION_MISMATCH', message } }, { urgent: true }).catch(() => {});
      this.finish(new MeshError('ERR_VERSION_MISMATCH', message));
      void this.link.closeAfterFlush(new MeshError('ERR_VERSION_MISMATCH', message));
      return;
    }
    void this.link.send({ kind: MessageKind.Welcome, meta: { protocol: MESH_PROTOCOL_VERSION, owner: this.local } }).catch(() => {});
    this.becomeReady(hello.device);
  }

  private onWelcome(meta: unknown): void {
    if (this.role !== 'worker' || this.state !== 'handshake') return this.drop(new MeshError('ERR_PROTOCOL', 'unexpected welcome'));
    const welcome = parseMeta(welcomeSchema, meta);
    if (!welcome) return this.drop(new MeshError('ERR_PROTOCOL', 'malformed welcome'));
    if (welcome.protocol !== MESH_PROTOCOL_VERSION) {
      return this.drop(new MeshError('ERR_VERSION_MISMATCH', `the owner speaks mesh protocol ${welcome.protocol}, this page ${MESH_PROTOCOL_VERSION}: reload both pages`));
    }
    this.becomeReady(welcome.owner);
  }

  private becomeReady(remote: DeviceInfo): void {
    this.remote = remote;
    this.state = 'ready';
    this.emit('ready', remote);
  }

  private finish(reason: MeshError | null): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const timer of this.timers) clearInterval(timer);
    this.emit('close', reason);
    this.removeAllListeners();
  }
}
