import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateCertificate } from './certificate.ts';
import { decodeRelayFrame, encodeRelayFrame } from './protocol.ts';
import { staticHeaders } from './server.ts';
import { hostMsg, ofType, roomId, token, type TestClient } from './test/client.ts';
import { serverHarness, sleep } from './test/harness.ts';

const h = serverHarness();
const { start, client, hostRoom, joinRoom, pairedRoom } = h;

describe('signaling server: rooms', () => {
  it('pairs an owner and a worker and relays signals with the sender stamped by the server', async () => {
    await start({ iceServers: [{ urls: 'stun:stun.lan:3478' }], lanUrls: ['https://192.0.2.9:8443/'] });
    const { room, owner, reply: welcome } = await hostRoom();
    expect(welcome).toMatchObject({ role: 'owner', roomId: room.id, workers: [], lanUrls: ['https://192.0.2.9:8443/'] });
    const { worker, reply } = await joinRoom(room);
    if (reply.type !== 'welcome' || welcome.type !== 'welcome') throw new Error('expected welcomes');
    expect(welcome.ownerId).toBe(welcome.peerId);
    expect(reply.ownerId).toBe(welcome.peerId);
    expect(reply.iceServers).toEqual([{ urls: 'stun:stun.lan:3478' }]);
    expect(await owner.next(ofType('peer-joined'))).toEqual({ type: 'peer-joined', peerId: reply.peerId, role: 'worker' });

    owner.send({ type: 'signal', to: reply.peerId, data: { type: 'offer', sdp: 'v=0' } });
    expect(await worker.next(ofType('signal'))).toEqual({ type: 'signal', from: welcome.peerId, data: { type: 'offer', sdp: 'v=0' } });

    worker.ws.close();
    expect(await owner.next(ofType('peer-left'))).toEqual({ type: 'peer-left', peerId: reply.peerId, role: 'worker' });
  });

  it('refuses a wrong join key with a clear reason and closes the connection', async () => {
    await start();
    const { room } = await hostRoom();
    const { worker, reply } = await joinRoom({ id: room.id, join: token() });
    expect(reply).toMatchObject({ type: 'error', code: 'ERR_BAD_KEY', fatal: true });
    expect((reply as { message: string }).message).toMatch(/wrong join key/i);
    expect((await worker.closed).code).toBe(4000);
  });

  it('refuses an unknown room', async () => {
    await start();
    const { reply } = await joinRoom({ id: roomId(), join: token() });
    expect(reply).toMatchObject({ type: 'error', code: 'ERR_NO_ROOM', fatal: true });
  });

  it('caps the devices in a room, owner included', async () => {
    await start({ maxPeersPerRoom: 3 });
    const { room } = await hostRoom();
    expect((await joinRoom(room)).reply.type).toBe('welcome');
    expect((await joinRoom(room)).reply.type).toBe('welcome');
    expect((await joinRoom(room)).reply).toMatchObject({ type: 'error', code: 'ERR_ROOM_FULL' });
  });

  it('lets the owner take its room back after a reload and tells the workers', async () => {
    await start();
    const { room, owner } = await hostRoom();
    const { worker, reply } = await joinRoom(room);
    owner.ws.close();
    await worker.next(ofType('peer-left'));

    const intruder = await client();
    intruder.send(hostMsg(room.id, room.join, token()));
    expect(await intruder.next()).toMatchObject({ type: 'error', code: 'ERR_ROOM_TAKEN' });

    const reloaded = await client();
    reloaded.send(hostMsg(room.id, room.join, room.owner));
    const welcome = await reloaded.next(ofType('welcome'));
    expect(welcome).toMatchObject({ role: 'owner', workers: [(reply as { peerId: string }).peerId] });
    expect(await worker.next(ofType('peer-joined'))).toEqual({ type: 'peer-joined', peerId: welcome.peerId, role: 'owner' });
  });

  it('replaces an owner connection that is still open when the same owner hosts again', async () => {
    await start();
    const { room, owner } = await hostRoom();
    const second = await client();
    second.send(hostMsg(room.id, room.join, room.owner));
    await second.next(ofType('welcome'));
    expect(await owner.next(ofType('error'))).toMatchObject({ code: 'ERR_REPLACED', fatal: true });
  });

  it('closes a room whose owner stays away, telling its workers why', async () => {
    await start({ roomIdleMs: 150 });
    const { room, owner } = await hostRoom();
    const { worker } = await joinRoom(room);
    owner.ws.close();
    expect(await worker.next(ofType('error'))).toMatchObject({ code: 'ERR_NO_ROOM', fatal: true });
    expect(h.server?.roomCount()).toBe(0);
    expect((await joinRoom(room)).reply).toMatchObject({ code: 'ERR_NO_ROOM' });
  });

  it('refuses another protocol version up front', async () => {
    await start();
    const c = await client();
    c.send({ ...hostMsg(roomId(), token(), token()), protocol: 99 });
    const reply = await c.next();
    expect(reply).toMatchObject({ type: 'error', code: 'ERR_PROTOCOL_VERSION', fatal: true });
    expect((reply as { message: string }).message).toMatch(/reload/i);
  });

  it('disconnects a connection that never hosts or joins', async () => {
    await start({ helloTimeoutMs: 100 });
    const c = await client();
    expect(await c.next()).toMatchObject({ code: 'ERR_HELLO_TIMEOUT', fatal: true });
    expect((await c.closed).code).toBe(4000);
  });

  it('answers a signal to a peer outside the room with an error, not a relay', async () => {
    await start();
    const a = await hostRoom();
    const b = await hostRoom();
    if (b.reply.type !== 'welcome') throw new Error('expected welcome');
    a.owner.send({ type: 'signal', to: b.reply.peerId, data: { type: 'offer', sdp: 'x' } });
    expect(await a.owner.next()).toMatchObject({ type: 'error', code: 'ERR_UNKNOWN_PEER', fatal: false });
    await sleep(50);
    expect(b.owner.messages.filter((m) => m.type === 'signal')).toEqual([]);
  });
});

describe('signaling server: limits and hostile input', () => {
  it('refuses an oversized message but keeps the connection; closes on an absurd one', async () => {
    await start({ maxMessageBytes: 1024 });
    const { owner } = await hostRoom();
    owner.send({ type: 'signal', to: 'AAAAAAAAAAAA', data: { type: 'offer', sdp: 'x'.repeat(2000) } });
    expect(await owner.next()).toMatchObject({ type: 'error', code: 'ERR_TOO_LARGE', fatal: false });
    owner.send({ type: 'leave', pad: 1 });
    expect(await owner.next()).toMatchObject({ code: 'ERR_MALFORMED' }); // still served
    owner.send('x'.repeat(5000));
    expect((await owner.closed).code).toBe(1009);
  });

  it('rate-limits a flooding connection', async () => {
    await start({ rateBurst: 5, ratePerSec: 1 });
    const c = await client();
    for (let i = 0; i < 8; i++) c.send({ type: 'leave', junk: i });
    const codes = [];
    for (let i = 0; i < 8; i++) codes.push(((await c.next()) as { code: string }).code);
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('ERR_MALFORMED'));
    expect(codes.slice(5)).toEqual(Array(3).fill('ERR_RATE_LIMITED'));
  });

  it('survives 1,000 random junk messages and still pairs a room afterwards', async () => {
    await start({ rateBurst: 10_000, ratePerSec: 10_000 });
    const junk = fc.sample(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.json(),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.record({ type: fc.constantFrom('host', 'join', 'signal', 'leave', 'nope'), to: fc.string(), data: fc.anything(), protocol: fc.anything() }).map((v) => JSON.stringify(v)),
        fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      ),
      { numRuns: 1_000, seed: 42 },
    );
    const attackers = await Promise.all([client(), client(), client(), client()]);
    junk.forEach((msg, i) => (attackers[i % attackers.length] as TestClient).ws.send(msg));
    // Every attacker either got answers or was closed; the server itself must keep serving.
    await sleep(300);
    const { room } = await hostRoom();
    expect((await joinRoom(room)).reply.type).toBe('welcome');
  });

  it('closes a dead connection that stops answering pings', async () => {
    await start({ heartbeatMs: 50 });
    const c = await client();
    // Stop the client answering pings (ws auto-pongs in its receiver; pausing the socket starves it).
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = h.server?.connectionCount();
    await sleep(300);
    expect(before).toBe(1);
    expect(h.server?.connectionCount()).toBe(0);
  });
});

describe('signaling server: transport', () => {
  it('serves plain HTTP to localhost and refuses other WebSocket paths', async () => {
    await start();
    const res = await fetch(`http://127.0.0.1:${h.port()}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/npm run build/);
    const ws = new WebSocket(`ws://127.0.0.1:${h.port()}/elsewhere`);
    await expect(new Promise((resolve, reject) => ws.on('open', resolve).on('error', reject))).rejects.toThrow(/404/);
  });

  it('serves HTTPS and secure WebSockets on the same port as plain HTTP', async () => {
    const tls = await generateCertificate([]);
    await start({ tls });
    const port = h.port();
    const status = await new Promise<number | undefined>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    expect(status).toBe(503);
    const ws = new WebSocket(`wss://127.0.0.1:${port}/signal`, { rejectUnauthorized: false });
    await new Promise((resolve, reject) => ws.on('open', resolve).on('error', reject));
    ws.close();
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(503);
  });
});

describe('signaling server: static files and caching', () => {
  /** A tiny build: the app shell, the service worker and its runtime, the manifest, a hashed asset. */
  async function withBuild(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'modnn-static-'));
    const files: Record<string, string> = {
      'index.html': '<!doctype html><title>modnn-web</title>',
      'sw.js': 'self.addEventListener("fetch", () => {});',
      'workbox-1a2b3c4d.js': '// workbox runtime',
      'manifest.webmanifest': '{"name":"modnn-web"}',
      'assets/index-AbCd1234.js': 'console.log(1);',
      'icons/icon-192.png': 'png',
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), text);
    }
    return dir;
  }

  it('revalidates the shell, the service worker, its runtime and the manifest; caches hashed assets for good', async () => {
    const dir = await withBuild();
    try {
      await start({ staticDir: dir });
      const get = (p: string) => fetch(`http://127.0.0.1:${h.port()}${p}`);
      for (const p of ['/', '/index.html', '/sw.js', '/workbox-1a2b3c4d.js', '/manifest.webmanifest', '/icons/icon-192.png', '/some/route']) {
        const res = await get(p);
        expect(res.status, p).toBe(200);
        expect(res.headers.get('cache-control'), p).toBe('no-cache');
      }
      const manifest = await get('/manifest.webmanifest');
      expect(manifest.headers.get('content-type')).toBe('application/manifest+json');
      expect(await manifest.json()).toEqual({ name: 'modnn-web' });
      expect((await get('/sw.js')).headers.get('content-type')).toMatch(/^(text|application)\/javascript/);

      const asset = await get('/assets/index-AbCd1234.js');
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');

      // A missing asset or model is a 404, never index.html cached for a year or read as a model.
      for (const p of ['/assets/index-Gone0000.js', '/assets/gone', '/models/gone', '/models/gone/model.json', '/workbox-gone.js']) {
        expect((await get(p)).status, p).toBe(404);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the cache policy per path', () => {
    expect(staticHeaders('/sw.js')).toEqual({ 'Cache-Control': 'no-cache' });
    expect(staticHeaders('/manifest.webmanifest')).toEqual({ 'Cache-Control': 'no-cache', 'Content-Type': 'application/manifest+json' });
    expect(staticHeaders('/assets/tfjs-Iccd8rzC.js')['Cache-Control']).toMatch(/immutable/);
  });
});

describe('signaling server: relay of sealed frames', () => {
  /** An owner and a worker of one room, with their peer ids. */
  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

  it('passes binary frames both ways between members of one room, in order, with the sender’s id in place of the recipient’s', async () => {
    await start();
    const { owner, worker, ownerId, workerId } = await pairedRoom();
    const sent = [bytes(10, 1), bytes(70_000, 2), bytes(1, 3)];
    for (const payload of sent) owner.ws.send(encodeRelayFrame(workerId, payload));
    worker.ws.send(encodeRelayFrame(ownerId, bytes(5, 9)));
    const received = (await worker.framesArrived(3)).map((b) => decodeRelayFrame(new Uint8Array(b)));
    expect(received.map((f) => f?.peerId)).toEqual([ownerId, ownerId, ownerId]);
    expect(received.map((f, i) => Buffer.from(f?.payload ?? []).equals(sent[i] as Uint8Array))).toEqual([true, true, true]);
    const [back] = await owner.framesArrived(1);
    expect(decodeRelayFrame(new Uint8Array(back as Buffer))).toEqual({ peerId: workerId, payload: bytes(5, 9) });
    expect(owner.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(h.server?.relayStats()).toEqual({ frames: 4, bytes: 10 + 70_000 + 1 + 5 });
  });

  it('relays only within a room: not before joining, not to another room’s peer, not to a peer that is gone', async () => {
    await start();
    const a = await pairedRoom();
    const b = await pairedRoom();
    const stranger = await client();
    stranger.ws.send(encodeRelayFrame(a.workerId, bytes(8, 0)));
    expect(await stranger.next()).toMatchObject({ type: 'error', code: 'ERR_NOT_IN_ROOM', fatal: false });
    a.owner.ws.send(encodeRelayFrame(b.workerId, bytes(8, 0)));
    expect(await a.owner.next(ofType('error'))).toMatchObject({ code: 'ERR_UNKNOWN_PEER', fatal: false });
    a.owner.ws.send(encodeRelayFrame(a.ownerId, bytes(8, 0))); // itself
    expect(await a.owner.next(ofType('error'))).toMatchObject({ code: 'ERR_UNKNOWN_PEER' });
    a.worker.ws.close();
    await a.owner.next(ofType('peer-left'));
    a.owner.ws.send(encodeRelayFrame(a.workerId, bytes(8, 0)));
    expect(await a.owner.next(ofType('error'))).toMatchObject({ code: 'ERR_UNKNOWN_PEER' });
    await sleep(50);
    expect([b.owner.frames, b.worker.frames, a.owner.frames]).toEqual([[], [], []]);
  });

  it('refuses an oversized frame with a clear error and keeps the connection; closes on an absurd one; refuses a malformed header', async () => {
    await start({ maxRelayFrameBytes: 1000 });
    const { owner, worker, workerId } = await pairedRoom();
    owner.ws.send(encodeRelayFrame(workerId, bytes(1001, 0)));
    const tooLarge = await owner.next(ofType('error'));
    expect(tooLarge).toMatchObject({ code: 'ERR_TOO_LARGE', fatal: false, message: expect.stringContaining('1001 bytes exceeds the limit of 1000') as unknown });
    owner.ws.send(Uint8Array.of(40, 65, 66)); // an id length longer than the frame
    expect(await owner.next(ofType('error'))).toMatchObject({ code: 'ERR_MALFORMED', message: expect.stringContaining('relay frame') as unknown });
    owner.ws.send(encodeRelayFrame(workerId, bytes(1000, 0)));
    expect((await worker.framesArrived(1))[0]?.byteLength).toBe(1 + workerId.length + 1000);
    owner.ws.send(new Uint8Array(600_000)); // far over the hard cap
    expect((await owner.closed).code).toBe(1009);
  });

  it('holds senders back while a receiver does not read, then delivers everything in order', async () => {
    const srv = await start({ maxRelayBufferedBytes: 256 * 1024 });
    const { owner, worker, workerId } = await pairedRoom();
    worker.ws.pause(); // a phone that stopped reading: the server's queue toward it grows
    const count = 40;
    for (let i = 0; i < count; i++) owner.ws.send(encodeRelayFrame(workerId, bytes(256 * 1024, i)));
    await sleep(300);
    // The server itself stopped reading the sender: it relayed only part of the frames so far.
    // (The client-side count below cannot fail on its own: the test paused that socket.)
    expect(srv.relayStats().frames).toBeLessThan(count);
    expect(worker.frames.length).toBeLessThan(count);
    worker.ws.resume();
    const frames = await worker.framesArrived(count, 10_000);
    expect(frames.map((f, i) => Buffer.from(decodeRelayFrame(new Uint8Array(f))?.payload ?? []).equals(bytes(256 * 1024, i)))).toEqual(Array(count).fill(true));
    expect(owner.messages.filter((m) => m.type === 'error')).toEqual([]);
  });

  it('holds a sender back past its byte rate instead of dropping or refusing its frames', async () => {
    await start({ relayBurstBytes: 1000, relayBytesPerSec: 100, relayFrameMinBytes: 0 });
    const { owner, worker, workerId } = await pairedRoom();
    for (let i = 0; i < 2; i++) owner.ws.send(encodeRelayFrame(workerId, bytes(900, i)));
    await worker.framesArrived(2);
    // The second frame left the sender ~800 bytes in debt: at 100 bytes/s it is not read from for seconds.
    owner.ws.send(encodeRelayFrame(workerId, bytes(900, 2)));
    await sleep(300);
    expect(worker.frames).toHaveLength(2);
    expect(owner.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(owner.ws.readyState).toBe(owner.ws.OPEN);
  });
});

