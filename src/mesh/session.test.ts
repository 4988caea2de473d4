import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MeshError } from '../errors.ts';
import { MESH_PROTOCOL_VERSION, type DeviceInfo } from './control.ts';
import { MessageLink } from './link.ts';
import { PeerSession } from './session.ts';
import { memoryTransportPair } from './transport.ts';
import { MessageKind } from './wire/index.ts';

const device = (name: string): DeviceInfo => ({ deviceId: `id-${name}-0000`, name, backends: ['wasm', 'cpu'], cores: 8, memoryGb: 4, userAgent: 'test' });
const closed = (s: PeerSession) => new Promise<MeshError | null>((resolve) => s.on('close', resolve));

function pair(options: ConstructorParameters<typeof PeerSession>[3] = {}) {
  const [ta, tb] = memoryTransportPair();
  const ownerLink = new MessageLink(ta);
  const workerLink = new MessageLink(tb);
  const owner = new PeerSession(ownerLink, 'owner', device('owner'), options);
  const worker = new PeerSession(workerLink, 'worker', device('worker'), options);
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
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'), { heartbeatMs: 10 });
    // The worker's clock runs 5 s ahead of the owner's.
    const worker = new PeerSession(new MessageLink(tb), 'worker', device('worker'), { heartbeatMs: 10, now: () => performance.now() + 5_000 });
    for (let i = 0; i < 5; i++) await new Promise((r) => owner.on('rtt', r));
    expect(owner.clockOffsetMs).toBeGreaterThan(5_000 - 20);
    expect(owner.clockOffsetMs).toBeLessThan(5_000 + 20);
    worker.leave('done');
  });

  it('refuses a hello of another protocol version with a reason both sides see', async () => {
    const [ta, tb] = memoryTransportPair();
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'));
    const ownerClosed = closed(owner);
    const workerLink = new MessageLink(tb);
    const refused = new Promise((resolve) => workerLink.on('message', resolve));
    await workerLink.send({ kind: MessageKind.Hello, meta: { protocol: MESH_PROTOCOL_VERSION + 1, app: '9.9.9', device: device('old') } });
    expect(await ownerClosed).toMatchObject({ code: 'ERR_VERSION_MISMATCH' });
    expect(await refused).toMatchObject({ kind: MessageKind.Refuse, meta: { code: 'ERR_VERSION_MISMATCH' } });
  });

  it('drops a peer whose hello is malformed', async () => {
    const [ta, tb] = memoryTransportPair();
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'));
    await new MessageLink(tb).send({ kind: MessageKind.Hello, meta: { protocol: 1, device: { name: 42 } } });
    expect(await closed(owner)).toMatchObject({ code: 'ERR_PROTOCOL', message: expect.stringContaining('malformed hello') as unknown });
  });

  it('declares a silent peer gone', async () => {
    const [ta] = memoryTransportPair(); // nobody on the other end ever answers
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'), { heartbeatMs: 20, silenceMs: 100 });
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
    const owner = new PeerSession(new MessageLink(ta), 'owner', device('owner'));
    await new MessageLink(tb).send({ kind: MessageKind.Welcome, meta: { protocol: MESH_PROTOCOL_VERSION, owner: device('fake') } });
    expect(await closed(owner)).toMatchObject({ code: 'ERR_PROTOCOL', message: expect.stringContaining('unexpected welcome') as unknown });
  });
});
