/**
 * A worker's direct links to other workers of its room ("neighbours"), so that workers holding
 * adjacent strips swap their halo rows without a detour through the owner.
 *
 * - Only ever to a peer this side was told to link with: a signal from any other worker is held
 *   a short while (bounded) in case this side is told a moment later, and otherwise dropped.
 * - The side whose peer id sorts lower makes the WebRTC offer and takes the owner's role in the
 *   handshake; an offer from the other side is not a neighbour's and is ignored.
 * - Direct WebRTC only: a neighbour link that cannot come up is the runtime's cue to route the
 *   halos another way, which costs less than a relay through the server would.
 * - The join key is proved on each link, bound to its DTLS fingerprints, as on the owner's links
 *   (session.ts, scope 'neighbour'); nothing else passes before both proofs checked out.
 */
import type { SignalData } from 'simple-peer';
import { MeshError, type MeshErrorCode } from '../errors.ts';
import type { DeviceInfo } from './control.ts';
import { MessageLink, type LinkOptions, type LinkStats, type Reply, type RequestOptions } from './link.ts';
import type { PeerTransport, PeerTransportFactory } from './peer-transport.ts';
import { isRelaySignal } from './relay-transport.ts';
import { PeerSession, type SessionOptions } from './session.ts';
import type { IncomingMessage, WireTensor } from './wire/index.ts';

/** How long connectNeighbour waits for an authenticated link, and a held signal for its connectNeighbour. */
export const DEFAULT_NEIGHBOUR_TIMEOUT_MS = 10_000;
/** Signals held for peers this side has not been told about yet, all peers together… */
export const MAX_EARLY_SIGNALS = 64;
/** …from at most this many peers. */
export const MAX_EARLY_PEERS = 8;

export interface NeighbourEvent {
  peerId: string;
  state: 'ready' | 'gone';
  /** Why a link went (absent when this side closed it). */
  reason?: string;
  code?: MeshErrorCode;
}

/** What the links need from the worker that holds them. */
export interface NeighbourHost {
  /** This side's peer id in the room; null while it has none. */
  selfId(): string | null;
  joinKey(): string;
  /** The ICE servers the signaling server handed out (none on a LAN): never public STUN. */
  iceServers(): RTCIceServer[];
  createTransport: PeerTransportFactory;
  sendSignal(to: string, data: SignalData): void;
  /** A neighbour's request, once its link is authenticated. */
  answer(request: IncomingMessage, from: string): Promise<Reply>;
  onEvent(event: NeighbourEvent): void;
  local: DeviceInfo;
  link?: Partial<LinkOptions>;
  session?: Partial<SessionOptions>;
  /** How long signals from a peer not asked for are held. Default DEFAULT_NEIGHBOUR_TIMEOUT_MS, the other side's patience. */
  heldForMs?: number;
}

interface Neighbour {
  peerId: string;
  initiator: boolean;
  transport: PeerTransport | null;
  session: PeerSession | null;
  ready: boolean;
  /** Answerer: the current transport has taken an offer (a second one means the initiator started over). */
  tookOffer: boolean;
  attempt: Promise<void>;
  settle: (error: MeshError | null) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Held {
  signals: SignalData[];
  timer: ReturnType<typeof setTimeout>;
}

export class NeighbourLinks {
  private readonly links = new Map<string, Neighbour>();
  private readonly heldFrom = new Map<string, Held>();
  private heldCount = 0;

  constructor(private readonly host: NeighbourHost) {}

  /** See WorkerMesh.connectNeighbour. */
  connect(peerId: string, timeoutMs = DEFAULT_NEIGHBOUR_TIMEOUT_MS): Promise<void> {
    const existing = this.links.get(peerId);
    if (existing) return existing.attempt;
    const self = this.host.selfId();
    if (!self) return Promise.reject(new MeshError('ERR_SIGNALING', 'not in a room: no neighbour can be reached'));
    if (peerId === self) return Promise.reject(new MeshError('ERR_PROTOCOL', 'a worker cannot be its own neighbour'));
    let settle!: (error: MeshError | null) => void;
    const attempt = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    attempt.catch(() => {}); // shared by every caller; each of them sees the rejection
    const timer = setTimeout(() => {
      const entry = this.links.get(peerId);
      if (entry && !entry.ready) this.end(entry, new MeshError('ERR_TIMEOUT', `no authenticated link to neighbour ${peerId} within ${timeoutMs} ms`));
    }, timeoutMs);
    const entry: Neighbour = { peerId, initiator: self < peerId, transport: null, session: null, ready: false, tookOffer: false, attempt, settle, timer };
    this.links.set(peerId, entry);
    this.openTransport(entry);
    const held = this.heldFrom.get(peerId);
    if (held) {
      this.release(peerId);
      for (const signal of held.signals) this.onSignal(peerId, signal);
    }
    return attempt;
  }

  request(peerId: string, meta: unknown, tensors: readonly WireTensor[] = [], options: RequestOptions = {}): Promise<IncomingMessage> {
    const entry = this.links.get(peerId);
    if (!entry?.ready || !entry.session) return Promise.reject(new MeshError('ERR_CONNECTION', `no ready link to neighbour ${peerId}`));
    return entry.session.link.request(meta, tensors, options);
  }

  ready(): string[] {
    return [...this.links.values()].filter((n) => n.ready).map((n) => n.peerId);
  }

  stats(peerId: string): LinkStats | null {
    const entry = this.links.get(peerId);
    return entry?.ready && entry.session ? { ...entry.session.link.stats } : null;
  }

  /** Signals held for peers not (yet) asked for, and how many peers sent them. */
  get held(): { signals: number; peers: number } {
    return { signals: this.heldCount, peers: this.heldFrom.size };
  }

  /** Closes one link (or all), telling the neighbour; an attempt still under way rejects. */
  close(peerId?: string, reason = 'closed by this worker'): void {
    const entries = peerId === undefined ? [...this.links.values()] : [this.links.get(peerId)].filter((n) => n !== undefined);
    for (const entry of entries) this.end(entry, new MeshError('ERR_DESTROYED', `the link to neighbour ${entry.peerId} was closed: ${reason}`), reason);
    if (peerId === undefined) for (const id of [...this.heldFrom.keys()]) this.release(id);
    else this.release(peerId);
  }

  /**
   * The peer left the room: what was held for it is stale, and a link still coming up cannot
   * (its signals have nowhere to go). A ready link stays: its own heartbeat decides.
   */
  forget(peerId: string): void {
    this.release(peerId);
    const entry = this.links.get(peerId);
    if (entry && !entry.ready) this.end(entry, new MeshError('ERR_PEER_LEFT', `neighbour ${peerId} left the room before the link was up`));
  }

  /** A signal from a room member other than the owner. */
  onSignal(from: string, data: SignalData): void {
    if (isRelaySignal(data)) return;
    const self = this.host.selfId();
    if (data.type === 'offer' && !(self !== null && from < self)) return;
    let entry = this.links.get(from);
    if (entry && data.type === 'offer') {
      if (entry.ready) {
        // The neighbour gave the link up (reloaded, timed out) and starts over: so does this
        // side, once it is told to link again.
        this.end(entry, new MeshError('ERR_PEER_LEFT', `neighbour ${from} opened a new connection`));
        entry = undefined;
      } else if (entry.tookOffer) {
        this.openTransport(entry); // the initiator retried within this attempt's time
      }
    }
    if (!entry) return this.hold(from, data);
    if (data.type === 'offer') entry.tookOffer = true;
    entry.transport?.signal(data);
  }

  private hold(from: string, data: SignalData): void {
    let held = this.heldFrom.get(from);
    // A new offer makes what came with an earlier one useless.
    if (held && data.type === 'offer') {
      this.release(from);
      held = undefined;
    }
    if (this.heldCount >= MAX_EARLY_SIGNALS) return;
    if (!held) {
      if (this.heldFrom.size >= MAX_EARLY_PEERS) return;
      held = { signals: [], timer: setTimeout(() => this.release(from), this.host.heldForMs ?? DEFAULT_NEIGHBOUR_TIMEOUT_MS) };
      this.heldFrom.set(from, held);
    }
    held.signals.push(data);
    this.heldCount++;
  }

  private release(peerId: string): void {
    const held = this.heldFrom.get(peerId);
    if (!held) return;
    clearTimeout(held.timer);
    this.heldFrom.delete(peerId);
    this.heldCount -= held.signals.length;
  }

  private openTransport(entry: Neighbour): void {
    const stale = entry.session;
    entry.session = null;
    stale?.drop(new MeshError('ERR_CONNECTION', `neighbour ${entry.peerId} started its connection over`));
    entry.transport?.close();
    const transport = this.host.createTransport({
      initiator: entry.initiator,
      iceServers: this.host.iceServers(),
      onSignal: (data) => {
        if (entry.transport === transport && this.links.get(entry.peerId) === entry) this.host.sendSignal(entry.peerId, data);
      },
    });
    entry.transport = transport;
    entry.tookOffer = false;
    transport.connected.then(
      () => this.onConnected(entry, transport),
      (err: unknown) => {
        if (entry.transport === transport) this.end(entry, err instanceof MeshError ? err : new MeshError('ERR_CONNECTION', `no direct link to neighbour ${entry.peerId}`));
      },
    );
  }

  private onConnected(entry: Neighbour, transport: PeerTransport): void {
    if (entry.transport !== transport || this.links.get(entry.peerId) !== entry) return;
    const link = new MessageLink(transport, this.host.link);
    const auth = { joinKey: this.host.joinKey(), binding: transport.channelBinding(), scope: 'neighbour' as const };
    const session = new PeerSession(link, entry.initiator ? 'owner' : 'worker', this.host.local, auth, this.host.session);
    entry.session = session;
    session.serve((request) => this.host.answer(request, entry.peerId));
    session.on('ready', () => {
      if (this.links.get(entry.peerId) !== entry || entry.session !== session) return;
      entry.ready = true;
      clearTimeout(entry.timer);
      entry.settle(null);
      this.host.onEvent({ peerId: entry.peerId, state: 'ready' });
    });
    session.on('close', (reason) => {
      if (entry.session === session) this.end(entry, reason ?? new MeshError('ERR_PEER_LEFT', `neighbour ${entry.peerId} closed the link`));
    });
  }

  /** `leaving`: this side closes on purpose and says so (the reason the neighbour is told). */
  private end(entry: Neighbour, reason: MeshError, leaving?: string): void {
    if (this.links.get(entry.peerId) !== entry) return;
    this.links.delete(entry.peerId);
    clearTimeout(entry.timer);
    const wasReady = entry.ready;
    entry.ready = false;
    const session = entry.session;
    entry.session = null;
    // A session that closed itself (a refusal) is flushing its last word: it closes the link itself.
    if (session && session.state !== 'closed') {
      if (leaving !== undefined) session.leave(leaving);
      else session.drop(reason);
    }
    if (!session) entry.transport?.close();
    entry.settle(reason);
    if (wasReady) this.host.onEvent(leaving !== undefined ? { peerId: entry.peerId, state: 'gone' } : { peerId: entry.peerId, state: 'gone', reason: reason.message, code: reason.code });
  }
}
