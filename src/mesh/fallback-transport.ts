/**
 * One connection to a peer that is direct (WebRTC) when it can be and relayed through the server
 * when it cannot. The owner (initiator) decides: it tries the direct link first and, when that is
 * not up within the timeout (or fails sooner), closes it and opens a relay. The worker follows
 * whichever the owner's signals ask for.
 */
import type { SignalData } from 'simple-peer';
import { MeshError } from '../errors.ts';
import type { ChannelBinding } from './channel-auth.ts';
import type { PeerTransport, RelayOptions } from './peer-transport.ts';
import { isRelaySignal } from './relay-transport.ts';

export interface FallbackTransportOptions extends RelayOptions {
  initiator: boolean;
  createDirect: () => PeerTransport;
  createRelay: () => PeerTransport;
}

export class FallbackTransport implements PeerTransport {
  readonly connected: Promise<void>;
  private direct: PeerTransport | null = null;
  private relay: PeerTransport | null = null;
  /** The transport frames go through, once one is up. */
  private active: PeerTransport | null = null;
  private closed = false;
  private frameHandler: ((frame: Uint8Array) => void) | null = null;
  private closeHandler: ((error: MeshError | null) => void) | null = null;
  private settle!: (error: MeshError | null) => void;
  private directTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: FallbackTransportOptions) {
    this.connected = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error ? reject(error) : resolve());
    });
    this.connected.catch(() => {}); // observed by whoever awaits it
    if (!options.initiator) return; // a worker waits for the owner's first signal
    if (options.mode === 'force') {
      this.startRelay();
      return;
    }
    this.startDirect();
    if (options.mode === 'auto') {
      // No direct link in time: relay instead.
      this.directTimer = setTimeout(() => this.fallBack(), options.directTimeoutMs);
    }
  }

  /** Whether a relay opening from the owner belongs to this connection (one not up yet, not relaying yet). */
  get acceptsRelay(): boolean {
    return !this.closed && !this.active && !this.relay;
  }

  get relayed(): boolean {
    return this.active !== null && this.active === this.relay;
  }

  signal(data: SignalData): void {
    if (this.closed) return;
    if (isRelaySignal(data)) {
      if (!this.relay) {
        if (this.options.initiator || this.active) return; // an owner asks for relays, it does not accept them
        this.dropDirect();
        this.startRelay();
      }
      this.relay?.signal(data);
      return;
    }
    if (this.relay) return; // a late WebRTC signal after the switch
    if (!this.direct && !this.options.initiator) this.startDirect();
    this.direct?.signal(data);
  }

  channelBinding(): ChannelBinding | null {
    return this.active?.channelBinding() ?? null;
  }

  get isOpen(): boolean {
    return !this.closed && !!this.active?.isOpen;
  }

  get bufferedAmount(): number {
    return this.active?.bufferedAmount ?? 0;
  }

  get onFrame(): ((frame: Uint8Array) => void) | null {
    return this.frameHandler;
  }

  set onFrame(handler: ((frame: Uint8Array) => void) | null) {
    this.frameHandler = handler;
    if (this.active) this.active.onFrame = handler;
  }

  get onClose(): ((error: MeshError | null) => void) | null {
    return this.closeHandler;
  }

  set onClose(handler: ((error: MeshError | null) => void) | null) {
    this.closeHandler = handler;
  }

  send(frame: Uint8Array): void {
    if (!this.active || this.closed) throw new MeshError('ERR_DESTROYED', 'send on a connection that is not up');
    this.active.send(frame);
  }

  waitForDrain(lowWaterBytes: number, timeoutMs: number): Promise<void> {
    if (!this.active || this.closed) return Promise.reject(new MeshError('ERR_DESTROYED', 'connection closed while waiting to send'));
    return this.active.waitForDrain(lowWaterBytes, timeoutMs);
  }

  close(): void {
    this.finish(null);
  }

  private startDirect(): void {
    const direct = this.options.createDirect();
    this.direct = direct;
    direct.connected.then(
      () => this.adopt(direct),
      (err: MeshError) => {
        if (this.direct !== direct || this.closed) return;
        if (this.options.initiator && this.options.mode === 'auto') this.fallBack();
        else this.finish(err);
      },
    );
  }

  private startRelay(): void {
    const relay = this.options.createRelay();
    this.relay = relay;
    relay.connected.then(
      () => this.adopt(relay),
      (err: MeshError) => {
        if (this.relay === relay) this.finish(err);
      },
    );
  }

  /** The owner gives up on the direct link and relays instead. */
  private fallBack(): void {
    if (this.closed || this.active || this.relay) return;
    this.dropDirect();
    this.startRelay();
  }

  private dropDirect(): void {
    if (this.directTimer) clearTimeout(this.directTimer);
    const direct = this.direct;
    this.direct = null;
    direct?.close();
  }

  private adopt(transport: PeerTransport): void {
    if (this.closed || this.active || (transport !== this.direct && transport !== this.relay)) return;
    if (this.directTimer) clearTimeout(this.directTimer);
    this.active = transport;
    transport.onFrame = this.frameHandler;
    transport.onClose = (error) => this.finish(error);
    this.settle(null);
  }

  private finish(error: MeshError | null): void {
    if (this.closed) return;
    this.closed = true;
    if (this.directTimer) clearTimeout(this.directTimer);
    this.settle(error ?? new MeshError('ERR_CONNECTION', 'the connection closed before it opened'));
    for (const t of [this.direct, this.relay]) {
      if (!t) continue;
      t.onClose = null;
      t.close();
    }
    const onClose = this.closeHandler;
    this.closeHandler = null;
    this.frameHandler = null;
    if (this.active) onClose?.(error);
  }
}
