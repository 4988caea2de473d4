/**
 * The owner's and workers' meshes over a real signaling server, with in-memory stand-ins for
 * WebRTC that announce fake DTLS fingerprints: the channel-bound join (a swapped SDP is caught),
 * blocking, and the relay through the server when no direct link comes up.
 */
import type { SignalData } from 'simple-peer';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import type { MeshError } from '../errors.ts';
import type { ChannelBinding } from './channel-auth.ts';
import type { DeviceInfo } from './control.ts';
import { OwnerMesh, type PeerView } from './owner-mesh.ts';
import type { PeerTransport, PeerTransportFactory } from './peer-transport.ts';
import { newRoomCredentials } from './room-credentials.ts';
import type { WebSocketLike } from './signaling-client.ts';
import { memoryTransportPair, type FrameTransport } from './transport.ts';
import { WorkerMesh, type WorkerState } from './worker-mesh.ts';

const createSocket = (url: string) => new WebSocket(url) as unknown as WebSocketLike;
const device = (name: string): DeviceInfo => ({ deviceId: `id-${name}-0000`, name, backends: ['wasm'], cores: 4, memoryGb: 4, userAgent: 'test' });
const SMALL_PROBE = { sizesBytes: [64 * 1024, 256 * 1024] };

/** Offers waiting for their answer, by connection id. */
const offers = new Map<string, FakeDirect>();
let nextId = 0;

/**
 * A WebRTC stand-in: the "SDP" carries a connection id and a fingerprint; the answer joins the
 * two ends with an in-memory pair. `seesRemoteAs` makes this end read another fingerprint for the
 * other side than the one it announced, as when a server swapped the SDP on the way.
 */
class FakeDirect implements PeerTransport {
  readonly relayed = false;
  readonly connected: Promise<void>;
  private inner: FrameTransport | null = null;
  private remotePrint: string | null = null;
  private opened!: () => void;
  private closed = false;

  constructor(
    private readonly initiator: boolean,
    private readonly print: string,
    private readonly onSignal: (data: SignalData) => void,
    private readonly seesRemoteAs: string | null,
  ) {
    this.connected = new Promise((resolve) => (this.opened = resolve));
    if (initiator) {
      const id = String(nextId++);
      offers.set(id, this);
      setTimeout(() => this.onSignal({ type: 'offer', sdp: `${id} ${print}` }), 0);
    }
  }

  signal(data: SignalData): void {
    const sdp = (data as { sdp?: string }).sdp ?? '';
    const id = sdp.slice(0, sdp.indexOf(' '));
    const print = sdp.slice(sdp.indexOf(' ') + 1);
    this.remotePrint = this.seesRemoteAs ?? print;
    if (data.type === 'offer' && !this.initiator) {
      const offerer = offers.get(id);
      if (!offerer) return;
      offers.delete(id);
      // Both ends open together (memory transports drop frames nobody listens for yet; a real
      // data channel's early frames are kept by RtcTransport).
      const [a, b] = memoryTransportPair();
      offerer.inner = a;
      offerer.remotePrint = offerer.seesRemoteAs ?? this.print;
      this.inner = b;
      this.onSignal({ type: 'answer', sdp: `${id} ${this.print}` });
      offerer.opened();
      this.opened();
    }
  }

  channelBinding(): ChannelBinding | null {
    return this.remotePrint ? { local: this.print, remote: this.remotePrint } : null;
  }
  get bufferedAmount() {
    return this.inner?.bufferedAmount ?? 0;
  }
  get isOpen() {
    return !this.closed && !!this.inner?.isOpen;
  }
  get onFrame() {
    return this.inner?.onFrame ?? null;
  }
  set onFrame(handler: ((frame: Uint8Array) => void) | null) {
    if (this.inner) this.inner.onFrame = handler;
  }
  get onClose() {
    return this.inner?.onClose ?? null;
  }
  set onClose(handler: ((error: MeshError | null) => void) | null) {
    if (this.inner) this.inner.onClose = handler;
  }
  send(frame: Uint8Array) {
    (this.inner as FrameTransport).send(frame);
  }
  waitForDrain(low: number, timeoutMs: number) {
    return (this.inner as FrameTransport).waitForDrain(low, timeoutMs);
  }
  close() {
    this.closed = true;
    this.inner?.close();
  }
}

/** Direct links with fake fingerprints; `direct: false` gives links that never come up. */
function fakeDirect(print: string, opts: { direct?: boolean; seesRemoteAs?: string } = {}): PeerTransportFactory {
  return ({ initiator, onSignal }) => {
    if (opts.direct === false) return { ...new FakeDirect(false, print, () => {}, null), connected: new Promise<void>(() => {}), signal() {}, close() {}, channelBinding: () => null, relayed: false } as unknown as PeerTransport;
    return new FakeDirect(initiator, print, onSignal, opts.seesRemoteAs ?? null);
  };
}

let server: SignalingServer | null = null;
const meshes: { close?: () => void; leave?: () => void }[] = [];

afterEach(async () => {
  for (const m of meshes.splice(0)) (m.close ?? m.leave)?.call(m);
  await server?.close();
  server = null;
  offers.clear();
});

async function room(ownerFactory: PeerTransportFactory, ownerOptions: Partial<ConstructorParameters<typeof OwnerMesh>[0]> = {}) {
  server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  const signalingUrl = `ws://127.0.0.1:${server.port}/signal`;
  const credentials = newRoomCredentials();
  const owner = new OwnerMesh({ credentials, signalingUrl, createSocket, createTransport: ownerFactory, local: device('owner'), pageUrl: 'http://127.0.0.1/', probe: SMALL_PROBE, ...ownerOptions });
  meshes.push(owner);
  await owner.start();
  /** `key` may hand out a different join key on later reads (an impostor past the server's check). */
  const join = (name: string, factory: PeerTransportFactory, key: { joinKey: string } = credentials) => {
    const options = { roomId: credentials.roomId, signalingUrl, createSocket, createTransport: factory, local: device(name) };
    const worker = new WorkerMesh(Object.defineProperty(options, 'joinKey', { get: () => key.joinKey, enumerable: true }) as typeof options & { joinKey: string });
    meshes.push(worker);
    void worker.start();
    return worker;
  };
  return { owner, join };
}

function peerWhere(owner: OwnerMesh, predicate: (p: PeerView) => boolean): Promise<PeerView> {
  return new Promise((resolve) => {
    const check = () => {
      const found = owner.peers().find(predicate);
      if (found) {
        off();
        resolve(found);
      }
    };
    const off = owner.on('change', check);
    check();
  });
}
const workerState = (worker: WorkerMesh, state: WorkerState) =>
  new Promise<void>((resolve) => {
    if (worker.state === state) return resolve();
    const off = worker.on('state', (s) => s === state && (off(), resolve()));
  });

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
