import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import type { MeshError } from '../errors.ts';
import { joinTokenFor, newRoomCredentials, ownerTokenFor } from './room-credentials.ts';
import { SignalingClient, type RoomEntry, type SignalingState, type WebSocketLike } from './signaling-client.ts';

const createSocket = (url: string) => new WebSocket(url) as unknown as WebSocketLike;
const clients: SignalingClient[] = [];
let server: SignalingServer | null = null;

afterEach(async () => {
  for (const c of clients.splice(0)) c.stop();
  await server?.close();
  server = null;
});

async function entries() {
  const creds = newRoomCredentials();
  const joinToken = await joinTokenFor(creds.joinKey);
  const host: RoomEntry = { type: 'host', roomId: creds.roomId, joinToken, ownerToken: await ownerTokenFor(creds.ownerSecret) };
  const join: RoomEntry = { type: 'join', roomId: creds.roomId, joinToken };
  return { host, join };
}

function client(port: number, entry: RoomEntry): SignalingClient {
  const c = new SignalingClient(`ws://127.0.0.1:${port}/signal`, entry, { createSocket, initialBackoffMs: 20, maxBackoffMs: 100 });
  clients.push(c);
  c.start();
  return c;
}
const reach = (c: SignalingClient, state: SignalingState) =>
  new Promise<void>((resolve) => (c.state === state ? resolve() : c.on('state', (s) => s === state && resolve())));

describe('SignalingClient', () => {
  it('hosts and joins with derived tokens, then relays a signal', async () => {
    server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
    const { host, join } = await entries();
    const owner = client(server.port, host);
    const ownerWelcome = new Promise<{ peerId: string }>((r) => owner.on('welcome', r));
    await reach(owner, 'open');
    const worker = client(server.port, join);
    const joined = await new Promise<{ peerId: string }>((r) => owner.on('peer-joined', r));
    const signal = new Promise((r) => worker.on('signal', r));
    owner.sendSignal(joined.peerId, { type: 'offer', sdp: 'v=0' });
    expect(await signal).toEqual({ type: 'signal', from: (await ownerWelcome).peerId, data: { type: 'offer', sdp: 'v=0' } });
  });

  it('stops for good on a wrong key, with the server’s code', async () => {
    server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
    const { host } = await entries();
    client(server.port, host);
    const wrong = client(server.port, { type: 'join', roomId: host.roomId, joinToken: (await entries()).join.joinToken });
    const error = await new Promise<MeshError>((r) => wrong.on('error', r));
    expect(error.detail).toBe('ERR_BAD_KEY');
    await reach(wrong, 'stopped');
  });

  it('reconnects by itself after the server restarts, and the worker finds the room again once the owner is back', async () => {
    server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
    const port = server.port;
    const { host, join } = await entries();
    const owner = client(port, host);
    await reach(owner, 'open');
    const worker = new SignalingClient(`ws://127.0.0.1:${port}/signal`, join, {
      createSocket,
      initialBackoffMs: 20,
      maxBackoffMs: 100,
      shouldRetry: (code, everWelcomed) => everWelcomed && code === 'ERR_NO_ROOM',
    });
    clients.push(worker);
    worker.start();
    await reach(worker, 'open');

    await server.close();
    await Promise.all([reach(owner, 'reconnecting'), reach(worker, 'reconnecting')]);
    server = await createSignalingServer({ port, host: '127.0.0.1' });
    await Promise.all([reach(owner, 'open'), reach(worker, 'open')]);
    expect(server.roomCount()).toBe(1);
  });
});
