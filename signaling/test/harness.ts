/**
 * The server tests' shared harness: a server on a free port, clients that are closed after each
 * test, and rooms made through the protocol. Call `serverHarness()` once at a test file's top level.
 */
import { afterEach } from 'vitest';
import type { ServerMessage } from '../protocol.ts';
import { createSignalingServer, type SignalingServer, type SignalingServerOptions } from '../server.ts';
import { connect, hostMsg, joinMsg, ofType, roomId, token, type TestClient } from './client.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RoomKeys {
  id: string;
  join: string;
  owner: string;
}

export interface ServerHarness {
  /** The server of the running test (null before `start` and after the test). */
  readonly server: SignalingServer | null;
  start: (opts?: Partial<SignalingServerOptions>) => Promise<SignalingServer>;
  port: () => number;
  client: () => Promise<TestClient>;
  /** An owner hosting `room` (a fresh one by default), and the server's first reply: welcome or error. */
  hostRoom: (room?: RoomKeys) => Promise<{ room: RoomKeys; owner: TestClient; reply: ServerMessage }>;
  /** A worker joining `room`, and the server's first reply: welcome or error. */
  joinRoom: (room: { id: string; join: string }) => Promise<{ worker: TestClient; reply: ServerMessage }>;
  /** An owner and a worker in a fresh room, once the owner has heard of the worker. */
  pairedRoom: () => Promise<{ room: RoomKeys; owner: TestClient; worker: TestClient; ownerId: string; workerId: string }>;
}

export function serverHarness(): ServerHarness {
  let server: SignalingServer | null = null;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await server?.close();
    server = null;
  });
  const port = () => (server as SignalingServer).port;
  const client = async () => {
    const c = await connect(port());
    clients.push(c);
    return c;
  };
  const firstReply = (c: TestClient) => c.next((m) => m.type === 'welcome' || m.type === 'error');
  const hostRoom = async (room: RoomKeys = { id: roomId(), join: token(), owner: token() }) => {
    const owner = await client();
    owner.send(hostMsg(room.id, room.join, room.owner));
    return { room, owner, reply: await firstReply(owner) };
  };
  const joinRoom = async (room: { id: string; join: string }) => {
    const worker = await client();
    worker.send(joinMsg(room.id, room.join));
    return { worker, reply: await firstReply(worker) };
  };
  return {
    get server() {
      return server;
    },
    start: async (opts = {}) => {
      server = await createSignalingServer({ port: 0, host: '127.0.0.1', ...opts });
      return server;
    },
    port,
    client,
    hostRoom,
    joinRoom,
    pairedRoom: async () => {
      const { room, owner, reply } = await hostRoom();
      const { worker, reply: joined } = await joinRoom(room);
      if (reply.type !== 'welcome' || joined.type !== 'welcome') throw new Error('expected welcomes');
      await owner.next(ofType('peer-joined'));
      return { room, owner, worker, ownerId: reply.peerId, workerId: joined.peerId };
    },
  };
}
