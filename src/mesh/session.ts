/**
 * Membership on one link: the hello/welcome handshake (versions checked up front) with the
 * channel-bound proof of the join key, a heartbeat every second with round-trip time, a leave
 * notice, and the verdict "gone" for a peer silent past the deadline. Used by both sides.
 *
 * The handshake (see channel-auth.ts):
 *   worker → hello   { versions, commitment to its nonce }
 *   owner  → welcome { version, owner's nonce }
 *   worker → request mesh.auth { its nonce, its proof, its device }   (the owner checks, else refuses)
 *   owner  → response { owner's proof, owner's device }               (the worker checks, else leaves)
 * Neither side is 'ready' (no tasks, no models, no weights) before it has checked the other's
 * proof, and neither tells the other anything about its device before that.
 *
 * Between two workers (scope 'neighbour') the same handshake runs with the initiator of the
 * connection in the owner's role, under its own method and signing label, and with no device
 * details at all: a neighbour only swaps data with the other, on the owner's say.
 */
import { MeshError } from '../errors.ts';
import {
  channelAuthKey,
  commitmentTo,
  newNonce,
  proveChannel,
  shortAuthCode,
  transcriptFor,
  verifyChannelProof,
  type AuthScope,
  type AuthTranscript,
  type ChannelBinding,
} from './channel-auth.ts';
import {
  AUTH_METHOD,
  MESH_PROTOCOL_VERSION,
  NEIGHBOUR_AUTH_METHOD,
  authReplySchema,
  authRequestSchema,
  heartbeatSchema,
  helloSchema,
  pongSchema,
  leaveSchema,
  neighbourAuthReplySchema,
  neighbourAuthRequestSchema,
  parseMeta,
  refuseSchema,
  welcomeSchema,
  type DeviceInfo,
} from './control.ts';
import { Emitter } from './emitter.ts';
import type { MessageLink, Reply, RequestHandler } from './link.ts';
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

/** What the channel proof needs: the room's join key and the transport's binding (null: it cannot tell, and is refused). */
export interface SessionAuth {
  joinKey: string;
  binding: ChannelBinding | null;
  /** Default 'star' (owner and worker). */
  scope?: AuthScope;
}

/** A failed channel proof: a protocol error with the detail code `ERR_AUTH`. */
const authFailure = (message: string): MeshError => new MeshError('ERR_AUTH', message);
const PEER_FAILED_PROOF = 'the peer could not prove it knows this room’s join key on this connection (a wrong key, or someone in the middle of the connection)';

type SessionEvents = {
  /** The handshake succeeded; carries the other side's device (null on a neighbour link, where none travels). */
  ready: DeviceInfo | null;
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
  /** The short authentication code both screens show, once the proofs checked out. */
  authCode: string | null = null;
  private bestOffsetRttMs = Infinity;
  private readonly authKey: Promise<CryptoKey>;
  private readonly nonce = newNonce();
  /** Owner: the hello's nonce commitment, kept until the worker's proof arrives. */
  private hello: { commit: string } | null = null;
  /** Worker: a welcome was taken (a second one is a protocol error). */
  private welcomed = false;
  private proofChecked = false;
  private lastCheckAtMs = Date.now();
  private readonly options: SessionOptions;
  private readonly scope: AuthScope;
  private served: RequestHandler | null = null;
  private readonly timers: ReturnType<typeof setInterval>[] = [];

  constructor(
    readonly link: MessageLink,
    readonly role: 'owner' | 'worker',
    private readonly local: DeviceInfo,
    private readonly auth: SessionAuth,
    options: Partial<SessionOptions> = {},
  ) {
    super();
    this.options = { ...DEFAULT_SESSION_OPTIONS, ...options };
    this.scope = auth.scope ?? 'star';
    this.authKey = channelAuthKey(auth.joinKey);
    this.authKey.catch(() => {}); // awaited where used
    link.on('message', (m) => this.onMessage(m));
    link.on('close', (reason) => this.finish(reason));
    const helloTimer = setTimeout(() => {
      if (this.state === 'handshake') this.drop(new MeshError('ERR_TIMEOUT', `no handshake (with its channel proof) within ${this.options.helloTimeoutMs} ms`));
    }, this.options.helloTimeoutMs);
    this.timers.push(helloTimer);
    this.timers.push(setInterval(() => this.beat(), this.options.heartbeatMs));
    this.timers.push(setInterval(() => this.checkSilence(), SILENCE_CHECK_MS));
    if (!auth.binding) {
      // After the caller has attached its listeners, so it hears why.
      queueMicrotask(() => this.drop(authFailure('this connection cannot tell its channel binding (DTLS fingerprints), so the join key cannot be proved on it')));
      return;
    }
    if (role === 'owner') link.setRequestHandler((request) => (this.served ? this.answerServed(request) : this.answerAsOwner(request)));
    else void this.sayHello();
  }

  /**
   * Hands the peer's requests to `handler` once both proofs checked out; the session keeps the
   * link's request handler itself so that nothing reaches `handler` before that. Without it, an
   * owner-role session takes no requests but the proof (an owner's workers ask it nothing).
   */
  serve(handler: RequestHandler): void {
    this.served = handler;
    if (this.role === 'worker') this.link.setRequestHandler((request) => this.answerServed(request));
  }

  private async answerServed(request: IncomingMessage): Promise<Reply> {
    const method = (request.meta as { method?: unknown } | null)?.method;
    if (this.role === 'owner' && method === this.authMethod) return this.answerAsOwner(request);
    // Before the peer's proof was even checked no request of its can be genuine; after it, one may
    // overtake the last handshake step and waits for it.
    const mayWait = this.role === 'worker' || this.proofChecked;
    if (this.state !== 'ready' && !(mayWait && (await this.whenReady()))) {
      throw Object.assign(new Error('the peer has not proved the join key on this connection'), { code: 'ERR_PROTOCOL' });
    }
    return (this.served as RequestHandler)(request);
  }

  private get authMethod(): string {
    return this.scope === 'neighbour' ? NEIGHBOUR_AUTH_METHOD : AUTH_METHOD;
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

  /**
   * Resolves true once the handshake is done (at once if it is), false if the session closes
   * first. A request from the peer that overtakes the last handshake step waits on this.
   */
  whenReady(): Promise<boolean> {
    if (this.state !== 'handshake') return Promise.resolve(this.state === 'ready');
    return new Promise((resolve) => {
      const offReady = this.on('ready', () => (offClose(), resolve(true)));
      const offClose = this.on('close', () => (offReady(), resolve(false)));
    });
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
        // A neighbour cannot refuse for any reason but a proof (there is no admission between workers).
        if (this.scope === 'neighbour') return this.drop(authFailure(refuse ? refuse.message : 'the neighbour refused this link'));
        return this.drop(new MeshError('ERR_REFUSED', refuse ? refuse.message : 'the owner refused this device', refuse?.code));
      }
      default:
        if (this.state !== 'ready') return this.drop(new MeshError('ERR_PROTOCOL', `message kind ${message.kind} before the handshake`));
        this.emit('message', message);
    }
  }

  private async sayHello(): Promise<void> {
    const commit = await commitmentTo(this.nonce);
    if (this.state !== 'handshake') return;
    void this.link.send({ kind: MessageKind.Hello, meta: { protocol: MESH_PROTOCOL_VERSION, app: APP_VERSION, auth: { commit } } }).catch(() => {});
  }

  private onHello(meta: unknown): void {
    if (this.role !== 'owner' || this.state !== 'handshake' || this.hello) return this.drop(new MeshError('ERR_PROTOCOL', 'unexpected hello'));
    const hello = parseMeta(helloSchema, meta);
    if (!hello) return this.drop(new MeshError('ERR_PROTOCOL', 'malformed hello'));
    if (hello.protocol !== MESH_PROTOCOL_VERSION) {
      const message = `this device runs app ${hello.app} (mesh protocol ${hello.protocol}), the owner ${APP_VERSION} (protocol ${MESH_PROTOCOL_VERSION}): reload both pages`;
      return this.refuse(new MeshError('ERR_VERSION_MISMATCH', message), 'ERR_VERSION_MISMATCH');
    }
    if (!hello.auth) return this.refuse(authFailure('the hello carries no channel proof commitment'), 'ERR_AUTH');
    this.hello = { commit: hello.auth.commit };
    void this.link.send({ kind: MessageKind.Welcome, meta: { protocol: MESH_PROTOCOL_VERSION, auth: { nonce: this.nonce } } }).catch(() => {});
  }

  /** The owner takes one request from a worker: its channel proof, during the handshake. */
  private async answerAsOwner(request: IncomingMessage): Promise<Reply> {
    const hello = this.hello;
    const method = (request.meta as { method?: unknown } | null)?.method;
    if (method !== this.authMethod || this.state !== 'handshake' || !hello || this.proofChecked) {
      throw Object.assign(new Error('the owner takes no requests from workers'), { code: 'ERR_NO_HANDLER' });
    }
    this.proofChecked = true;
    const starProof = this.scope === 'star' ? parseMeta(authRequestSchema, request.meta) : null;
    const proof = starProof ?? (this.scope === 'neighbour' ? parseMeta(neighbourAuthRequestSchema, request.meta) : null);
    const transcript = proof ? transcriptFor('owner', this.auth.binding as ChannelBinding, { own: this.nonce, peer: proof.nonce }, this.scope) : null;
    const key = await this.authKey;
    const valid = !!proof && !!transcript && (await commitmentTo(proof.nonce)) === hello.commit && (await verifyChannelProof(key, 'worker', transcript, proof.proof));
    if (this.state !== 'handshake') throw Object.assign(new Error('the link closed'), { code: 'ERR_DESTROYED' });
    if (!valid || !transcript || !proof) {
      this.refuse(authFailure(PEER_FAILED_PROOF), 'ERR_AUTH');
      throw Object.assign(new Error('channel proof refused'), { code: 'ERR_AUTH' });
    }
    const [code, ownerProof] = await Promise.all([shortAuthCode(transcript), proveChannel(key, 'owner', transcript)]);
    // Ready only after the response has been queued: whatever the owner sends once ready (the
    // admission state, the probe) must reach the worker after the proof it checks first.
    setTimeout(() => {
      if (this.state !== 'handshake') return;
      this.authCode = code;
      this.becomeReady(starProof?.device ?? null);
    }, 0);
    return { meta: this.scope === 'neighbour' ? { proof: ownerProof } : { proof: ownerProof, owner: this.local } };
  }

  private onWelcome(meta: unknown): void {
    if (this.role !== 'worker' || this.state !== 'handshake' || this.welcomed) return this.drop(new MeshError('ERR_PROTOCOL', 'unexpected welcome'));
    this.welcomed = true;
    const welcome = parseMeta(welcomeSchema, meta);
    if (!welcome) return this.drop(new MeshError('ERR_PROTOCOL', 'malformed welcome'));
    if (welcome.protocol !== MESH_PROTOCOL_VERSION) {
      return this.drop(new MeshError('ERR_VERSION_MISMATCH', `the owner speaks mesh protocol ${welcome.protocol}, this page ${MESH_PROTOCOL_VERSION}: reload both pages`));
    }
    if (!welcome.auth) return this.drop(authFailure('the owner’s welcome carries no nonce for the channel proof'));
    void this.proveToOwner(transcriptFor('worker', this.auth.binding as ChannelBinding, { own: this.nonce, peer: welcome.auth.nonce }, this.scope));
  }

  /** The worker's half: send its proof, check the owner's. */
  private async proveToOwner(transcript: AuthTranscript): Promise<void> {
    try {
      const key = await this.authKey;
      const proof = await proveChannel(key, 'worker', transcript);
      if (this.state !== 'handshake') return;
      const neighbour = this.scope === 'neighbour';
      const meta = neighbour ? { method: NEIGHBOUR_AUTH_METHOD, nonce: this.nonce, proof } : { method: AUTH_METHOD, nonce: this.nonce, proof, device: this.local };
      const reply = await this.link.request(meta, [], { timeoutMs: this.options.helloTimeoutMs });
      const starReply = neighbour ? null : parseMeta(authReplySchema, reply.meta);
      const ownerProof = neighbour ? parseMeta(neighbourAuthReplySchema, reply.meta) : starReply;
      const valid = !!ownerProof && (await verifyChannelProof(key, 'owner', transcript, ownerProof.proof));
      if (this.state !== 'handshake') return;
      if (!valid) return this.drop(authFailure(`the ${neighbour ? 'neighbour' : 'owner'} ${PEER_FAILED_PROOF.replace(/^the peer /, '')}`));
      this.authCode = await shortAuthCode(transcript);
      if (this.state === 'handshake' && ownerProof) this.becomeReady(starReply?.owner ?? null);
    } catch (err) {
      // The owner refused (its Refuse closes the link and says why) or the link went: only report what is new.
      if (this.state === 'handshake') this.drop(err instanceof MeshError ? err : authFailure(`channel proof failed: ${(err as Error).message}`));
    }
  }

  /** Tells the peer why, then closes once that has left. */
  private refuse(error: MeshError, code: string): void {
    void this.link.send({ kind: MessageKind.Refuse, meta: { code, message: error.message.replace(/^modnn-web: /, '') } }, { urgent: true }).catch(() => {});
    this.finish(error);
    void this.link.closeAfterFlush(error);
  }

  private becomeReady(remote: DeviceInfo | null): void {
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
