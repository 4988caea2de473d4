/**
 * Meshes over a real signaling server for tests, with in-memory stand-ins for WebRTC that announce
 * fake DTLS fingerprints. Call `meshHarness()` once at a test file's top level.
 */
import type { SignalData } from 'simple-peer';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';
import type { MeshError } from '../../errors.ts';
import type { ChannelBinding } from '../channel-auth.ts';
import type { DeviceInfo } from '../control.ts';
import { OwnerMesh, type PeerView } from '../owner-mesh.ts';
import type { PeerTransport, PeerTransportFactory } from '../peer-transport.ts';
import { newRoomCredentials } from '../room-credentials.ts';
import type { WebSocketLike } from '../signaling-client.ts';
import { memoryTransportPair, type FrameTransport } from '../transport.ts';
import { WorkerMesh, type WorkerMeshOptions, type WorkerState } from '../worker-mesh.ts';

export const createSocket = (url: string) => new WebSocket(url) as unknown as WebSocketLike;
export const device = (name: string): DeviceInfo => ({ deviceId: `id-${name}-0000`, name, backends: ['wasm'], cores: 4, memoryGb: 4, userAgent: 'test' });
const SMALL_PROBE = { sizesBytes: [64 * 1024, 256 * 1024] };

/** Offers waiting for their answer, by connection id. */
const offers = new Map<string, FakeDirect>();
let nextId = 0;

/**
 * A WebRTC stand-in: the "SDP" carries a connection id and a fingerprint; the answer joins the
 * two ends with an in-memory pair. `seesRemoteAs` makes this end read another fingerprint for the
 * other side than the one it announced, as when a server swapped the SDP on the way.
 */
export class FakeDirect implements PeerTransport {
  readonly relayed = false;
  /** Frames sent from this end after `mute()` are lost, as when a device vanishes without a word. */
  muted = false;
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
    if (!this.muted) (this.inner as FrameTransport).send(frame);
  }
  mute() {
    this.muted = true;
  }
  waitForDrain(low: number, timeoutMs: number) {
    return (this.inner as FrameTransport).waitForDrain(low, timeoutMs);
  }
  close() {
    this.closed = true;
    this.inner?.close();
  }
}

/**
 * Direct links with fake fingerprints; `direct: false` gives links that never come up. Each
 * transport made is pushed on `made` when given.
 */
export function fakeDirect(print: string, opts: { direct?: boolean; seesRemoteAs?: string; made?: FakeDirect[] } = {}): PeerTransportFactory {
  return ({ initiator, onSignal }) => {
    if (opts.direct === false) return { ...new FakeDirect(false, print, () => {}, null), connected: new Promise<void>(() => {}), signal() {}, close() {}, channelBinding: () => null, relayed: false } as unknown as PeerTransport;
    const transport = new FakeDirect(initiator, print, onSignal, opts.seesRemoteAs ?? null);
    opts.made?.push(transport);
    return transport;
  };
}

let server: SignalingServer | null = null;
const meshes: { close?: () => void; leave?: () => void }[] = [];

/** Call once at a test file's top level: closes the meshes and the server after each test. */
export function meshHarness(): void {
  afterEach(async () => {
    for (const m of meshes.splice(0)) (m.close ?? m.leave)?.call(m);
    await server?.close();
    server = null;
    offers.clear();
  });
}

/** A real signaling server and an owner hosting a room on it; `join` adds workers. */
export async function room(ownerFactory: PeerTransportFactory, ownerOptions: Partial<ConstructorParameters<typeof OwnerMesh>[0]> = {}) {
  server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  const signalingUrl = `ws://127.0.0.1:${server.port}/signal`;
  const credentials = newRoomCredentials();
  const owner = new OwnerMesh({ credentials, signalingUrl, createSocket, createTransport: ownerFactory, local: device('owner'), pageUrl: 'http://127.0.0.1/', probe: SMALL_PROBE, ...ownerOptions });
  meshes.push(owner);
  await owner.start();
  /** `key` may hand out a different join key on later reads (an impostor past the server's check). */
  const join = (name: string, factory: PeerTransportFactory, key: { joinKey: string } = credentials, more: Partial<WorkerMeshOptions> = {}) => {
    const options = { roomId: credentials.roomId, signalingUrl, createSocket, createTransport: factory, local: device(name), ...more };
    const worker = new WorkerMesh(Object.defineProperty(options, 'joinKey', { get: () => key.joinKey, enumerable: true }) as typeof options & { joinKey: string });
    meshes.push(worker);
    void worker.start();
    return worker;
  };
  return { owner, join, credentials, port: server.port };
}

export function peerWhere(owner: OwnerMesh, predicate: (p: PeerView) => boolean): Promise<PeerView> {
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
export const workerState = (worker: WorkerMesh, state: WorkerState) =>
  new Promise<void>((resolve) => {
    if (worker.state === state) return resolve();
    const off = worker.on('state', (s) => s === state && (off(), resolve()));
  });
