/**
 * The owner's and workers' meshes over a real signaling server, with in-memory stand-ins for
 * WebRTC that announce fake DTLS fingerprints: the channel-bound join (a swapped SDP is caught),
 * blocking, and the relay through the server when no direct link comes up.
 */
import { describe, expect, it } from 'vitest';
import type { MeshError } from '../errors.ts';
import type { PeerTransportFactory } from './peer-transport.ts';
import { fakeDirect, meshHarness, peerWhere, room, workerState } from './test/mesh-harness.ts';

meshHarness();
describe('OwnerMesh and WorkerMesh: channel-bound join', () => {
  it('a worker on a direct link proves the key; both sides show the same short code; not relayed', async () => {
    const { owner, join } = await room(fakeDirect('sha-256 0A:0A'));
    const worker = join('w1', fakeDirect('sha-256 0B:0B'));
    const ready = await peerWhere(owner, (p) => p.state === 'ready');
    await workerState(worker, 'ready');
    expect(ready.authCode).toMatch(/^\d{3} \d{3}$/);
    expect(worker.authCode).toBe(ready.authCode);
    expect([ready.relayed, worker.relayed]).toEqual([false, false]);
  });

  it('a worker whose connection was swapped in the middle never becomes ready, gets nothing, and is dropped with the reason', async () => {
    const { owner, join } = await room(fakeDirect('sha-256 0A:0A'));
    const worker = join('w1', fakeDirect('sha-256 0B:0B', { seesRemoteAs: 'sha-256 EE:EE' }));
    const requests: unknown[] = [];
    worker.on('request', (r) => requests.push(r.meta));
    const states = new Set<string>();
    owner.on('change', () => owner.peers().forEach((p) => states.add(p.state)));
    const gone = await peerWhere(owner, (p) => p.state === 'gone');
    expect(gone.reason).toMatch(/could not prove it knows this room’s join key/);
    expect(gone.authCode ?? null).toBeNull();
    expect([...states]).not.toContain('ready');
    expect([...states]).not.toContain('pending');
    expect(worker.state).not.toBe('ready');
    expect(requests).toEqual([]);
  });

  it('a blocked device is disconnected and turned away when it comes back', async () => {
    const { owner, join } = await room(fakeDirect('sha-256 0A:0A'));
    const first = join('w1', fakeDirect('sha-256 0B:0B'));
    const ready = await peerWhere(owner, (p) => p.state === 'ready');
    await workerState(first, 'ready');
    owner.block(ready.peerId);
    expect(owner.peers().find((p) => p.peerId === ready.peerId)).toMatchObject({ state: 'gone', reason: 'blocked by the owner' });
    first.leave('gone');
    // The same device (same device id) joins again with a new connection.
    const again = join('w1', fakeDirect('sha-256 0C:0C'));
    const turnedAway = await peerWhere(owner, (p) => p.peerId !== ready.peerId && p.state === 'gone');
    expect(turnedAway.reason).toBe('blocked by the owner');
    expect(again.state).not.toBe('ready');
    expect(owner.readyPeers()).toEqual([]);
  });
});

describe('OwnerMesh and WorkerMesh: relay fallback', () => {
  it('no direct link within the timeout: relayed through the server, end to end authenticated, probed, and requests work', async () => {
    const { owner, join } = await room(fakeDirect('sha-256 0A:0A', { direct: false }), { relay: { directTimeoutMs: 200 } });
    const worker = join('w1', fakeDirect('sha-256 0B:0B'));
    worker.handle('test.double', (r) => ({ meta: { doubled: ((r.meta as { x: number }).x ?? 0) * 2 } }));
    const ready = await peerWhere(owner, (p) => p.state === 'ready');
    await workerState(worker, 'ready');
    expect([ready.relayed, worker.relayed]).toEqual([true, true]);
    expect(ready.throughputBytesPerSec).toBeGreaterThan(0); // the probe ran over the relay
    expect(worker.authCode).toBe(ready.authCode);
    const reply = await owner.request(ready.peerId, { method: 'test.double', x: 21 });
    expect(reply.meta).toEqual({ doubled: 42 });
  });

  it('a relayed worker whose page vanishes from the server is dropped at once (the server relays only between members)', async () => {
    const { owner, join } = await room(fakeDirect('sha-256 0A:0A'), { relay: { mode: 'force' } });
    const worker = join('w1', fakeDirect('sha-256 0B:0B'));
    const ready = await peerWhere(owner, (p) => p.state === 'ready');
    const errors: MeshError[] = [];
    owner.on('error', (e) => errors.push(e));
    // The tab is gone without a word on the link: only its server connection closes.
    (worker as unknown as { signaling: { stop(): void } }).signaling.stop();
    const gone = await peerWhere(owner, (p) => p.peerId === ready.peerId && p.state === 'gone');
    expect(gone.reason).toMatch(/left the room \(its link was relayed/);
    expect(errors).toEqual([]);
  });

  it('relay forced: no direct link is tried at all', async () => {
    let directTries = 0;
    const counting: PeerTransportFactory = (o) => (directTries++, fakeDirect('sha-256 0A:0A')(o));
    const { owner, join } = await room(counting, { relay: { mode: 'force' } });
    join('w1', fakeDirect('sha-256 0B:0B'));
    const ready = await peerWhere(owner, (p) => p.state === 'ready');
    expect(ready.relayed).toBe(true);
    expect(directTries).toBe(0);
  });

  it('a relaying worker with the wrong join key never becomes ready', async () => {
    const { owner, join } = await room(fakeDirect('sha-256 0A:0A'), { relay: { mode: 'force' } });
    // The server refuses a wrong join token outright; what the relay's own sealing is for is a
    // peer that got past the server (or the server itself) without the key: right token, wrong key.
    const rightKey = (owner as unknown as { options: { credentials: { joinKey: string } } }).options.credentials.joinKey;
    let reads = 0;
    const impostor = join('w1', fakeDirect('sha-256 0B:0B'), {
      get joinKey() {
        return reads++ === 0 ? rightKey : 'a-guessed-key-0123456789ab';
      },
    });
    const states = new Set<string>();
    owner.on('change', () => owner.peers().forEach((p) => states.add(p.state)));
    const gone = await peerWhere(owner, (p) => p.state === 'gone');
    expect(gone.reason).toMatch(/failed authentication|join key/);
    expect([...states]).not.toContain('ready');
    expect(impostor.state).not.toBe('ready');
  });
});
