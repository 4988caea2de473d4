/**
 * The gaps `npm run load:signaling` found (bench/results/load-signaling.md), each closed: sockets
 * that never become WebSockets, one address taking every slot or room, floods of tiny relay frames,
 * deeply nested signals, and a sender that stays over the rate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import net from 'node:net';
import { generateCertificate } from './certificate.ts';
import { encodeRelayFrame } from './protocol.ts';
import { ofType } from './test/client.ts';
import { serverHarness, sleep } from './test/harness.ts';

const h = serverHarness();
const { start, port, client, hostRoom, pairedRoom } = h;
const rawSockets: net.Socket[] = [];

/** A raw TCP connection; `closed` resolves when the server closes it. */
async function rawSocket(firstBytes: string | null = null): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  const socket = net.connect(port(), '127.0.0.1');
  rawSockets.push(socket);
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  if (firstBytes) socket.write(firstBytes);
  return { socket, closed };
}
/** Whether `promise` settles within `ms`. */
const settlesWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true), sleep(ms).then(() => false)]);
/** Opens a WebSocket; resolves with it, or with the HTTP status that refused the upgrade. */
function openWebSocket(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', reject);
  });
}

afterEach(() => {
  for (const s of rawSockets.splice(0)) s.destroy();
});

describe('signaling server: sockets before they become WebSockets', () => {
  it('closes a TCP connection that sends nothing within the handshake deadline', async () => {
    await start({ handshakeTimeoutMs: 200 });
    const { closed } = await rawSocket();
    expect(await settlesWithin(closed, 3_000)).toBe(true);
  });

  it('closes a request whose headers never end within the handshake deadline', async () => {
    await start({ handshakeTimeoutMs: 200 });
    const { closed } = await rawSocket('GET /signal HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    expect(await settlesWithin(closed, 3_000)).toBe(true);
  });

  it('leaves WebSockets alone once their upgrade is in, plain and over TLS', async () => {
    const tls = await generateCertificate([]);
    await start({ handshakeTimeoutMs: 200, tls });
    const plain = await client();
    const secure = await openWebSocket(`wss://127.0.0.1:${port()}/signal`, { rejectUnauthorized: false });
    if (typeof secure === 'number') throw new Error(`wss refused with ${secure}`);
    const secureClosed = new Promise((resolve) => secure.once('close', resolve));
    await sleep(600);
    expect(await settlesWithin(plain.closed, 0)).toBe(false);
    expect(await settlesWithin(secureClosed, 0)).toBe(false);
    expect(h.server?.connectionCount()).toBe(2);
    secure.terminate();
  });

  it('caps raw TCP connections per address and in total, closing the newcomer at once', async () => {
    await start({ maxSocketsPerAddress: 3, handshakeTimeoutMs: 60_000 });
    const held = await Promise.all([rawSocket(), rawSocket(), rawSocket()]);
    const extra = await rawSocket();
    expect(await settlesWithin(extra.closed, 2_000)).toBe(true);
    expect(await settlesWithin(Promise.race(held.map((h) => h.closed)), 100)).toBe(false);
    held[0]?.socket.destroy();
    await held[0]?.closed;
    await sleep(50); // the server sees the close
    const again = await rawSocket();
    expect(await settlesWithin(again.closed, 300)).toBe(false);

    await h.server?.close();
    await start({ maxSockets: 2, maxSocketsPerAddress: 100, handshakeTimeoutMs: 60_000 });
    await Promise.all([rawSocket(), rawSocket()]);
    expect(await settlesWithin((await rawSocket()).closed, 2_000)).toBe(true);
  });
});

describe('signaling server: per-address caps', () => {
  it('refuses a WebSocket beyond maxConnectionsPerAddress with HTTP 503, and takes one again when a slot frees', async () => {
    await start({ maxConnectionsPerAddress: 2 });
    const [a] = await Promise.all([client(), client()]);
    expect(await openWebSocket(`ws://127.0.0.1:${port()}/signal`)).toBe(503);
    a?.ws.close();
    await a?.closed;
    await sleep(50);
    const again = await openWebSocket(`ws://127.0.0.1:${port()}/signal`);
    expect(again).toBeInstanceOf(WebSocket);
    (again as WebSocket).terminate();
  });

  it('refuses a room beyond maxRoomsPerAddress, lets an owner take its own room back, and frees the slot when an empty room is left', async () => {
    await start({ maxRoomsPerAddress: 2 });
    const first = await hostRoom();
    await hostRoom();
    const third = await hostRoom();
    expect(third.reply).toMatchObject({ type: 'error', code: 'ERR_SERVER_FULL', fatal: true, message: expect.stringMatching(/your address/i) as unknown });
    // A reload of the first owner (its socket dropped, the room kept): taking it back is no new room.
    first.owner.ws.terminate();
    await first.owner.closed;
    const { owner: back, reply } = await hostRoom(first.room);
    expect(reply.type).toBe('welcome');
    // The owner leaves for good: its empty room goes, and with it the address's charge.
    back.send({ type: 'leave' });
    await back.closed;
    expect(h.server?.roomCount()).toBe(1);
    expect((await hostRoom()).reply.type).toBe('welcome');
  });

  it('deletes a room whose owner leaves explicitly when nobody is in it; keeps one with workers for the owner to return', async () => {
    await start();
    const lone = await hostRoom();
    lone.owner.send({ type: 'leave' });
    await lone.owner.closed;
    await sleep(20);
    expect(h.server?.roomCount()).toBe(0);

    const { room, owner, worker, ownerId } = await pairedRoom();
    owner.send({ type: 'leave' });
    expect(await worker.next(ofType('peer-left'))).toMatchObject({ peerId: ownerId, role: 'owner' });
    expect(h.server?.roomCount()).toBe(1);
    const { owner: back, reply } = await hostRoom(room);
    expect(reply.type).toBe('welcome');
    expect(await worker.next(ofType('peer-joined'))).toMatchObject({ role: 'owner' });
    // The owner leaves for good, then its last worker: nobody is left to wait for, the room goes.
    back.send({ type: 'leave' });
    await worker.next(ofType('peer-left'));
    worker.ws.close();
    await worker.closed;
    await sleep(20);
    expect(h.server?.roomCount()).toBe(0);
  });
});

describe('signaling server: floods', () => {
  it('limits relayed frames by number: each counts as at least relayFrameMinBytes', async () => {
    await start({ relayBurstBytes: 32 * 1024, relayBytesPerSec: 16 * 1024, relayFrameMinBytes: 16 * 1024 });
    const { owner, worker, ownerId } = await pairedRoom();
    // 30 frames of 8 bytes, one every 10 ms (so that each is read on its own): 240 bytes, far
    // under the byte budget, but 30 × 16 KiB against a burst of 2 frames and 1 frame a second.
    for (let i = 0; i < 30; i++) {
      worker.ws.send(encodeRelayFrame(ownerId, Uint8Array.of(i, 1, 2, 3, 4, 5, 6, 7)));
      await sleep(10);
    }
    await owner.framesArrived(2);
    await sleep(200);
    expect(owner.frames.length).toBeLessThan(10);
    expect(worker.messages.filter((m) => m.type === 'error')).toEqual([]); // held back, not refused
    expect(worker.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('counts every frame of one socket read against the pause, not only the one that ran into debt', async () => {
    await start({ relayBurstBytes: 32 * 1024, relayBytesPerSec: 160 * 1024, relayFrameMinBytes: 16 * 1024 });
    const { owner, worker, ownerId } = await pairedRoom();
    // 30 frames in one write: read at once, they leave the sender 28 frames (2.8 s) in debt; the
    // third alone would owe 0.1 s.
    const socket = (worker.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    socket.cork(); // one TCP write, so that the server reads them together
    for (let i = 0; i < 30; i++) worker.ws.send(encodeRelayFrame(ownerId, Uint8Array.of(i)));
    socket.uncork();
    await owner.framesArrived(30, 5_000);
    await sleep(300);
    for (let i = 0; i < 5; i++) worker.ws.send(encodeRelayFrame(ownerId, Uint8Array.of(100 + i)));
    await sleep(500);
    expect(owner.frames).toHaveLength(30);
  });

  it('disconnects a sender that stays over the rate for rateLimitGraceMs, not one that slows down', async () => {
    await start({ rateBurst: 5, ratePerSec: 20, rateLimitGraceMs: 500 });
    const { owner, worker, ownerId } = await pairedRoom();
    const candidate = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host', sdpMLineIndex: 0, sdpMid: '0' } };
    // Three times the rate: some get through (each resets the strikes), the rest are refused.
    const flood = setInterval(() => worker.send({ type: 'signal', to: ownerId, data: candidate }), 1000 / 60);
    const closed = await settlesWithin(worker.closed, 4_000);
    clearInterval(flood);
    expect(closed).toBe(true);
    expect(await worker.closed).toEqual({ code: 4000, reason: 'ERR_RATE_LIMITED' });
    expect(owner.messages.filter((m) => m.type === 'signal').length).toBeGreaterThan(5); // throttled before it went
    expect(worker.messages.at(-1)).toMatchObject({ code: 'ERR_RATE_LIMITED', fatal: true });

    // Bursts over the rate with quiet seconds between them: refused, never disconnected.
    const calmer = await pairedRoom();
    for (let burst = 0; burst < 3; burst++) {
      for (let i = 0; i < 10; i++) calmer.worker.send({ type: 'signal', to: calmer.ownerId, data: candidate });
      await sleep(1_200);
    }
    expect(calmer.worker.messages.filter((m) => m.type === 'error' && m.code === 'ERR_RATE_LIMITED').length).toBeGreaterThan(0);
    expect(calmer.worker.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('signaling server: signal data', () => {
  it('refuses deeply nested signal data before parsing it, relays nothing, and disconnects a sender that keeps at it', async () => {
    await start({ rateBurst: 1_000, ratePerSec: 1_000 });
    const { owner, worker, ownerId } = await pairedRoom();
    const nested = `{"type":"signal","to":"${ownerId}","data":{"type":"offer","sdp":"v=0","x":${'['.repeat(30_000)}${']'.repeat(30_000)}}}`;
    worker.send(nested);
    expect(await worker.next(ofType('error'))).toMatchObject({ code: 'ERR_MALFORMED', fatal: false, message: expect.stringContaining('nested deeper') as unknown });
    for (let i = 0; i < 60; i++) worker.send(nested);
    expect(await worker.closed).toEqual({ code: 4000, reason: 'ERR_MALFORMED' });
    expect(owner.messages.filter((m) => m.type === 'signal')).toEqual([]);
  });

  it('relays the signals simple-peer and the relay fallback send, and refuses other shapes', async () => {
    await start();
    const { owner, worker, ownerId } = await pairedRoom();
    const good = [
      { type: 'offer', sdp: 'v=0\r\n' },
      { type: 'answer', sdp: 'v=0\r\n' },
      { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host', sdpMLineIndex: 0, sdpMid: '0', usernameFragment: 'u' } },
      { type: 'renegotiate', renegotiate: true },
      { type: 'transceiverRequest', transceiverRequest: { kind: 'audio', init: { direction: 'recvonly' } } },
      { type: 'relay', nonce: 'AAAAAAAAAAAAAAAAAAAAAA' },
    ];
    const bad = [
      { type: 'offer', sdp: 5 },
      { type: 'candidate', candidate: 'x' },
      { candidate: { candidate: 'x' } },
      { type: 'bogus', payload: [[[1]]] },
      { type: 'renegotiate', renegotiate: 'yes' },
    ];
    for (const data of good) worker.send({ type: 'signal', to: ownerId, data });
    for (const data of bad) worker.send({ type: 'signal', to: ownerId, data });
    const received = [];
    for (let i = 0; i < good.length; i++) received.push((await owner.next(ofType('signal'))).data);
    expect(received).toEqual(good);
    const errors = [];
    for (let i = 0; i < bad.length; i++) errors.push(await worker.next(ofType('error')));
    expect(errors.map((e) => e.code)).toEqual(Array(bad.length).fill('ERR_MALFORMED'));
  });
});
