/** A Node WebSocket client for server tests: records what the server says, waits for a match. */
import { createHash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { SIGNALING_PROTOCOL_VERSION, parseServerMessage, type ServerMessage } from '../protocol.ts';

export interface TestClient {
  ws: WebSocket;
  messages: ServerMessage[];
  next<T extends ServerMessage>(predicate: (m: ServerMessage) => m is T, timeoutMs?: number): Promise<T>;
  next(predicate?: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>;
  send(value: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
  /** Binary messages (relayed frames), in arrival order. */
  frames: Buffer[];
  /** Resolves once `count` binary messages have arrived in all. */
  framesArrived(count: number, timeoutMs?: number): Promise<Buffer[]>;
}

export const token = (): string => createHash('sha256').update(randomBytes(16)).digest('base64url');
export const roomId = (): string => randomBytes(16).toString('base64url');

export async function connect(port: number): Promise<TestClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/signal`);
  const messages: ServerMessage[] = [];
  const waiters: { predicate: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  const unclaimed: ServerMessage[] = [];
  const frames: Buffer[] = [];
  const frameWaiters = new Set<() => void>();
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      frames.push(data as Buffer);
      for (const wake of [...frameWaiters]) wake();
      return;
    }
    const parsed = parseServerMessage((data as Buffer).toString('utf8'));
    if (!parsed.ok) throw new Error(`server sent a malformed message: ${parsed.reason}`);
    messages.push(parsed.value);
    const waiter = waiters.find((w) => w.predicate(parsed.value));
    if (waiter) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(parsed.value);
    } else {
      unclaimed.push(parsed.value);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    closed,
    frames,
    framesArrived: (count, timeoutMs = 3_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          frameWaiters.delete(check);
          reject(new Error(`timed out waiting for ${count} relayed frames (got ${frames.length})`));
        }, timeoutMs);
        const check = () => {
          if (frames.length < count) return;
          clearTimeout(timer);
          frameWaiters.delete(check);
          resolve(frames.slice(0, count));
        };
        frameWaiters.add(check);
        check();
      }),
    send: (value) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
    next: ((predicate: (m: ServerMessage) => boolean = () => true, timeoutMs = 3_000): Promise<ServerMessage> => {
      // A message already received counts too; each is handed out at most once.
      const index = unclaimed.findIndex(predicate);
      if (index >= 0) return Promise.resolve(unclaimed.splice(index, 1)[0] as ServerMessage);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for a server message')), timeoutMs);
        waiters.push({
          predicate,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    }),
  };
}

export const hostMsg = (room: string, joinToken: string, ownerToken: string) => ({
  type: 'host',
  protocol: SIGNALING_PROTOCOL_VERSION,
  roomId: room,
  joinToken,
  ownerToken,
});
export const joinMsg = (room: string, joinToken: string) => ({ type: 'join', protocol: SIGNALING_PROTOCOL_VERSION, roomId: room, joinToken });

export const ofType =
  <T extends ServerMessage['type']>(type: T) =>
  (m: ServerMessage): m is Extract<ServerMessage, { type: T }> =>
    m.type === type;
