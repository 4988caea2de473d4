/**
 * A frame transport over one WebRTC data channel, set up by simple-peer with trickle ICE.
 *
 * simple-peer is imported as its prebundled browser build: the package's main entry expects
 * Node's `global`, `process` and `Buffer`, which the prebundled file carries inside itself,
 * so the app needs no Node polyfills.
 */
import SimplePeer from 'simple-peer/simplepeer.min.js';
import type { Instance as PeerInstance, SignalData } from 'simple-peer';
import { MeshError } from '../errors.ts';
import { FrameInbox, MAX_EARLY_FRAMES } from './frame-inbox.ts';
import { fingerprintsOf, type ChannelBinding } from './channel-auth.ts';
import type { PeerTransport } from './peer-transport.ts';

export interface RtcTransportOptions {
  initiator: boolean;
  /** From the server's welcome; empty on a LAN (host candidates only, no public STUN). */
  iceServers: RTCIceServer[];
  /** Called with each signal (offer, answer, candidate) to relay to the other side. */
  onSignal: (data: SignalData) => void;
  /** Give up if the channel is not open by then. Default 15 s. */
  connectTimeoutMs?: number;
}

/**
 * simple-peer keeps the RTCDataChannel and the RTCPeerConnection private; we need the channel for
 * `bufferedamountlow` and the connection's SDP for the DTLS fingerprints of the join proof.
 */
type PeerWithChannel = PeerInstance & { _channel?: RTCDataChannel | null; _pc?: RTCPeerConnection | null };


export class RtcTransport implements PeerTransport {
  readonly relayed = false;
  onClose: ((error: MeshError | null) => void) | null = null;
  /** Resolves when the data channel is open; rejects if it fails or times out first. */
  readonly connected: Promise<void>;
  private readonly peer: PeerWithChannel;
  private open = false;
  private closed = false;
  private readonly inbox = new FrameInbox(MAX_EARLY_FRAMES, (message) => this.finish(new MeshError('ERR_PROTOCOL', message)));

  constructor(options: RtcTransportOptions) {
    this.peer = new SimplePeer({
      initiator: options.initiator,
      trickle: true,
      // Always pass the list: simple-peer's own default points at public STUN servers.
      config: { iceServers: options.iceServers },
      channelConfig: { ordered: true },
    });
    this.peer.on('signal', (data: SignalData) => options.onSignal(data));
    this.peer.on('data', (data: Uint8Array) => {
      // simple-peer hands a Buffer view of the received ArrayBuffer; pass a plain view on.
      this.deliver(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    this.peer.on('close', () => this.finish(this.open ? new MeshError('ERR_CONNECTION', 'the data channel closed') : null));
    this.peer.on('error', (err: Error & { code?: string }) => {
      this.finish(new MeshError('ERR_CONNECTION', `WebRTC: ${err.message}`, err.code));
    });
    const timeoutMs = options.connectTimeoutMs ?? 15_000;
    this.connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new MeshError('ERR_CONNECTION', `no WebRTC connection within ${timeoutMs} ms (are both devices on the same network?)`));
        this.close();
      }, timeoutMs);
      this.peer.once('connect', () => {
        clearTimeout(timer);
        this.open = true;
        resolve();
      });
      this.peer.once('close', () => {
        clearTimeout(timer);
        reject(new MeshError('ERR_CONNECTION', 'the connection closed before it opened'));
      });
    });
    this.connected.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  }

  /** The receiver of frames; frames that arrive before it is set are kept for it (see FrameInbox). */
  get onFrame(): ((frame: Uint8Array) => void) | null {
    return this.inbox.onFrame;
  }

  set onFrame(handler: ((frame: Uint8Array) => void) | null) {
    this.inbox.onFrame = handler;
  }

  private deliver(frame: Uint8Array): void {
    if (!this.closed) this.inbox.deliver(frame);
  }

  /** Feeds a signal relayed from the other side. Bad signals close the transport, never throw. */
  signal(data: SignalData): void {
    if (this.closed) return;
    try {
      this.peer.signal(data);
    } catch (err) {
      this.finish(new MeshError('ERR_CONNECTION', `bad signal from the peer: ${(err as Error).message}`));
    }
  }

  /** The DTLS fingerprints of both ends, from the SDP this side applied (null until both are set). */
  channelBinding(): ChannelBinding | null {
    const pc = this.peer._pc;
    const local = pc?.localDescription?.sdp;
    const remote = pc?.remoteDescription?.sdp;
    const localPrints = local ? fingerprintsOf(local) : null;
    const remotePrints = remote ? fingerprintsOf(remote) : null;
    return localPrints && remotePrints ? { local: localPrints, remote: remotePrints } : null;
  }

  get isOpen(): boolean {
    return this.open && !this.closed;
  }

  get bufferedAmount(): number {
    return this.peer._channel?.bufferedAmount ?? 0;
  }

  send(frame: Uint8Array): void {
    if (!this.isOpen) throw new MeshError('ERR_DESTROYED', 'send on a closed data channel');
    this.peer.send(frame);
  }

  waitForDrain(lowWaterBytes: number, timeoutMs: number): Promise<void> {
    const channel = this.peer._channel;
    if (!channel || this.closed) return Promise.reject(new MeshError('ERR_DESTROYED', 'data channel closed while waiting to send'));
    return new Promise<void>((resolve, reject) => {
      const finish = (err: MeshError | null) => {
        clearTimeout(timer);
        channel.removeEventListener('bufferedamountlow', onLow);
        channel.removeEventListener('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onLow = () => finish(null);
      const onClose = () => finish(new MeshError('ERR_DESTROYED', 'data channel closed while waiting to send'));
      const timer = setTimeout(() => finish(new MeshError('ERR_TIMEOUT', `send buffer did not drain within ${timeoutMs} ms`)), timeoutMs);
      channel.bufferedAmountLowThreshold = lowWaterBytes;
      channel.addEventListener('bufferedamountlow', onLow);
      channel.addEventListener('close', onClose);
      if (channel.bufferedAmount <= lowWaterBytes) finish(null);
    });
  }

  close(): void {
    this.finish(null);
  }

  private finish(error: MeshError | null): void {
    if (this.closed) return;
    this.closed = true;
    const onClose = this.onClose;
    this.onClose = null;
    this.inbox.clear();
    this.peer.destroy();
    onClose?.(error);
  }
}
