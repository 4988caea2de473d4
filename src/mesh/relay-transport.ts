/**
 * A frame transport through the signaling server's WebSocket, for when no direct WebRTC link can
 * be made. The server only passes sealed bytes between two members of a room; the frames are
 * sealed end to end with keys from the join key and this session's nonces (relay-crypto.ts).
 *
 * Set-up rides on signaling: the owner (initiator) sends `{ type: 'relay', nonce }`, the worker
 * answers with its own nonce, and both derive the session's keys. The two nonces are the
 * session's channel binding for the join proof (channel-auth.ts).
 */
import type { SignalData } from 'simple-peer';
import * as v from 'valibot';
import { RELAY_MAX_FRAME_BYTES } from '../../signaling/protocol.ts';
import { MeshError } from '../errors.ts';
import { FrameInbox, MAX_EARLY_FRAMES } from './frame-inbox.ts';
import { NONCE_PATTERN, newNonce, type ChannelBinding } from './channel-auth.ts';
import type { PeerTransport } from './peer-transport.ts';
import { RELAY_SEAL_OVERHEAD_BYTES, RelaySealer } from './relay-crypto.ts';

/** One peer's lane on the signaling connection (SignalingClient.relayPort). */
export interface RelayPort {
  /** Hands one sealed frame to the server for the peer. */
  send(frame: Uint8Array): void;
  /** Bytes the server connection has not sent yet (shared by every lane on it). */
  readonly bufferedAmount: number;
  onFrame: ((frame: Uint8Array) => void) | null;
  /** The server connection under the lane is gone (its peer ids with it). */
  onClose: (() => void) | null;
  /** Detaches the lane. */
  close(): void;
}

export interface RelayTransportOptions {
  initiator: boolean;
  joinKey: string;
  port: RelayPort;
  onSignal: (data: SignalData) => void;
  /** Give up if the other side has not answered by then. Default 10 s. */
  connectTimeoutMs?: number;
}

/** Received frames waiting to be opened; more means the peer floods us. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** WebSockets have no buffered-amount-low event: drains are polled this often. */
const DRAIN_POLL_MS = 10;

const relaySignalSchema = v.object({ type: v.literal('relay'), nonce: v.pipe(v.string(), v.regex(NONCE_PATTERN)) });
export type RelaySignal = v.InferOutput<typeof relaySignalSchema>;
/** Whether a signal from the peer belongs to a relay set-up rather than to WebRTC. */
export const isRelaySignal = (data: unknown): boolean => (data as { type?: unknown } | null)?.type === 'relay';

export class RelayTransport implements PeerTransport {
  readonly connected: Promise<void>;
  readonly relayed = true;
  onClose: ((error: MeshError | null) => void) | null = null;
  private readonly nonce = newNonce();
  private peerNonce: string | null = null;
  private sealer: RelaySealer | null = null;
  /** Set once the peer's nonce is known; received frames wait on it. */
  private sealerReady: Promise<RelaySealer | null> | null = null;
  private open = false;
  private closed = false;
  private sendChain: Promise<void> = Promise.resolve();
  private receiveChain: Promise<void> = Promise.resolve();
  /** Bytes handed to `send` and not yet given to the server connection. */
  private sealing = 0;
  private queuedBytes = 0;
  private readonly inbox = new FrameInbox(MAX_EARLY_FRAMES, (message) => this.finish(new MeshError('ERR_PROTOCOL', message)));
  private settle!: (error: MeshError | null) => void;

  constructor(private readonly options: RelayTransportOptions) {
    this.connected = new Promise<void>((resolve, reject) => {
      const timeoutMs = options.connectTimeoutMs ?? 10_000;
      const timer = setTimeout(() => this.finish(new MeshError('ERR_CONNECTION', `no relay through the server within ${timeoutMs} ms`)), timeoutMs);
      this.settle = (error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
    });
    this.connected.catch(() => {}); // observed by whoever awaits it
    options.port.onFrame = (sealed) => this.receive(sealed);
    options.port.onClose = () => this.finish(new MeshError('ERR_CONNECTION', 'the server connection carrying the relay closed'));
    if (options.initiator) this.sendNonce();
  }

  /** The other side's nonce (its answer or its opening). Bad or repeated signals close the transport. */
  signal(data: SignalData): void {
    if (this.closed) return;
    const parsed = v.safeParse(relaySignalSchema, data);
    if (!parsed.success) return this.finish(new MeshError('ERR_CONNECTION', 'malformed relay signal from the peer'));
    if (this.peerNonce !== null) return this.finish(new MeshError('ERR_CONNECTION', 'the peer restarted the relay set-up'));
    this.peerNonce = parsed.output.nonce;
    if (!this.options.initiator) this.sendNonce();
    const [ownerNonce, workerNonce] = this.options.initiator ? [this.nonce, this.peerNonce] : [this.peerNonce, this.nonce];
    this.sealerReady = RelaySealer.create(this.options.joinKey, this.options.initiator ? 'owner' : 'worker', ownerNonce, workerNonce).then(
      (sealer) => {
        if (this.closed) return null;
        this.sealer = sealer;
        this.open = true;
        this.settle(null);
        return sealer;
      },
      (err: Error) => {
        this.finish(new MeshError('ERR_CONNECTION', `relay keys: ${err.message}`));
        return null;
      },
    );
  }

  channelBinding(): ChannelBinding | null {
    return this.peerNonce ? { local: `relay:${this.nonce}`, remote: `relay:${this.peerNonce}` } : null;
  }

  get isOpen(): boolean {
    return this.open && !this.closed;
  }

  get bufferedAmount(): number {
    return this.sealing + this.options.port.bufferedAmount;
  }

  /** The receiver of frames; frames that arrive before it is set are kept for it (see FrameInbox). */
  get onFrame(): ((frame: Uint8Array) => void) | null {
    return this.inbox.onFrame;
  }

  set onFrame(handler: ((frame: Uint8Array) => void) | null) {
    this.inbox.onFrame = handler;
  }

  send(frame: Uint8Array): void {
    const sealer = this.sealer;
    if (!this.isOpen || !sealer) throw new MeshError('ERR_DESTROYED', 'send on a closed relay');
    if (frame.byteLength + RELAY_SEAL_OVERHEAD_BYTES > RELAY_MAX_FRAME_BYTES) {
      throw new MeshError('ERR_PROTOCOL', `a frame of ${frame.byteLength} bytes is over the relay's limit of ${RELAY_MAX_FRAME_BYTES - RELAY_SEAL_OVERHEAD_BYTES}`);
    }
    const copy = new Uint8Array(frame); // the caller may reuse its buffer while we seal
    this.sealing += copy.byteLength;
    // Sealing is asynchronous; the chain keeps frames (and their counters) in call order.
    const sealed = sealer.seal(copy);
    this.sendChain = this.sendChain
      .then(() => sealed)
      .then(
        (bytes) => {
          this.sealing -= copy.byteLength;
          if (!this.closed) this.options.port.send(bytes);
        },
        (err: Error) => this.finish(new MeshError('ERR_CONNECTION', `relay sealing failed: ${err.message}`)),
      );
  }

  waitForDrain(lowWaterBytes: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const check = () => {
        if (this.closed) reject(new MeshError('ERR_DESTROYED', 'relay closed while waiting to send'));
        else if (this.bufferedAmount <= lowWaterBytes) resolve();
        else if (Date.now() - started > timeoutMs) reject(new MeshError('ERR_TIMEOUT', `relay send buffer did not drain within ${timeoutMs} ms`));
        else setTimeout(check, DRAIN_POLL_MS);
      };
      check();
    });
  }

  close(): void {
    this.finish(null);
  }

  private sendNonce(): void {
    const signal: RelaySignal = { type: 'relay', nonce: this.nonce };
    this.options.onSignal(signal as unknown as SignalData);
  }

  private receive(sealed: Uint8Array): void {
    if (this.closed) return;
    if (this.queuedBytes + sealed.byteLength > MAX_QUEUED_BYTES) {
      return this.finish(new MeshError('ERR_PROTOCOL', `over ${MAX_QUEUED_BYTES} bytes of relayed frames waiting to be opened`));
    }
    const ready = this.sealerReady;
    if (!ready) return this.finish(new MeshError('ERR_PROTOCOL', 'a relayed frame arrived before the relay was set up'));
    this.queuedBytes += sealed.byteLength;
    // Opened one at a time, in arrival order: the counter check depends on it.
    this.receiveChain = this.receiveChain.then(async () => {
      const sealer = await ready;
      this.queuedBytes -= sealed.byteLength;
      if (this.closed || !sealer) return;
      try {
        this.deliver(await sealer.open(sealed));
      } catch (err) {
        this.finish(new MeshError('ERR_PROTOCOL', (err as Error).message));
      }
    });
  }

  private deliver(frame: Uint8Array): void {
    if (!this.closed) this.inbox.deliver(frame);
  }

  private finish(error: MeshError | null): void {
    if (this.closed) return;
    this.closed = true;
    this.settle(error ?? new MeshError('ERR_CONNECTION', 'the relay closed before it opened'));
    const onClose = this.onClose;
    this.onClose = null;
    this.inbox.clear();
    this.options.port.onFrame = null;
    this.options.port.onClose = null;
    this.options.port.close();
    onClose?.(error);
  }
}
