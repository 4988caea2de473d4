/**
 * The page's connection to the signaling server: hosts or joins one room, relays WebRTC
 * signals, and reconnects by itself (with back-off) when the connection drops, unless the
 * server gave a final answer (wrong key, room full, …).
 */
import { MeshError } from '../errors.ts';
import {
  SIGNALING_PROTOCOL_VERSION,
  decodeRelayFrame,
  encodeRelayFrame,
  parseServerMessage,
  type ServerMessage,
  type SignalingErrorCode,
} from '../../signaling/protocol.ts';
import { Emitter } from './emitter.ts';
import type { RelayPort } from './relay-transport.ts';

export type RoomEntry =
  | { type: 'host'; roomId: string; joinToken: string; ownerToken: string }
  | { type: 'join'; roomId: string; joinToken: string };

export type Welcome = Extract<ServerMessage, { type: 'welcome' }>;
export type SignalingState = 'connecting' | 'open' | 'reconnecting' | 'stopped';

type SignalingEvents = {
  state: SignalingState;
  welcome: Welcome;
  'peer-joined': Extract<ServerMessage, { type: 'peer-joined' }>;
  'peer-left': Extract<ServerMessage, { type: 'peer-left' }>;
  signal: Extract<ServerMessage, { type: 'signal' }>;
  /** Any error the server reported; a final one is followed by state 'stopped'. */
  error: MeshError;
};

/** The subset of the WebSocket API used here, so Node tests can pass the `ws` package. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  /** Set to 'arraybuffer' so relayed frames arrive as ArrayBuffers (browsers; `ws` too). */
  binaryType?: string;
  readonly bufferedAmount?: number;
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export interface SignalingClientOptions {
  createSocket: WebSocketFactory;
  /** First reconnect delay; doubles up to `maxBackoffMs`. Defaults 500 ms and 8 s. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /**
   * Whether to keep trying after the server refused with `code`. Defaults: only transient
   * codes (rate limit, server full, hello timeout) are retried.
   */
  shouldRetry: (code: SignalingErrorCode, everWelcomed: boolean) => boolean;
}

const TRANSIENT: ReadonlySet<string> = new Set(['ERR_RATE_LIMITED', 'ERR_SERVER_FULL', 'ERR_HELLO_TIMEOUT']);
/** Server refusals that may go away by themselves (try again later), as opposed to final answers. */
export const isTransientSignalingError = (code: string): boolean => TRANSIENT.has(code);
const OPEN = 1;

/** ws:// or wss:// URL of the signaling endpoint of the server that served this page. */
export function signalingUrlFor(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/signal`;
}

export class SignalingClient extends Emitter<SignalingEvents> {
  state: SignalingState = 'connecting';
  private socket: WebSocketLike | null = null;
  private backoffMs: number;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private everWelcomed = false;
  private readonly options: SignalingClientOptions;
  /** Relay lanes by peer id; they end with the socket, since peer ids do. */
  private readonly relayPorts = new Map<string, RelayPort>();

  constructor(
    private readonly url: string,
    private readonly entry: RoomEntry,
    options: Partial<SignalingClientOptions> & Pick<SignalingClientOptions, 'createSocket'>,
  ) {
    super();
    this.options = {
      initialBackoffMs: 500,
      maxBackoffMs: 8_000,
      shouldRetry: isTransientSignalingError,
      ...options,
    };
    this.backoffMs = this.options.initialBackoffMs;
  }

  start(): void {
    if (this.state === 'stopped') return;
    this.connect();
  }

  /** Sends a WebRTC signal to a peer of the room; dropped silently while disconnected (ICE retries). */
  sendSignal(to: string, data: unknown): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify({ type: 'signal', to, data }));
  }

  /**
   * A lane for frames relayed through the server to `peerId` (see relay-transport.ts). It closes
   * when this connection to the server does; a second lane to the same peer replaces the first.
   */
  relayPort(peerId: string): RelayPort {
    this.relayPorts.get(peerId)?.onClose?.();
    const ports = this.relayPorts;
    const socketOf = () => this.socket;
    const port: RelayPort = {
      onFrame: null,
      onClose: null,
      get bufferedAmount() {
        return socketOf()?.bufferedAmount ?? 0;
      },
      send(frame) {
        const socket = socketOf();
        if (socket?.readyState === OPEN) socket.send(encodeRelayFrame(peerId, frame));
        else port.onClose?.();
      },
      close() {
        if (ports.get(peerId) === port) ports.delete(peerId);
      },
    };
    ports.set(peerId, port);
    return port;
  }

  /** Leaves the room for good (no reconnect). */
  stop(): void {
    if (this.state === 'stopped') return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify({ type: 'leave' }));
    this.detach()?.close(1000, 'leave');
    this.closeRelayPorts();
    this.setState('stopped');
  }

  private closeRelayPorts(): void {
    const ports = [...this.relayPorts.values()];
    this.relayPorts.clear();
    for (const port of ports) port.onClose?.();
  }

  private onRelayFrame(data: ArrayBuffer | ArrayBufferView): void {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const frame = decodeRelayFrame(bytes);
    const port = frame ? this.relayPorts.get(frame.peerId) : undefined;
    // A frame for no lane (a peer that just went) is dropped.
    if (frame && port?.onFrame) port.onFrame(frame.payload);
  }

  private connect(): void {
    this.setState(this.everWelcomed ? 'reconnecting' : 'connecting');
    let socket: WebSocketLike;
    try {
      socket = this.options.createSocket(this.url);
    } catch (err) {
      this.emit('error', new MeshError('ERR_SIGNALING', `cannot open ${this.url}: ${(err as Error).message}`));
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => socket.send(JSON.stringify({ ...this.entry, protocol: SIGNALING_PROTOCOL_VERSION }));
    socket.onmessage = (ev) => this.onMessage(ev.data);
    socket.onerror = () => {}; // onclose follows with the code
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.closeRelayPorts();
      this.scheduleReconnect();
    };
  }

  private onMessage(data: unknown): void {
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return this.onRelayFrame(data);
    if (typeof data !== 'string') return;
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      this.emit('error', new MeshError('ERR_SIGNALING', `malformed message from the server: ${parsed.reason}`));
      return;
    }
    const msg = parsed.value;
    switch (msg.type) {
      case 'welcome':
        this.everWelcomed = true;
        this.backoffMs = this.options.initialBackoffMs;
        this.setState('open');
        this.emit('welcome', msg);
        return;
      case 'error': {
        const code = msg.code;
        this.emit('error', new MeshError('ERR_SIGNALING', msg.message, code));
        if (msg.fatal && !this.options.shouldRetry(code, this.everWelcomed)) {
          if (this.retryTimer) clearTimeout(this.retryTimer);
          this.detach()?.close(1000, 'refused');
          this.closeRelayPorts();
          this.setState('stopped');
        }
        return;
      }
      default:
        this.emit(msg.type, msg);
    }
  }

  private scheduleReconnect(): void {
    if (this.state === 'stopped' || this.retryTimer) return;
    this.setState('reconnecting');
    // Jitter spreads the reconnects of a room's workers after a server restart.
    const delayMs = this.backoffMs * (0.75 + Math.random() * 0.5);
    this.backoffMs = Math.min(this.options.maxBackoffMs, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state !== 'stopped') this.connect();
    }, delayMs);
  }

  private detach(): WebSocketLike | null {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    return socket;
  }

  private setState(state: SignalingState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}
