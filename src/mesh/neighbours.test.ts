/**
 * Links between two workers of a room (WorkerMesh.connectNeighbour), over a real signaling server
 * with the fake WebRTC of the owner-mesh tests: set up either way round with signals that arrive
 * before their side was told to link, requests both ways with their sender, the join key proved
 * on the link, a silent neighbour declared gone, and signals nobody asked for held only briefly.
 */
import { describe, expect, it } from 'vitest';
import { connect, joinMsg, ofType } from '../../signaling/test/client.ts';
import type { MeshError } from '../errors.ts';
import { MAX_EARLY_PEERS, MAX_EARLY_SIGNALS, type NeighbourEvent, type NeighbourLinks } from './neighbours.ts';
import { joinTokenFor } from './room-credentials.ts';
import { fakeDirect, meshHarness, room, workerState, type FakeDirect } from './test/mesh-harness.ts';
import { wireTensor } from './wire/index.ts';
import type { WorkerMesh, WorkerMeshOptions } from './worker-mesh.ts';

meshHarness();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const linksOf = (worker: WorkerMesh) => (worker as unknown as { neighbourLinks: NeighbourLinks }).neighbourLinks;
const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await sleep(10);
  if (!check()) throw new Error(`never happened: ${what}`);
};

interface Watched {
  name: string;
  worker: WorkerMesh;
  id: string;
  /** Transports its factory made: the owner's link first, then its neighbours'. */
  made: FakeDirect[];
  events: NeighbourEvent[];
  requests: unknown[];
}

/**
 * An owner and two ready workers, sorted by peer id (the lower one makes the offer). A worker's
 * key may change once it is ready (`impostor`), for a worker that got past the owner but holds a
 * wrong key on its neighbour link.
 */
async function twoWorkers(more: Partial<WorkerMeshOptions> = {}) {
  const { owner, join, credentials } = await room(fakeDirect('sha-256 0A:0A'));
  const impostor = new Set<string>();
  const start = (name: string, print: string): Watched => {
    const made: FakeDirect[] = [];
    const key = {
      get joinKey() {
        return impostor.has(name) ? 'a-guessed-key-0123456789ab' : credentials.joinKey;
      },
    };
    const worker = join(name, fakeDirect(print, { made }), key, more);
    const watched: Watched = { name, worker, id: '', made, events: [], requests: [] };
    worker.on('neighbour', (e) => watched.events.push(e));
    worker.on('request', (r) => watched.requests.push(r.meta));
    worker.handle('test.echo', (request, from) => ({ meta: { at: name, from, x: (request.meta as { x: number }).x }, tensors: request.tensors }));
    return watched;
  };
  const a = start('wa', 'sha-256 0B:0B');
  const b = start('wb', 'sha-256 0C:0C');
  await Promise.all([workerState(a.worker, 'ready'), workerState(b.worker, 'ready')]);
  a.id = a.worker.peerId as string;
  b.id = b.worker.peerId as string;
  const [low, high] = a.id < b.id ? [a, b] : [b, a];
  return { owner, credentials, low, high, makeImpostor: (w: Watched) => impostor.add(w === a ? 'wa' : 'wb') };
}

describe('WorkerMesh neighbour links', () => {
  it.each([
    ['the offering side first', 'low'],
    ['the answering side first', 'high'],
  ] as const)('link up with %s, the other side’s signals arriving before it was told; requests go both ways with their sender', async (_, firstSide) => {
    const { owner, low, high } = await twoWorkers();
    const [first, second] = firstSide === 'low' ? [low, high] : [high, low];
    const firstAttempt = first.worker.connectNeighbour(second.id);
    expect(first.worker.connectNeighbour(second.id)).toBe(firstAttempt); // concurrent calls share one attempt
    // The offer reaches the answering side before it is told to link: it is held for it.
    if (first === low) await until(() => linksOf(high.worker).held.signals > 0, 'the offer held');
    else await sleep(50);
    expect(second.worker.neighbours()).toEqual([]);
    await Promise.all([firstAttempt, second.worker.connectNeighbour(first.id)]);
    expect(linksOf(high.worker).held.signals).toBe(0);
    expect(low.worker.neighbours()).toEqual([high.id]);
    expect(high.worker.neighbours()).toEqual([low.id]);
    expect(low.events).toEqual([{ peerId: high.id, state: 'ready' }]);
    expect(high.events).toEqual([{ peerId: low.id, state: 'ready' }]);
    await low.worker.connectNeighbour(high.id); // a ready link: at once

    const ownerBytesBefore = high.worker.linkStats?.bytesReceived ?? 0;
    const halo = wireTensor([64, 256], new Float32Array(64 * 256).fill(1.5));
    const fromLow = await low.worker.neighbourRequest(high.id, { method: 'test.echo', x: 1 }, [halo]);
    const fromHigh = await high.worker.neighbourRequest(low.id, { method: 'test.echo', x: 2 });
    expect(fromLow.meta).toEqual({ at: high.name, from: low.id, x: 1 });
    expect(fromLow.tensors[0]?.shape).toEqual([64, 256]);
    expect((fromHigh.meta as { from: string }).from).toBe(high.id);
    expect(high.requests).toEqual([{ method: 'test.echo', x: 1 }]);
    expect(low.requests).toEqual([{ method: 'test.echo', x: 2 }]);

    // The halo went worker to worker, not through the owner.
    const haloBytes = 64 * 256 * 4;
    expect(high.worker.neighbourStats(low.id)?.bytesReceived).toBeGreaterThan(haloBytes);
    expect(low.worker.neighbourStats(high.id)).toMatchObject({ messagesSent: expect.any(Number) as number });
    expect((high.worker.linkStats?.bytesReceived ?? 0) - ownerBytesBefore).toBeLessThan(haloBytes);
    expect(owner.readyPeers()).toHaveLength(2);

    // The owner's handlers stay the owner's.
    await expect(low.worker.neighbourRequest(high.id, { method: 'mesh.admission', state: 'pending' })).rejects.toMatchObject({ code: 'ERR_REMOTE', detail: 'ERR_UNKNOWN_METHOD' });
    expect(high.worker.state).toBe('ready');

    low.worker.closeNeighbour(high.id);
    expect(low.worker.neighbours()).toEqual([]);
    expect(low.events.at(-1)).toEqual({ peerId: high.id, state: 'gone' });
    await until(() => high.worker.neighbours().length === 0, 'the other side told');
    expect(high.events.at(-1)).toMatchObject({ peerId: low.id, state: 'gone', code: 'ERR_PEER_LEFT' });
    await expect(high.worker.neighbourRequest(low.id, { method: 'test.echo', x: 3 })).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
  });

  it.each(['low', 'high'] as const)('a wrong join key on the %s side fails with ERR_AUTH on both, and nothing passes', async (side) => {
    const { low, high, makeImpostor } = await twoWorkers();
    makeImpostor(side === 'low' ? low : high);
    const results = await Promise.allSettled([low.worker.connectNeighbour(high.id), high.worker.connectNeighbour(low.id)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason as MeshError).toMatchObject({ code: 'ERR_AUTH' });
    expect([low.worker.neighbours(), high.worker.neighbours()]).toEqual([[], []]);
    expect([...low.events, ...high.events]).toEqual([]);
    expect([...low.requests, ...high.requests]).toEqual([]);
    await expect(low.worker.neighbourRequest(high.id, { method: 'test.echo', x: 1 })).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
    // The owner links are untouched.
    expect([low.worker.state, high.worker.state]).toEqual(['ready', 'ready']);
  });

  it('a neighbour that goes silent is declared gone and the requests waiting on it reject', async () => {
    const { low, high } = await twoWorkers({ session: { heartbeatMs: 100, silenceMs: 500 } });
    high.worker.handle('test.hang', () => new Promise(() => {}));
    await Promise.all([low.worker.connectNeighbour(high.id), high.worker.connectNeighbour(low.id)]);
    const pending = low.worker.neighbourRequest(high.id, { method: 'test.hang' });
    await until(() => high.requests.length === 1, 'the request arrived');
    (high.made.at(-1) as FakeDirect).mute(); // its page froze or vanished, without a word
    await expect(pending).rejects.toMatchObject({ code: 'ERR_PEER_SILENT' });
    expect(low.worker.neighbours()).toEqual([]);
    expect(low.events.at(-1)).toMatchObject({ peerId: high.id, state: 'gone', code: 'ERR_PEER_SILENT' });
    expect(low.worker.state).toBe('ready');
  });

  it('the owner link going closes the neighbour links', async () => {
    const { low, high } = await twoWorkers();
    await Promise.all([low.worker.connectNeighbour(high.id), high.worker.connectNeighbour(low.id)]);
    low.worker.leave('done');
    expect(low.worker.neighbours()).toEqual([]);
    await until(() => high.worker.neighbours().length === 0, 'the neighbour told');
    expect(high.events.at(-1)).toMatchObject({ state: 'gone', code: 'ERR_PEER_LEFT' });
  });

  it('one side told alone times out; the other never links, and drops what it held', async () => {
    const { low, high } = await twoWorkers({ neighbourSignalHoldMs: 300 });
    await expect(low.worker.connectNeighbour(high.id, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(high.made).toHaveLength(1); // its owner link only
    await until(() => linksOf(high.worker).held.signals === 0, 'the held offer dropped');
    expect([...low.events, ...high.events]).toEqual([]);
  });

  it('a side that gave up and tries again links with its new offer, not the stale one held for the other', async () => {
    const { low, high } = await twoWorkers();
    await expect(low.worker.connectNeighbour(high.id, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    const retry = low.worker.connectNeighbour(high.id);
    await until(() => low.made.length === 3 && linksOf(high.worker).held.signals > 0, 'the new offer held');
    expect(linksOf(high.worker).held).toEqual({ signals: 1, peers: 1 });
    await Promise.all([retry, high.worker.connectNeighbour(low.id)]);
    expect((await high.worker.neighbourRequest(low.id, { method: 'test.echo', x: 5 })).meta).toMatchObject({ from: high.id, x: 5 });
  });

  it('signals from workers nobody asked about create no link, and what is held stays bounded', async () => {
    const { credentials, low, high } = await twoWorkers({ neighbourSignalHoldMs: 400 });
    const port = Number(new URL((low.worker as unknown as { options: { signalingUrl: string } }).options.signalingUrl).port);
    const joinToken = await joinTokenFor(credentials.joinKey);
    const strangers = await Promise.all(Array.from({ length: MAX_EARLY_PEERS + 2 }, () => connect(port)));
    for (const s of strangers) s.send(joinMsg(credentials.roomId, joinToken));
    await Promise.all(strangers.map((s) => s.next(ofType('welcome'))));
    const candidate = (i: number) => ({ type: 'candidate', candidate: { candidate: `candidate:${i} 1 udp 1 10.0.0.1 9 typ host`, sdpMLineIndex: 0, sdpMid: '0' } });
    // Offers too: an offer from a peer id that sorts above the worker's is not even held.
    for (const s of strangers) {
      s.send({ type: 'signal', to: high.id, data: { type: 'offer', sdp: 'v=0' } });
      for (let i = 0; i < 10; i++) s.send({ type: 'signal', to: high.id, data: candidate(i) });
    }
    await until(() => linksOf(high.worker).held.signals === MAX_EARLY_SIGNALS, 'the buffer full');
    await sleep(100);
    expect(linksOf(high.worker).held.signals).toBe(MAX_EARLY_SIGNALS);
    expect(linksOf(high.worker).held.peers).toBeLessThanOrEqual(MAX_EARLY_PEERS);
    expect(high.made).toHaveLength(1);
    expect(high.worker.neighbours()).toEqual([]);
    expect(high.events).toEqual([]);
    await until(() => linksOf(high.worker).held.signals === 0, 'the held signals dropped');
    for (const s of strangers) s.ws.terminate();
    expect(low.worker.state).toBe('ready');
  });
});
