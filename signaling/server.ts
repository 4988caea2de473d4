/**
 * One port, two jobs: serve the built app (HTTPS for LAN devices, plain HTTP for localhost) and
 * relay WebRTC signaling between the pages of a room over a WebSocket at `/signal`, plus the
 * sealed frames of pages that could not make a direct link (binary messages, relayed only
 * within a room, capped in size and rate).
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import sirv from 'sirv';
import { WebSocketServer, type WebSocket } from 'ws';
import { TokenBucket } from './rate-limit.ts';
import { PerAddress, Rooms, newPeerId, type Member } from './rooms.ts';
import {
  RELAY_HEADER_MAX_BYTES,
  RELAY_MAX_FRAME_BYTES,
  SIGNALING_PROTOCOL_VERSION,
  decodeRelayFrame,
  encodeRelayFrame,
  parseClientMessage,
  type ClientMessage,
  type IceServer,
  type ServerMessage,
  type SignalingErrorCode,
} from './protocol.ts';

export const SIGNAL_PATH = '/signal';

export interface SignalingServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  host: string;
  /** Folder of the built app (Vite's dist/); null serves no pages (tests of signaling only). */
  staticDir: string | null;
  /** PEM certificate and key; null serves plain HTTP to everyone (tests). */
  tls: { cert: string; key: string } | null;
  /** STUN/TURN servers pushed to every page; none by default, host candidates suffice on a LAN. */
  iceServers: IceServer[];
  /** HTTPS URLs of this server on LAN addresses, handed to owners for their join link. */
  lanUrls: string[];
  /** Devices per room, owner included. Default 16. */
  maxPeersPerRoom: number;
  /** Largest signaling message accepted, in bytes. Default 64 KiB. */
  maxMessageBytes: number;
  maxRooms: number;
  /** Rooms clients at one address may hold (a reload takes its room back, not a new one). Default 16. */
  maxRoomsPerAddress: number;
  /** WebSocket connections on the server; the upgrade beyond it is answered 503. Default 1,000. */
  maxConnections: number;
  /** WebSocket connections from one address. Default 64. */
  maxConnectionsPerAddress: number;
  /** TCP connections of any kind (HTTP, TLS, WebSocket, not yet known); beyond it a new one is closed at once. Default 1,200. */
  maxSockets: number;
  /** TCP connections of any kind from one address. Default 128. */
  maxSocketsPerAddress: number;
  /** A TCP connection must have sent the headers of its first HTTP request (TLS handshake included) within this. Default 5 s. */
  handshakeTimeoutMs: number;
  /** A room whose owner is away this long is closed. Default 10 minutes. */
  roomIdleMs: number;
  /** A connection must host or join within this time. Default 10 s. */
  helloTimeoutMs: number;
  /** WebSocket ping interval; a connection that misses one pong is terminated. Default 10 s. */
  heartbeatMs: number;
  /** Messages per connection: a burst of `rateBurst`, then `ratePerSec` sustained. */
  rateBurst: number;
  ratePerSec: number;
  /** A connection refused for its rate without a break of a second for this long is closed. Default 10 s. */
  rateLimitGraceMs: number;
  /** Largest relayed frame (payload bytes); a larger one is refused with ERR_TOO_LARGE. Default 257 KiB. */
  maxRelayFrameBytes: number;
  /** Relayed bytes per connection: a burst of `relayBurstBytes`, then `relayBytesPerSec`; beyond it the server stops reading from that page until it is back under. Defaults 16 MiB and 32 MiB/s. */
  relayBurstBytes: number;
  relayBytesPerSec: number;
  /** Each relayed frame counts as at least this many bytes against the relay budget, so that tiny frames are limited by number too. Default 16 KiB. */
  relayFrameMinBytes: number;
  /** When this much is queued toward a receiver, the server stops reading from the pages sending to it until it drains. Default 8 MiB. */
  maxRelayBufferedBytes: number;
  log: (line: string) => void;
}

export const DEFAULT_SERVER_OPTIONS: SignalingServerOptions = {
  port: 8443,
  host: '0.0.0.0',
  staticDir: null,
  tls: null,
  iceServers: [],
  lanUrls: [],
  maxPeersPerRoom: 16,
  maxMessageBytes: 64 * 1024,
  maxRooms: 1_000,
  maxRoomsPerAddress: 16,
  maxConnections: 1_000,
  maxConnectionsPerAddress: 64,
  maxSockets: 1_200,
  maxSocketsPerAddress: 128,
  handshakeTimeoutMs: 5_000,
  roomIdleMs: 10 * 60_000,
  helloTimeoutMs: 10_000,
  heartbeatMs: 10_000,
  rateBurst: 100,
  ratePerSec: 20,
  rateLimitGraceMs: 10_000,
  maxRelayFrameBytes: RELAY_MAX_FRAME_BYTES,
  relayBurstBytes: 16 * 1024 * 1024,
  relayBytesPerSec: 32 * 1024 * 1024,
  relayFrameMinBytes: 16 * 1024,
  maxRelayBufferedBytes: 8 * 1024 * 1024,
  log: () => {},
};

/** After this many refused messages in a row the connection is closed. */
const MAX_STRIKES = 50;
/** A rate-limited sender that goes this long without a refusal has stopped exceeding the rate. */
const RATE_EPISODE_GAP_MS = 1_000;
/** An HTTP connection that stays silent this long within a request or response is closed (between requests Node allows 5 s). */
const HTTP_IDLE_TIMEOUT_MS = 30_000;
/** How often a page paused for a slow receiver is looked at again. */
const RELAY_BACKLOG_POLL_MS = 10;
/** The first byte of a TLS ClientHello record. */
const TLS_HANDSHAKE_BYTE = 0x16;

export interface SignalingServer {
  readonly port: number;
  /** Rooms open now (for tests and the status line). */
  roomCount(): number;
  connectionCount(): number;
  /** Frames and bytes relayed so far (pages without a direct link). */
  relayStats(): { frames: number; bytes: number };
  /** The LAN URLs handed to owners; known only once the port is bound. */
  setLanUrls(urls: string[]): void;
  close(): Promise<void>;
}

class Connection implements Member {
  readonly peerId = newPeerId();
  role: Member['role'] = null;
  roomId: string | null = null;
  alive = true;
  strikes = 0;
  /** When the current run of rate-limit refusals began, and the latest of them (ms). */
  throttledSinceMs: number | null = null;
  lastThrottledMs = 0;
  constructor(
    readonly address: string,
    readonly ws: WebSocket,
    readonly bucket: TokenBucket,
    readonly relayBucket: TokenBucket,
  ) {}

  send(message: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  sendBinary(bytes: Uint8Array): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(bytes, { binary: true });
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  error(code: SignalingErrorCode, message: string): void {
    this.send({ type: 'error', code, message, fatal: false });
  }

  reject(code: SignalingErrorCode, message: string): void {
    this.send({ type: 'error', code, message, fatal: true });
    // 4000–4999 are application close codes; the reason repeats the code for clients that only see the close.
    this.ws.close(4000, code);
  }
}

/** Hashed build assets (Vite's /assets/): their name changes with their content. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Headers of a static file beyond sirv's own. Hashed assets are cached for a year; everything else
 * (index.html and the fallback routes, the service worker `sw.js` and its `workbox-*.js`, the web
 * manifest, icons, models) is revalidated on every use (`no-cache`, answered by a 304 when the
 * ETag matches), so that a new build — and the service worker that announces it — is found.
 */
export function staticHeaders(pathname: string): Record<string, string> {
  const headers: Record<string, string> = { 'Cache-Control': pathname.startsWith('/assets/') ? IMMUTABLE : 'no-cache' };
  if (pathname.endsWith('.webmanifest')) headers['Content-Type'] = 'application/manifest+json';
  return headers;
}

const isLoopback = (address: string | undefined): boolean =>
  !!address && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));

/** One key per client address: an IPv4 client seen through an IPv6 socket counts as itself. */
const addressKey = (address: string | undefined): string => (address ?? 'unknown').replace(/^::ffff:(?=\d+\.)/, '');

/** The TCP connection under a request, whether plain or TLS: both ends of it name it. */
const connectionKey = (socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string =>
  `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;

export async function createSignalingServer(overrides: Partial<SignalingServerOptions> = {}): Promise<SignalingServer> {
  const opts: SignalingServerOptions = { ...DEFAULT_SERVER_OPTIONS, ...overrides };
  const rooms = new Rooms({
    maxPeersPerRoom: opts.maxPeersPerRoom,
    maxRooms: opts.maxRooms,
    maxRoomsPerAddress: opts.maxRoomsPerAddress,
    roomIdleMs: opts.roomIdleMs,
  });
  const connections = new Set<Connection>();
  const connectionsByAddress = new PerAddress();
  const relayed = { frames: 0, bytes: 0 };

  const serveStatic =
    opts.staticDir && existsSync(opts.staticDir)
      ? sirv(opts.staticDir, {
          // The app routes by URL fragment: unknown paths get index.html, except under /assets/
          // and /models/ (and any path with a file extension): a missing file there is a 404, never
          // an HTML page cached as if it were a hashed asset or read as if it were a model.
          single: true,
          ignores: ['^/assets/', '^/models/'],
          etag: true,
          setHeaders(res, pathname) {
            for (const [name, value] of Object.entries(staticHeaders(pathname))) res.setHeader(name, value);
          },
        })
      : null;

  const onRequest = (secure: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    headersArrived(req.socket);
    if (!secure && opts.tls && !isLoopback(req.socket.remoteAddress)) {
      // LAN devices need a secure context (WebGPU, service worker, camera): send them to HTTPS.
      const host = req.headers.host ?? `${req.socket.localAddress ?? 'localhost'}:${port}`;
      res.writeHead(308, { Location: `https://${host}${req.url ?? '/'}` }).end();
      return;
    }
    if (!serveStatic) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('modnn-web: the app is not built. Run `npm run build` (npm start does it for you).\n');
      return;
    }
    serveStatic(req, res, () => {
      res.writeHead(404).end('Not found\n');
    });
  };

  // Node checks headersTimeout and requestTimeout only on a server that listens itself, and these
  // get their sockets from `tcp` below: the handshake deadline there bounds the first request.
  // What the servers do enforce per socket: the TLS handshake, and idle connections (Node's
  // keepAliveTimeout, 5 s, between requests; HTTP_IDLE_TIMEOUT_MS within one).
  const httpServer = http.createServer(onRequest(false));
  const httpsServer = opts.tls
    ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, handshakeTimeout: opts.handshakeTimeoutMs }, onRequest(true))
    : null;
  for (const server of [httpServer, httpsServer]) server?.setTimeout(HTTP_IDLE_TIMEOUT_MS);
  // The hard cap closes the socket (1009); messages between the soft and hard caps get a polite error.
  // Text has its own hard cap of 4× maxMessageBytes (see onMessage).
  const maxPayload = Math.max(opts.maxMessageBytes * 4, (opts.maxRelayFrameBytes + RELAY_HEADER_MAX_BYTES) * 2);
  const wss = new WebSocketServer({ noServer: true, maxPayload });

  const onUpgrade = (secure: boolean) => (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    headersArrived(req.socket);
    const path = (req.url ?? '').split('?')[0];
    const allowed = secure || !opts.tls || isLoopback(req.socket.remoteAddress);
    if (path !== SIGNAL_PATH || !allowed) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const address = addressKey(req.socket.remoteAddress);
    if (connections.size >= opts.maxConnections || connectionsByAddress.get(address) >= opts.maxConnectionsPerAddress) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, address));
  };
  httpServer.on('upgrade', onUpgrade(false));
  httpsServer?.on('upgrade', onUpgrade(true));

  wss.on('connection', (ws: WebSocket, address: string) => {
    const conn = new Connection(
      address,
      ws,
      new TokenBucket(opts.rateBurst, opts.ratePerSec),
      new TokenBucket(opts.relayBurstBytes, opts.relayBytesPerSec),
    );
    connections.add(conn);
    connectionsByAddress.add(address);
    const helloTimer = setTimeout(() => {
      if (!conn.roomId) conn.reject('ERR_HELLO_TIMEOUT', `Host or join a room within ${opts.helloTimeoutMs} ms.`);
    }, opts.helloTimeoutMs);

    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data, isBinary) => {
      try {
        onMessage(conn, data, isBinary);
      } catch (err) {
        // A bug here must cost one connection at most, never the server; a message that keeps
        // reaching it is refused like any other bad one (strikes), and logged in one line.
        opts.log(`signaling: internal error on ${conn.peerId}: ${String(err).split('\n')[0]}`);
        refuse(conn, 'ERR_MALFORMED', 'The server could not handle that message.');
      }
    });
    ws.on('error', () => {}); // 'close' follows; ws reports protocol errors (e.g. 1009) through it
    ws.on('close', () => {
      clearTimeout(helloTimer);
      connections.delete(conn);
      connectionsByAddress.remove(address);
      rooms.leave(conn);
    });
  });

  function refuse(conn: Connection, code: SignalingErrorCode, message: string): void {
    conn.strikes++;
    if (conn.strikes > MAX_STRIKES) conn.reject(code, `${message} Too many refused messages; disconnecting.`);
    else conn.error(code, message);
  }

  /**
   * Refuses a message over the rate. One accepted message clears the strikes, so a sender that
   * stays over the rate would be throttled for ever: after `rateLimitGraceMs` of refusals without
   * a quiet second it is disconnected instead.
   */
  function rateLimited(conn: Connection): void {
    const nowMs = Date.now();
    if (conn.throttledSinceMs === null || nowMs - conn.lastThrottledMs > RATE_EPISODE_GAP_MS) conn.throttledSinceMs = nowMs;
    conn.lastThrottledMs = nowMs;
    if (nowMs - conn.throttledSinceMs >= opts.rateLimitGraceMs) {
      conn.reject('ERR_RATE_LIMITED', `Over ${opts.ratePerSec} messages per second for ${opts.rateLimitGraceMs / 1000} s; disconnecting.`);
      return;
    }
    refuse(conn, 'ERR_RATE_LIMITED', `Slow down: at most ${opts.ratePerSec} messages per second.`);
  }

  function onMessage(conn: Connection, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      relay(conn, bytes);
      return;
    }
    if (bytes.length > opts.maxMessageBytes * 4) {
      // The socket's own cap is sized for relayed frames: text keeps its lower one.
      conn.ws.close(1009, 'message too big');
      return;
    }
    if (!conn.bucket.take()) {
      rateLimited(conn);
      return;
    }
    if (bytes.length > opts.maxMessageBytes) {
      refuse(conn, 'ERR_TOO_LARGE', `Message of ${bytes.length} bytes exceeds the limit of ${opts.maxMessageBytes}.`);
      return;
    }
    const parsed = parseClientMessage(bytes.toString('utf8'));
    if (!parsed.ok) {
      refuse(conn, 'ERR_MALFORMED', `Malformed message: ${parsed.reason}.`);
      return;
    }
    conn.strikes = 0;
    handle(conn, parsed.value);
  }

  /**
   * Passes a sealed frame to another member of the sender's room, with the sender's id in place
   * of the recipient's. Over its byte rate, or while the receiver has a backlog, the sender is
   * not read from (TCP pushes back on it) rather than refused: dropping one frame of a stream
   * would break the link anyway.
   */
  function relay(conn: Connection, bytes: Buffer): void {
    const frame = decodeRelayFrame(bytes);
    if (!frame) {
      refuse(conn, 'ERR_MALFORMED', 'Malformed relay frame: it starts with the length of a peer id, then the id.');
      return;
    }
    if (frame.payload.byteLength > opts.maxRelayFrameBytes) {
      refuse(conn, 'ERR_TOO_LARGE', `Relay frame of ${frame.payload.byteLength} bytes exceeds the limit of ${opts.maxRelayFrameBytes}.`);
      return;
    }
    const found = rooms.peerOf(conn, frame.peerId);
    if (!found.ok) {
      refuse(conn, found.code, found.message);
      return;
    }
    conn.strikes = 0;
    found.target.sendBinary(encodeRelayFrame(conn.peerId, frame.payload));
    relayed.frames++;
    relayed.bytes += frame.payload.byteLength;
    throttle(conn, found.target, conn.relayBucket.spend(Math.max(bytes.byteLength, opts.relayFrameMinBytes)));
  }

  function throttle(conn: Connection, target: Member, debtMs: number): void {
    if (conn.ws.isPaused || (debtMs === 0 && target.bufferedBytes <= opts.maxRelayBufferedBytes)) return;
    conn.ws.pause();
    const check = () => {
      if (conn.ws.readyState !== conn.ws.OPEN) return;
      // Frames already read when the pause began (one socket read holds many small ones) added
      // to the debt after it was measured: wait for all of it.
      const owedMs = conn.relayBucket.spend(0);
      if (owedMs > 0) {
        setTimeout(check, Math.max(owedMs, RELAY_BACKLOG_POLL_MS));
        return;
      }
      if (target.bufferedBytes > opts.maxRelayBufferedBytes && target.roomId !== null) {
        setTimeout(check, RELAY_BACKLOG_POLL_MS);
        return;
      }
      conn.ws.resume();
    };
    setTimeout(check, Math.max(debtMs, RELAY_BACKLOG_POLL_MS));
  }

  function handle(conn: Connection, msg: ClientMessage): void {
    switch (msg.type) {
      case 'host':
      case 'join': {
        if (msg.protocol !== SIGNALING_PROTOCOL_VERSION) {
          conn.reject(
            'ERR_PROTOCOL_VERSION',
            `This page speaks signaling protocol ${msg.protocol}, the server ${SIGNALING_PROTOCOL_VERSION}. Reload the page to get the current app.`,
          );
          return;
        }
        if (conn.roomId) {
          conn.error('ERR_ALREADY_IN_ROOM', 'This connection is already in a room.');
          return;
        }
        const outcome = msg.type === 'host' ? rooms.host(conn, msg) : rooms.join(conn, msg);
        if (!outcome.ok) {
          conn.reject(outcome.code, outcome.message);
          return;
        }
        const { ownerId, workers } = rooms.describeFor(conn);
        conn.send({
          type: 'welcome',
          role: msg.type === 'host' ? 'owner' : 'worker',
          roomId: msg.roomId,
          peerId: conn.peerId,
          ownerId,
          workers,
          iceServers: opts.iceServers,
          lanUrls: opts.lanUrls,
          maxPeersPerRoom: opts.maxPeersPerRoom,
        });
        opts.log(`room ${msg.roomId.slice(0, 6)}…: ${msg.type === 'host' ? 'owner' : 'worker'} ${conn.peerId} in`);
        return;
      }
      case 'signal': {
        const outcome = rooms.relaySignal(conn, msg.to, msg.data);
        if (!outcome.ok) conn.error(outcome.code, outcome.message);
        return;
      }
      case 'leave':
        rooms.leave(conn, true);
        conn.ws.close(1000, 'leave');
        return;
    }
  }

  const heartbeat = setInterval(() => {
    for (const conn of connections) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }, opts.heartbeatMs);
  const sweep = setInterval(() => rooms.expireIdle(), Math.max(50, Math.min(30_000, opts.roomIdleMs / 4)));
  heartbeat.unref();
  sweep.unref();

  // HTTP and HTTPS share the port: peek at the first byte of each connection to route it.
  // Until its first request's headers are in, a connection is on a deadline (see headersArrived).
  const sockets = new Set<net.Socket>();
  const socketsByAddress = new PerAddress();
  const handshakeDeadlines = new Map<string, NodeJS.Timeout>();
  const clearDeadline = (key: string) => {
    clearTimeout(handshakeDeadlines.get(key));
    handshakeDeadlines.delete(key);
  };
  function headersArrived(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): void {
    clearDeadline(connectionKey(socket));
  }
  const tcp = net.createServer((socket) => {
    const address = addressKey(socket.remoteAddress);
    if (sockets.size >= opts.maxSockets || socketsByAddress.get(address) >= opts.maxSocketsPerAddress) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socketsByAddress.add(address);
    const key = connectionKey(socket);
    handshakeDeadlines.set(key, setTimeout(() => socket.destroy(), opts.handshakeTimeoutMs));
    socket.once('close', () => {
      sockets.delete(socket);
      socketsByAddress.remove(address);
      clearDeadline(key);
    });
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      (chunk[0] === TLS_HANDSHAKE_BYTE && httpsServer ? httpsServer : httpServer).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
    socket.on('error', () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(opts.port, opts.host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const port = (tcp.address() as net.AddressInfo).port;

  return {
    port,
    roomCount: () => rooms.size,
    connectionCount: () => connections.size,
    relayStats: () => ({ ...relayed }),
    setLanUrls: (urls) => {
      opts.lanUrls = [...urls];
    },
    async close() {
      clearInterval(heartbeat);
      clearInterval(sweep);
      for (const conn of connections) conn.ws.terminate();
      wss.close();
      for (const socket of sockets) socket.destroy();
      for (const key of [...handshakeDeadlines.keys()]) clearDeadline(key);
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
