import { afterEach, describe, expect, it, vi } from 'vitest';
import { MeshError as MeshErrorCtor, type MeshError } from '../errors.ts';
import { commitmentTo, newNonce, type ChannelBinding } from './channel-auth.ts';
import { MESH_PROTOCOL_VERSION, type DeviceInfo } from './control.ts';
import { MessageLink } from './link.ts';
import { PeerSession, type SessionAuth, type SessionOptions } from './session.ts';
import { memoryTransportPair } from './transport.ts';
import { MessageKind } from './wire/index.ts';

const device = (name: string): DeviceInfo => ({ deviceId: `id-${name}-0000`, name, backends: ['wasm', 'cpu'], cores: 8, memoryGb: 4, userAgent: 'test' });
const closed = (s: PeerSession) => new Promise<MeshError | null>((resolve) => s.on('close', resolve));

const JOIN_KEY = 'room-join-key-0123456789ab';
const OWNER_FP = 'sha-256 0A:0B:0C';
const WORKER_FP = 'sha-256 1A:1B:1C';
/** What each side's channel shows when nobody is in the middle. */
const ownerAuth = (binding: ChannelBinding | null = { local: OWNER_FP, remote: WORKER_FP }): SessionAuth => ({ joinKey: JOIN_KEY, binding });
const workerAuth = (overrides: Partial<SessionAuth> = {}): SessionAuth => ({ joinKey: JOIN_KEY, binding: { local: WORKER_FP, remote: OWNER_FP }, ...overrides });

function pair(options: Partial<SessionOptions> = {}, auth: { owner?: SessionAuth; worker?: SessionAuth } = {}) {
  const [ta, tb] = memoryTransportPair();
  const ownerLink = new MessageLink(ta);
  const workerLink = new MessageLink(tb);
  const owner = new PeerSession(ownerLink, 'owner', device('owner'), auth.owner ?? ownerAuth(), options);
  const worker = new PeerSession(workerLink, 'worker', device('worker'), auth.worker ?? workerAuth(), options);
  return { owner, worker, ownerLink, workerLink };
}

afterEach(() => vi.useRealTimers());

describe('PeerSession', () => {
  it('shakes hands both ways, then measures round-trip time', async () => {
    const { owner, worker } = pair({ heartbeatMs: 20 });
    const [seenByOwner, seenByWorker] = await Promise.all([new Promise((r) => owner.on('ready', r)), new Promise((r) => worker.on('ready', r))]);
    expect(seenByOwner).toMatchObject({ name: 'worker', cores: 8 });
    expect(seenByWorker).toMatchObject({ name: 'owner' });
    await new Promise((r) => owner.on('rtt', r));
    expect(owner.rttMs).toBeGreaterThanOrEqual(0);
    owner.leave('done');
  });

  it('estimates the peer’s clock offset from the heartbeats', async () => {
    const [ta, tb] = memoryTransportPair();
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'), ownerAuth(), { heartbeatMs: 10 });
    // The worker's clock runs 5 s ahead of the owner's.
    const worker = new PeerSession(new MessageLink(tb), 'worker', device('worker'), workerAuth(), { heartbeatMs: 10, now: () => performance.now() + 5_000 });
    for (let i = 0; i < 5; i++) await new Promise((r) => owner.on('rtt', r));
    expect(owner.clockOffsetMs).toBeGreaterThan(5_000 - 20);
    expect(owner.clockOffsetMs).toBeLessThan(5_000 + 20);
    worker.leave('done');
  });

  it('refuses a hello of another protocol version with a reason both sides see', async () => {
    const [ta, tb] = memoryTransportPair();
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'), ownerAuth());
    const ownerClosed = closed(owner);
    const workerLink = new MessageLink(tb);
    const refused = new Promise((resolve) => workerLink.on('message', resolve));
    await workerLink.send({ kind: MessageKind.Hello, meta: { protocol: MESH_PROTOCOL_VERSION + 1, app: '9.9.9', device: device('old') } });
    expect(await ownerClosed).toMatchObject({ code: 'ERR_VERSION_MISMATCH' });
    expect(await refused).toMatchObject({ kind: MessageKind.Refuse, meta: { code: 'ERR_VERSION_MISMATCH' } });
  });

  it('drops a peer whose hello is malformed', async () => {
    const [ta, tb] = memoryTransportPair();
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'), ownerAuth());
    await new MessageLink(tb).send({ kind: MessageKind.Hello, meta: { protocol: 1, device: { name: 42 } } });
    expect(await closed(owner)).toMatchObject({ code: 'ERR_PROTOCOL', message: expect.stringContaining('malformed hello') as unknown });
  });

  it('declares a silent peer gone', async () => {
    const [ta] = memoryTransportPair(); // nobody on the other end ever answers
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'), ownerAuth(), { heartbeatMs: 20, silenceMs: 100 });
    const reason = await closed(owner);
    expect(reason).toMatchObject({ code: 'ERR_PEER_SILENT' });
  });

  it('does not blame the peer for a stall of its own page: heartbeats queued behind it count', async () => {
    const { owner, worker } = pair({ heartbeatMs: 20, silenceMs: 100 });
    await Promise.all([new Promise((r) => owner.on('ready', r)), new Promise((r) => worker.on('ready', r))]);
    let dropped: unknown = null;
    owner.on('close', (reason) => (dropped = reason));
    worker.on('close', (reason) => (dropped = reason));
    // Both pages blocked for 1.5 s (15× the silence limit): a long synchronous computation.
    const until = Date.now() + 1_500;
    while (Date.now() < until);
    await new Promise((r) => setTimeout(r, 600));
    expect(dropped).toBeNull();
    expect(owner.state).toBe('ready');
    owner.leave('done');
  });

  it('passes on a leave notice as the reason', async () => {
    const { owner, worker } = pair();
    await Promise.all([new Promise((r) => owner.on('ready', r)), new Promise((r) => worker.on('ready', r))]);
    const reason = closed(owner);
    worker.leave('page closed');
    expect(await reason).toMatchObject({ code: 'ERR_PEER_LEFT', message: expect.stringContaining('page closed') as unknown });
  });

  it('drops a worker that plays owner (a welcome sent to the owner)', async () => {
    const [ta, tb] = memoryTransportPair();
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'), ownerAuth());
    await new MessageLink(tb).send({ kind: MessageKind.Welcome, meta: { protocol: MESH_PROTOCOL_VERSION, auth: { nonce: newNonce() } } });
    expect(await closed(owner)).toMatchObject({ code: 'ERR_PROTOCOL', message: expect.stringContaining('unexpected welcome') as unknown });
  });

  it('both sides check the other’s channel proof and show the same short code', async () => {
    const { owner, worker } = pair();
    await Promise.all([new Promise((r) => owner.on('ready', r)), new Promise((r) => worker.on('ready', r))]);
    expect(owner.authCode).toMatch(/^\d{3} \d{3}$/);
    expect(worker.authCode).toBe(owner.authCode);
    owner.leave('done');
  });

  it('a worker with a wrong join key never becomes ready and is refused with the reason', async () => {
    const { owner, worker } = pair({}, { worker: workerAuth({ joinKey: 'a-guessed-key-0123456789ab' }) });
    const readies: string[] = [];
    owner.on('ready', () => readies.push('owner'));
    worker.on('ready', () => readies.push('worker'));
    const [ownerReason, workerReason] = await Promise.all([closed(owner), closed(worker)]);
    expect(ownerReason).toMatchObject({ code: 'ERR_AUTH', message: expect.stringContaining('join key') as unknown });
    expect(workerReason).toMatchObject({ code: 'ERR_REFUSED', detail: 'ERR_AUTH' });
    expect(readies).toEqual([]);
    expect(owner.authCode).toBeNull();
  });

  it('a connection whose SDP was swapped (each side sees a stranger’s fingerprint) is dropped before ready, even with the right key', async () => {
    const { owner, worker } = pair({}, {
      owner: ownerAuth({ local: OWNER_FP, remote: 'sha-256 EE:EE:01' }),
      worker: workerAuth({ binding: { local: WORKER_FP, remote: 'sha-256 EE:EE:02' } }),
    });
    let ready = false;
    owner.on('ready', () => (ready = true));
    worker.on('ready', () => (ready = true));
    expect(await closed(owner)).toMatchObject({ code: 'ERR_AUTH' });
    expect(await closed(worker)).toMatchObject({ code: 'ERR_REFUSED', detail: 'ERR_AUTH' });
    expect(ready).toBe(false);
  });

  it('a transport that cannot tell its channel binding is refused', async () => {
    const { owner } = pair({}, { owner: ownerAuth(null) });
    expect(await closed(owner)).toMatchObject({ code: 'ERR_AUTH', message: expect.stringContaining('channel binding') as unknown });
  });

  it('a worker that says hello but never proves the channel is dropped at the handshake deadline, and gets no answer to anything else', async () => {
    const [ta, tb] = memoryTransportPair();
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'), ownerAuth(), { helloTimeoutMs: 300 });
    let ready = false;
    owner.on('ready', () => (ready = true));
    const intruder = new MessageLink(tb);
    await intruder.send({ kind: MessageKind.Hello, meta: { protocol: MESH_PROTOCOL_VERSION, app: 'x', auth: { commit: await commitmentTo(newNonce()) } } });
    await expect(intruder.request({ method: 'runtime.load', model: 'clothing' })).rejects.toMatchObject({ code: 'ERR_REMOTE', detail: 'ERR_NO_HANDLER' });
    expect(await closed(owner)).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(ready).toBe(false);
  });

  it('a worker whose revealed nonce does not match its commitment is refused', async () => {
    const [ta, tb] = memoryTransportPair();
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'), ownerAuth());
    const ownerClosed = closed(owner);
    const intruder = new MessageLink(tb);
    const welcome = new Promise<{ meta: unknown }>((resolve) => intruder.on('message', resolve));
    await intruder.send({ kind: MessageKind.Hello, meta: { protocol: MESH_PROTOCOL_VERSION, app: 'x', auth: { commit: await commitmentTo(newNonce()) } } });
    // Nothing about the owner's device before a proof: only the version and a nonce.
    expect((await welcome).meta).toEqual({ protocol: MESH_PROTOCOL_VERSION, auth: { nonce: expect.stringMatching(/^[\w-]{22}$/) as unknown } });
    await expect(intruder.request({ method: 'mesh.auth', nonce: newNonce(), proof: 'A'.repeat(43), device: device('intruder') })).rejects.toBeTruthy();
    expect(await ownerClosed).toMatchObject({ code: 'ERR_AUTH' });
  });
});

describe('PeerSession between two workers (scope neighbour)', () => {
  const neighbours = (overrides: { answerer?: Partial<SessionAuth> } = {}) =>
    pair({}, { owner: { ...ownerAuth(), scope: 'neighbour' }, worker: { ...workerAuth(), scope: 'neighbour', ...overrides.answerer } });

  it('both prove the key with no device details on the wire, then requests pass both ways', async () => {
    const { owner, worker, ownerLink, workerLink } = neighbours();
    const seen: unknown[] = [];
    for (const link of [ownerLink, workerLink]) {
      const onFrame = (link as unknown as { transport: { onFrame: (f: Uint8Array) => void } }).transport.onFrame;
      (link as unknown as { transport: { onFrame: (f: Uint8Array) => void } }).transport.onFrame = (frame) => (seen.push(new TextDecoder().decode(frame)), onFrame(frame));
    }
    owner.serve((r) => ({ meta: { by: 'initiator', got: r.meta } }));
    worker.serve((r) => ({ meta: { by: 'answerer', got: r.meta } }));
    const [a, b] = await Promise.all([new Promise((r) => owner.on('ready', r)), new Promise((r) => worker.on('ready', r))]);
    expect([a, b]).toEqual([null, null]);
    expect(seen.join('\n')).not.toContain('deviceId');
    expect((await ownerLink.request({ x: 1 })).meta).toEqual({ by: 'answerer', got: { x: 1 } });
    expect((await workerLink.request({ x: 2 })).meta).toEqual({ by: 'initiator', got: { x: 2 } });
    owner.leave('done');
  });

  it('a wrong key fails with ERR_AUTH on both sides and the served handler never runs', async () => {
    const { owner, worker } = neighbours({ answerer: { joinKey: 'a-guessed-key-0123456789ab' } });
    let served = 0;
    owner.serve(() => (served++, {}));
    worker.serve(() => (served++, {}));
    const [initiatorReason, answererReason] = await Promise.all([closed(owner), closed(worker)]);
    expect(initiatorReason).toMatchObject({ code: 'ERR_AUTH' });
    expect(answererReason).toMatchObject({ code: 'ERR_AUTH' });
    expect(served).toBe(0);
  });

  it('a request before any proof is refused, and so is an owner link’s proof request', async () => {
    const [ta, tb] = memoryTransportPair();
    const initiator = new PeerSession(new MessageLink(ta), 'owner', device('owner'), { ...ownerAuth(), scope: 'neighbour' });
    let served = 0;
    initiator.serve(() => (served++, {}));
    const intruder = new MessageLink(tb);
    await intruder.send({ kind: MessageKind.Hello, meta: { protocol: MESH_PROTOCOL_VERSION, app: 'x', auth: { commit: await commitmentTo(newNonce()) } } });
    await expect(intruder.request({ method: 'halo.put' })).rejects.toMatchObject({ code: 'ERR_REMOTE', detail: 'ERR_PROTOCOL' });
    await expect(intruder.request({ method: 'mesh.auth', nonce: newNonce(), proof: 'A'.repeat(43), device: device('intruder') })).rejects.toMatchObject({ detail: 'ERR_PROTOCOL' });
    expect(served).toBe(0);
    expect(initiator.state).toBe('handshake');
    initiator.drop(new MeshErrorCtor('ERR_DESTROYED', 'test over'));
  });
});
