/**
 * The owner's side of the star: hosts the room, opens a link to every worker that joins (WebRTC,
 * or relayed through the server when no direct link comes up), runs the channel-bound handshake
 * and the throughput probe, keeps each link's health, and offers requests to ready workers. A
 * misbehaving or vanished worker costs only its own link.
 */
import type { SignalData } from 'simple-peer';
import { MeshError } from '../errors.ts';
import { ADMISSION_METHOD, type DeviceInfo } from './control.ts';
import { Emitter } from './emitter.ts';
import { FallbackTransport } from './fallback-transport.ts';
import { MessageLink, type LinkStats, type RequestOptions } from './link.ts';
import { probeThroughput, type ProbeOptions } from './probe.ts';
import { joinLink, joinTokenFor, ownerTokenFor, type RoomCredentials } from './room-credentials.ts';
import { PeerSession } from './session.ts';
import { SignalingClient, type SignalingState, type Welcome } from './signaling-client.ts';
import { DEFAULT_RELAY_OPTIONS, type MeshEndpointOptions, type PeerTransport } from './peer-transport.ts';
import { RelayTransport } from './relay-transport.ts';
import type { IncomingMessage, WireTensor } from './wire/index.ts';

export type PeerState = 'connecting' | 'handshake' | 'pending' | 'probing' | 'ready' | 'gone';

/** What the owner knows about one worker (a snapshot; see `OwnerMesh.peers()`). */
export interface PeerView {
  /** The worker's id in the room (changes when it reconnects). */
  peerId: string;
  state: PeerState;
  device: DeviceInfo | null;
  /** Smoothed round-trip time in ms. */
  rttMs: number | null;
  /** The worker's clock minus the owner's (performance.now()), ms, from the heartbeats. */
  clockOffsetMs: number | null;
  /** Measured owner→worker throughput in bytes per second. */
  throughputBytesPerSec: number | null;
  stats: LinkStats;
  /** Why the worker is gone, for the peer list. */
  reason: string | null;
  /** The short authentication code both screens show, once the channel proofs checked out. */
  authCode: string | null;
  /** Whether its frames go through the signaling server (no direct link could be made). */
  relayed: boolean;
}

export interface OwnerMeshOptions extends MeshEndpointOptions {
  credentials: RoomCredentials;
  /** The page's own URL, used for the join link when the server knows no LAN URL. */
  pageUrl: string;
  /** Throughput probe settings; false skips it (measurements of a cold channel). */
  probe?: Partial<ProbeOptions> | false;
  /** How long a gone worker stays in the list (with its reason). Default 30 s. */
  keepGoneMs?: number;
  /**
   * Whether a joining device is let in without the owner's say (default true). When false, a new
   * device waits in state 'pending' until `approve` or `refuse`; a device approved once is let in
   * again after a reconnect, a refused (or blocked) one is turned away for the life of this mesh.
   * Either way a device is admitted only after it has proved the join key on its connection.
   */
  autoApprove?: boolean;
}

type OwnerEvents = {
  /** Anything in `peers()` changed. */
  change: void;
  /** A device finished its hello and waits for the owner's approval (automatic approval off). */
  'peer-pending': PeerView;
  'peer-ready': PeerView;
  'peer-gone': PeerView;
  signaling: SignalingState;
  /** Server-side problems (e.g. the room was taken); shown to the user. */
  error: MeshError;
};

interface Entry {
  view: PeerView;
  transport: PeerTransport;
  session: PeerSession | null;
  /** Why the owner is removing it: the link's own close must not overwrite this. */
  removedFor?: MeshError;
}

/** Failures worth another attempt while the worker is still in the room (not lies or garbage). */
const RETRYABLE: ReadonlySet<string> = new Set(['ERR_CONNECTION', 'ERR_PEER_SILENT', 'ERR_TIMEOUT']);
const MAX_ATTEMPTS = 4;
const RETRY_BASE_MS = 1_000;

export class OwnerMesh extends Emitter<OwnerEvents> {
  private readonly entries = new Map<string, Entry>();
  /** Workers the server says are in the room now. */
  private readonly inRoom = new Set<string>();
  /** Connection attempts per worker since it was last ready. */
  private readonly attempts = new Map<string, number>();
  private signaling: SignalingClient | null = null;
  private welcome: Welcome | null = null;
  private closed = false;
  private autoApprove: boolean;
  /** Device ids (not peer ids, which change on reconnect) the owner let in or turned away. */
  private readonly approvedDevices = new Set<string>();
  /** Turned-away device ids, with the reason they are told again when they come back. */
  private readonly refusedDevices = new Map<string, string>();

  constructor(private readonly options: OwnerMeshOptions) {
    super();
    this.autoApprove = options.autoApprove ?? true;
  }

  get autoApproving(): boolean {
    return this.autoApprove;
  }

  /** Turning automatic approval on lets every pending device in now. */
  setAutoApprove(on: boolean): void {
    this.autoApprove = on;
    if (on) for (const [peerId, entry] of this.entries) if (entry.view.state === 'pending') this.approve(peerId);
  }

  /** Lets a pending device in (and again whenever it reconnects). */
  approve(peerId: string): void {
    const entry = this.entries.get(peerId);
    const deviceId = entry?.view.device?.deviceId;
    if (!entry || !deviceId) return;
    this.approvedDevices.add(deviceId);
    if (entry.view.state === 'pending') void this.admit(peerId, entry);
  }

  /** Turns a pending device away and keeps it out while this page lives. */
  refuse(peerId: string): void {
    this.turnAway(peerId, 'refused by the owner');
  }

  /** Disconnects a device (admitted or not) and keeps it out while this page lives. */
  block(peerId: string, reason = 'blocked by the owner'): void {
    this.turnAway(peerId, reason);
  }

  private turnAway(peerId: string, reason: string): void {
    const deviceId = this.entries.get(peerId)?.view.device?.deviceId;
    if (deviceId) {
      this.refusedDevices.set(deviceId, reason);
      this.approvedDevices.delete(deviceId);
    }
    this.remove(peerId, reason);
  }

  async start(): Promise<void> {
    const { credentials } = this.options;
    const [joinToken, ownerToken] = await Promise.all([joinTokenFor(credentials.joinKey), ownerTokenFor(credentials.ownerSecret)]);
    if (this.closed) return;
    const signaling = new SignalingClient(
      this.options.signalingUrl,
      { type: 'host', roomId: credentials.roomId, joinToken, ownerToken },
      { createSocket: this.options.createSocket },
    );
    this.signaling = signaling;
    signaling.on('state', (state) => this.emit('signaling', state));
    signaling.on('error', (err) => {
      // A signal or relayed frame that crossed a worker's departure: the link's own close tells.
      if (err.detail !== 'ERR_UNKNOWN_PEER') this.emit('error', err);
    });
    signaling.on('welcome', (welcome) => {
      this.welcome = welcome;
      this.inRoom.clear();
      for (const workerId of welcome.workers) {
        this.inRoom.add(workerId);
        this.connect(workerId);
      }
      this.emit('change', undefined);
    });
    signaling.on('peer-joined', ({ peerId, role }) => {
      if (role !== 'worker') return;
      this.inRoom.add(peerId);
      this.connect(peerId);
    });
    signaling.on('peer-left', ({ peerId }) => {
      this.inRoom.delete(peerId);
      // A worker that left signaling before its link was up will not answer: give up on it. So
      // is a relayed one: the server relays only between members. A direct link that is ready is
      // judged by its own heartbeat (it may outlive a signaling hiccup).
      const entry = this.entries.get(peerId);
      if (entry?.transport.relayed) this.drop(peerId, new MeshError('ERR_PEER_LEFT', 'left the room (its link was relayed through the server)'));
      else if (entry && entry.view.state !== 'ready') this.drop(peerId, new MeshError('ERR_PEER_LEFT', 'left the room while connecting'));
    });
    signaling.on('signal', ({ from, data }) => this.entries.get(from)?.transport.signal(data as unknown as SignalData));
    signaling.start();
  }

  /** The link workers open (and the QR code shows): the server's LAN HTTPS URL when it has one. */
  joinUrl(): string {
    const base = this.welcome?.lanUrls[0] ?? this.options.pageUrl;
    return joinLink(base, this.options.credentials.roomId, this.options.credentials.joinKey);
  }

  /** Snapshot of every worker, ready or not, in join order. */
  peers(): PeerView[] {
    return [...this.entries.values()].map((e) => ({ ...e.view, stats: { ...e.view.stats } }));
  }

  readyPeers(): PeerView[] {
    return this.peers().filter((p) => p.state === 'ready');
  }

  /** Sends a request to a ready worker and waits for its response. */
  request(peerId: string, meta: unknown, tensors: readonly WireTensor[] = [], options: RequestOptions = {}): Promise<IncomingMessage> {
    const entry = this.entries.get(peerId);
    if (!entry?.session || entry.view.state !== 'ready') {
      return Promise.reject(new MeshError('ERR_DESTROYED', `worker ${peerId} is not ready`));
    }
    return entry.session.link.request(meta, tensors, options);
  }

  /** Disconnects a worker (it may join again). */
  remove(peerId: string, reason = 'removed by the owner'): void {
    const entry = this.entries.get(peerId);
    if (!entry) return;
    this.inRoom.delete(peerId); // no automatic reconnect
    entry.removedFor = new MeshError('ERR_PEER_LEFT', reason);
    entry.session?.leave(reason);
    this.drop(peerId, entry.removedFor);
  }

  /** Tells every worker goodbye and leaves the room (page closing). */
  close(reason = 'the owner closed the room'): void {
    if (this.closed) return;
    this.closed = true;
    for (const [peerId, entry] of this.entries) {
      entry.session?.leave(reason);
      entry.transport.close();
      this.entries.delete(peerId);
    }
    this.signaling?.stop();
    this.emit('change', undefined);
  }

  private connect(peerId: string): void {
    // Connections start from signaling events, so there is a server connection; a retry timer
    // must not throw if there were none.
    const signaling = this.signaling;
    if (!signaling) return;
    const current = this.entries.get(peerId);
    if (this.closed || (current && current.view.state !== 'gone')) return;
    this.attempts.set(peerId, (this.attempts.get(peerId) ?? 0) + 1);
    const onSignal = (data: SignalData) => signaling.sendSignal(peerId, data);
    const transport = new FallbackTransport({
      ...DEFAULT_RELAY_OPTIONS,
      ...this.options.relay,
      initiator: true,
      createDirect: () => this.options.createTransport({ initiator: true, iceServers: this.welcome?.iceServers ?? [], onSignal }),
      createRelay: () => new RelayTransport({ initiator: true, joinKey: this.options.credentials.joinKey, port: signaling.relayPort(peerId), onSignal }),
    });
    const entry: Entry = {
      transport,
      session: null,
      view: {
        peerId,
        state: 'connecting',
        device: null,
        rttMs: null,
        clockOffsetMs: null,
        throughputBytesPerSec: null,
        stats: { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 },
        reason: null,
        authCode: null,
        relayed: false,
      },
    };
    this.entries.set(peerId, entry);
    this.emit('change', undefined);
    transport.connected.then(
      () => this.onConnected(peerId, entry),
      (err: MeshError) => this.drop(peerId, err, entry),
    );
  }

  private onConnected(peerId: string, entry: Entry): void {
    if (this.entries.get(peerId) !== entry) return;
    const link = new MessageLink(entry.transport, this.options.link);
    const auth = { joinKey: this.options.credentials.joinKey, binding: entry.transport.channelBinding() };
    const session = new PeerSession(link, 'owner', this.options.local, auth, this.options.session);
    entry.session = session;
    entry.view.stats = link.stats; // live counters
    entry.view.state = 'handshake';
    entry.view.relayed = entry.transport.relayed;
    this.emit('change', undefined);
    session.on('rtt', () => {
      entry.view.rttMs = session.rttMs;
      entry.view.clockOffsetMs = session.clockOffsetMs;
      this.emit('change', undefined);
    });
    session.on('close', (reason) => this.drop(peerId, entry.removedFor ?? reason ?? new MeshError('ERR_PEER_LEFT', 'the link closed'), entry));
    // A star session always carries the worker's device (its proof's schema requires one).
    session.on('ready', (device) => device && this.onReady(peerId, entry, device));
  }

  private onReady(peerId: string, entry: Entry, device: DeviceInfo): void {
    entry.view.device = device;
    entry.view.authCode = (entry.session as PeerSession).authCode;
    const turnedAway = this.refusedDevices.get(device.deviceId);
    if (turnedAway) {
      this.remove(peerId, turnedAway);
      return;
    }
    // The same device again (it reconnected with a new room id): the newest link wins.
    for (const [otherId, other] of this.entries) {
      if (otherId !== peerId && other.view.device?.deviceId === device.deviceId) {
        other.session?.leave('replaced by a newer connection');
        this.drop(otherId, new MeshError('ERR_PEER_LEFT', 'replaced by a newer connection from the same device'), other);
      }
    }
    if (this.autoApprove || this.approvedDevices.has(device.deviceId)) {
      void this.admit(peerId, entry);
      return;
    }
    entry.view.state = 'pending';
    this.emit('change', undefined);
    this.emit('peer-pending', { ...entry.view });
    this.tellAdmission(entry, 'pending');
  }

  /** Tells the worker's page whether it waits for the owner (best effort: an old worker ignores it). */
  private tellAdmission(entry: Entry, state: 'pending' | 'approved'): void {
    entry.session?.link.request({ method: ADMISSION_METHOD, state }).catch(() => {});
  }

  /** Measures the link, then lets the worker take tasks. */
  private async admit(peerId: string, entry: Entry): Promise<void> {
    if (entry.view.state === 'pending') this.tellAdmission(entry, 'approved');
    entry.view.state = 'probing';
    this.emit('change', undefined);
    try {
      if (this.options.probe !== false) {
        const probe = await probeThroughput((entry.session as PeerSession).link, this.options.probe);
        entry.view.throughputBytesPerSec = probe.bytesPerSec;
      }
    } catch (err) {
      if (this.entries.get(peerId) !== entry) return; // dropped meanwhile; already reported
      this.drop(peerId, err instanceof MeshError ? err : new MeshError('ERR_PROTOCOL', `throughput probe failed: ${(err as Error).message}`), entry);
      return;
    }
    if (this.entries.get(peerId) !== entry || entry.view.state !== 'probing') return;
    entry.view.state = 'ready';
    this.attempts.delete(peerId);
    this.emit('change', undefined);
    this.emit('peer-ready', { ...entry.view });
  }

  private drop(peerId: string, reason: MeshError, only?: Entry): void {
    const entry = this.entries.get(peerId);
    if (!entry || (only && entry !== only) || entry.view.state === 'gone') return;
    entry.view.state = 'gone';
    entry.view.reason = reason.message.replace(/^modnn-web: /, '');
    entry.session?.drop(reason);
    entry.transport.close();
    this.emit('peer-gone', { ...entry.view });
    this.emit('change', undefined);
    const attempts = this.attempts.get(peerId) ?? 0;
    if (RETRYABLE.has(reason.code) && this.inRoom.has(peerId) && attempts < MAX_ATTEMPTS) {
      // Still in the room: try again, backing off (a phone that hung may recover).
      setTimeout(() => {
        if (this.entries.get(peerId) === entry && this.inRoom.has(peerId)) this.connect(peerId);
      }, RETRY_BASE_MS * 2 ** (attempts - 1));
    }
    // Keep the gone worker visible for a while, with its reason, then forget it.
    setTimeout(() => {
      if (this.entries.get(peerId) === entry) {
        this.entries.delete(peerId);
        this.attempts.delete(peerId);
        this.emit('change', undefined);
      }
    }, this.options.keepGoneMs ?? 30_000);
  }
}
