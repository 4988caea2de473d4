/**
 * A Node WebSocket client of the signaling server for `npm run load:signaling`: speaks the same
 * protocol as the page (src/mesh/signaling-client.ts), counts every answer the server gives, and
 * registers itself so the run can close every socket it opened, whatever happens.
 */
import type net from 'node:net';
import WebSocket from 'ws';
import { SIGNALING_PROTOCOL_VERSION, parseServerMessage, type ServerMessage } from '../signaling/protocol.ts';

export type Welcome = Extract<ServerMessage, { type: 'welcome' }>;
export type ServerError = Extract<ServerMessage, { type: 'error' }>;

export interface CloseInfo {
  /** The WebSocket close code (1006: the connection dropped without a close frame). */
  code: number;
  reason: string;
  /** performance.now() when it closed. */
  atMs: number;
}

export type RoomEntry =
  | { type: 'host'; roomId: string; joinToken: string; ownerToken: string }
  | { type: 'join'; roomId: string; joinToken: string };

/** Every socket the run opens; `closeAllSockets` ends them on success and on failure alike. */
const openSockets = new Set<{ destroy(): void }>();

export function trackSocket(socket: net.Socket): net.Socket {
  openSockets.add(socket);
  socket.once('close', () => openSockets.delete(socket));
  return socket;
}

export function closeAllSockets(): number {
  const count = openSockets.size;
  for (const socket of openSockets) socket.destroy();
  openSockets.clear();
  return count;
}

/** Counts per key, for answers by error code and closes by code. */
export class Tally {
  readonly counts = new Map<string, number>();
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  merge(other: Tally): void {
    for (const [key, n] of other.counts) this.add(key, n);
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export interface ClientOptions {
  /** Answer the server's pings (default true); false plays a phone that vanished off the Wi-Fi. */
  autoPong?: boolean;
  /**
   * The loopback address to connect from (any of 127.0.0.0/8 on Linux): the server caps
   * connections and rooms per client address, so simulated homes each get their own.
   */
  localAddress?: string;
}

export class SignalingSocket {
  readonly ws: WebSocket;
  /** Resolves once the WebSocket is open; rejects with the HTTP status when the upgrade is refused. */
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseInfo>;
  /** Set when the upgrade was answered with an HTTP status instead of 101. */
  refusedStatus: number | null = null;
  closeInfo: CloseInfo | null = null;
  welcome: Welcome | null = null;
  /** Error answers from the server by code, fatal or not. */
  readonly errors = new Tally();
  readonly lastErrors: ServerError[] = [];
  /** The error the server closed this connection with, if it did. */
  fatalError: ServerError | null = null;
  /** Server frames that failed the client's own schema (a server bug if ever non-zero). */
  malformedFromServer = 0;
  signalsReceived = 0;
  /** Binary frames from the server (relayed frames of the fallback transport). */
  binaryReceived = 0;
  onBinary: ((bytes: Buffer) => void) | null = null;
  onSignal: ((from: string, data: Record<string, unknown>) => void) | null = null;
  onPeerLeft: ((peerId: string) => void) | null = null;
  private welcomeWaiter: { resolve: (w: Welcome) => void; reject: (e: Error) => void } | null = null;

  constructor(url: string, options: ClientOptions = {}) {
    this.ws = new WebSocket(url, {
      autoPong: options.autoPong ?? true,
      perMessageDeflate: false,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const handle = { destroy: () => this.ws.terminate() };
    openSockets.add(handle);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => {
        this.refusedStatus = res.statusCode ?? 0;
        res.resume();
        this.ws.terminate();
      });
      this.ws.once('error', (err) =>
        reject(this.refusedStatus !== null ? new Error(`upgrade refused with HTTP ${this.refusedStatus}`) : err),
      );
    });
    this.opened.catch(() => {}); // a refused upgrade is an outcome the caller reads, not a crash
    this.ws.on('error', () => {}); // 'close' follows with the code
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => {
        openSockets.delete(handle);
        this.closeInfo = { code, reason: reason.toString('utf8'), atMs: performance.now() };
        this.welcomeWaiter?.reject(new Error(`closed before welcome: ${code} ${this.closeInfo.reason}`));
        this.welcomeWaiter = null;
        resolve(this.closeInfo);
      }),
    );
    this.ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a value as JSON, a string as is, bytes as a binary frame. Dropped once closed. */
  send(value: unknown): void {
    if (!this.isOpen) return;
    if (value instanceof Uint8Array) this.ws.send(value, { binary: true });
    else this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Hosts or joins; resolves with the welcome, rejects with the server's fatal error or the close. */
  async enter(entry: RoomEntry): Promise<Welcome> {
    await this.opened;
    const welcome = new Promise<Welcome>((resolve, reject) => (this.welcomeWaiter = { resolve, reject }));
    this.send({ ...entry, protocol: SIGNALING_PROTOCOL_VERSION });
    return welcome;
  }

  signal(to: string, data: Record<string, unknown>): void {
    this.send({ type: 'signal', to, data });
  }

  /** Leaves like the page does (a `leave`, then the server closes with 1000). */
  async leave(): Promise<CloseInfo> {
    this.send({ type: 'leave' });
    return this.closed;
  }

  terminate(): void {
    this.ws.terminate();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.binaryReceived++;
      this.onBinary?.(data);
      return;
    }
    const parsed = parseServerMessage(data.toString('utf8'));
    if (!parsed.ok) {
      this.malformedFromServer++;
      return;
    }
    const msg = parsed.value;
    switch (msg.type) {
      case 'welcome':
        this.welcome = msg;
        this.welcomeWaiter?.resolve(msg);
        this.welcomeWaiter = null;
        return;
      case 'signal':
        this.signalsReceived++;
        this.onSignal?.(msg.from, msg.data);
        return;
      case 'peer-left':
        this.onPeerLeft?.(msg.peerId);
        return;
      case 'peer-joined':
        return;
      case 'error':
        this.errors.add(msg.code);
        if (this.lastErrors.length < 4) this.lastErrors.push(msg);
        if (msg.fatal) {
          this.fatalError = msg;
          this.welcomeWaiter?.reject(new Error(`${msg.code}: ${msg.message}`));
          this.welcomeWaiter = null;
        }
        return;
    }
  }
}

/** Resolves after `ms`; keeps the event loop turning while sockets do their work. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `task` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  });
  await Promise.all(runners);
  return results;
}
