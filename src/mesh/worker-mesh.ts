/**
 * The worker's side of the star: joins the room, accepts the owner's link (WebRTC, or relayed
 * through the server when the owner asks), says hello and proves the join key on that link,
 * answers the owner's requests once the owner has proved it too, and comes back by itself when
 * the owner reloads its page or the signaling connection drops. On the owner's word it also links
 * straight to other workers (neighbours.ts); their requests go to the same handlers.
 */
import type { SignalData } from 'simple-peer';
import { MeshError } from '../errors.ts';
import { ADMISSION_METHOD, admissionSchema, parseMeta, type DeviceInfo } from './control.ts';
import { Emitter } from './emitter.ts';
import { FallbackTransport } from './fallback-transport.ts';
import { MessageLink, type LinkStats, type Reply, type RequestOptions } from './link.ts';
import { NeighbourLinks, type NeighbourEvent } from './neighbours.ts';
import { DEFAULT_RELAY_OPTIONS, type MeshEndpointOptions } from './peer-transport.ts';
import { RelayTransport, isRelaySignal } from './relay-transport.ts';
import { PROBE_METHOD, answerProbe } from './probe.ts';
import { joinTokenFor } from './room-credentials.ts';
import { PeerSession } from './session.ts';
import { SignalingClient, isTransientSignalingError } from './signaling-client.ts';
import type { IncomingMessage, WireTensor } from './wire/index.ts';

export type WorkerState =
  /** Talking to the server. */
  | 'joining'
  /** In the room; the owner is away (e.g. reloading) or has not connected yet. */
  | 'waiting'
  /** The owner is connecting to us. */
  | 'connecting'
  /** Linked, waiting for the owner to approve this device. */
  | 'pending'
  | 'ready'
  /** We left on purpose. */
  | 'left'
  /** The server refused us for good (wrong key, no room, full room…); see `error`. */
  | 'failed';

export interface WorkerMeshOptions extends MeshEndpointOptions {
  roomId: string;
  joinKey: string;
  /** How long signals from a worker this one was not (yet) told to link with are held. Default 10 s. */
  neighbourSignalHoldMs?: number;
}

type WorkerEvents = {
  state: WorkerState;
  /** An application request arrived (before it is handled), from the owner or a neighbour, for status displays; the mesh's own (probes) are not reported. */
  request: IncomingMessage;
  /** A link to another worker became ready, or went (with why, unless this side closed it). */
  neighbour: NeighbourEvent;
  error: MeshError;
};

/** `from`: the sender's peer id (the owner's, or a neighbour's). */
export type MethodHandler = (request: IncomingMessage, from: string) => Promise<Reply> | Reply;

/** Fatal server answers a worker keeps retrying once it has been in the room: after a server restart the room returns when the owner does. */
const RETRY_AFTER_JOINED = new Set(['ERR_NO_ROOM']);
/** How long a worker hears nothing from its owner before it gives the link up. */
const WORKER_PATIENCE_MS = 10_000;

export class WorkerMesh extends Emitter<WorkerEvents> {
  state: WorkerState = 'joining';
  /** The last error worth showing (why we are waiting or failed). */
  error: MeshError | null = null;
  owner: DeviceInfo | null = null;
  private signaling: SignalingClient | null = null;
  private ownerId: string | null = null;
  private selfId: string | null = null;
  private iceServers: RTCIceServer[] = [];
  private transport: FallbackTransport | null = null;
  private session: PeerSession | null = null;
  private readonly handlers = new Map<string, MethodHandler>([
    [PROBE_METHOD, answerProbe],
    [ADMISSION_METHOD, (request) => this.onAdmission(request)],
  ]);
  private readonly neighbourLinks: NeighbourLinks;

  constructor(private readonly options: WorkerMeshOptions) {
    super();
    this.neighbourLinks = new NeighbourLinks({
      selfId: () => this.selfId,
      joinKey: () => this.options.joinKey,
      iceServers: () => this.iceServers,
      createTransport: (transportOptions) => this.options.createTransport(transportOptions),
      sendSignal: (to, data) => this.signaling?.sendSignal(to, data),
      // Its session has checked the neighbour's proof before a request comes through.
      answer: (request, from) => this.dispatch(request, from, false),
      onEvent: (event) => this.emit('neighbour', event),
      local: this.options.local,
      link: this.options.link,
      session: this.options.session,
      heldForMs: this.options.neighbourSignalHoldMs,
    });
  }

  /** This worker's peer id in the room (what the owner names it by to other workers); null before the server's welcome. */
  get peerId(): string | null {
    return this.selfId;
  }

  /**
   * Opens (or reuses) an authenticated direct link to another worker of the room, on the owner's
   * word: both workers call it; the one whose peer id sorts lower makes the offer. Resolves once
   * both have proved the join key on that link; rejects with a MeshError on timeout (default 10 s)
   * or failure, e.g. when no direct connection comes up (there is no relay between workers).
   * Concurrent calls share one attempt; a ready link resolves at once.
   */
  connectNeighbour(peerId: string, options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.state !== 'ready') return Promise.reject(new MeshError('ERR_PROTOCOL', `links to other workers come on the owner's word, and this worker is ${this.state}`));
    if (peerId === this.ownerId) return Promise.reject(new MeshError('ERR_PROTOCOL', 'the owner is not a neighbour'));
    return this.neighbourLinks.connect(peerId, options.timeoutMs);
  }

  /** A request to a linked neighbour (as MessageLink.request); rejects at once without a ready link. */
  neighbourRequest(peerId: string, meta: unknown, tensors: readonly WireTensor[] = [], options: RequestOptions = {}): Promise<IncomingMessage> {
    return this.neighbourLinks.request(peerId, meta, tensors, options);
  }

  /** Peer ids of the neighbours with a ready link. */
  neighbours(): string[] {
    return this.neighbourLinks.ready();
  }

  /** Bytes and messages both ways on the link to a neighbour; null without a ready link. */
  neighbourStats(peerId: string): LinkStats | null {
    return this.neighbourLinks.stats(peerId);
  }

  /** Closes the link to one neighbour (telling it), or to all of them. */
  closeNeighbour(peerId?: string): void {
    this.neighbourLinks.close(peerId);
  }

  /** Registers the handler for requests whose metadata has `method: name`. */
  handle(method: string, handler: MethodHandler): void {
    this.handlers.set(method, handler);
  }

  get linkStats(): LinkStats | null {
    return this.session?.link.stats ?? null;
  }

  get rttMs(): number | null {
    return this.session?.rttMs ?? null;
  }

  /** The short authentication code to compare with the owner's screen, once both proofs checked out. */
  get authCode(): string | null {
    return this.session?.state === 'ready' ? this.session.authCode : null;
  }

  /** Whether the link to the owner goes through the server. */
  get relayed(): boolean {
    return this.transport?.relayed ?? false;
  }

  async start(): Promise<void> {
    const joinToken = await joinTokenFor(this.options.joinKey);
    if (this.state === 'left') return;
    const signaling = new SignalingClient(
      this.options.signalingUrl,
      { type: 'join', roomId: this.options.roomId, joinToken },
      {
        createSocket: this.options.createSocket,
        shouldRetry: (code, everWelcomed) => (everWelcomed && RETRY_AFTER_JOINED.has(code)) || isTransientSignalingError(code),
      },
    );
    this.signaling = signaling;
    signaling.on('welcome', (welcome) => {
      this.selfId = welcome.peerId;
      this.ownerId = welcome.ownerId;
      this.iceServers = welcome.iceServers;
      if (!this.session) this.setState('waiting');
    });
    signaling.on('peer-joined', ({ peerId, role }) => {
      if (role === 'owner') this.ownerId = peerId;
    });
    signaling.on('peer-left', ({ peerId, role }) => {
      if (role === 'worker') this.neighbourLinks.forget(peerId);
      if (role !== 'owner' || peerId !== this.ownerId) return;
      this.ownerId = null;
      // The owner's page closed or reloaded: its data channel is gone too.
      this.dropLink(new MeshError('ERR_PEER_LEFT', 'the owner left the room'));
    });
    signaling.on('signal', ({ from, data }) => this.onSignal(from, data as unknown as SignalData));
    signaling.on('error', (err) => {
      this.error = err;
      this.emit('error', err);
    });
    signaling.on('state', (state) => {
      if (state === 'stopped' && this.state !== 'left') {
        this.dropLink(this.error ?? new MeshError('ERR_SIGNALING', 'the server closed the connection'));
        this.setState('failed');
      } else if (state === 'reconnecting' && !this.session) {
        this.setState('joining');
      }
    });
    signaling.start();
  }

  /** Leaves the room for good: tells the owner, closes everything. */
  leave(reason = 'the worker left'): void {
    if (this.state === 'left') return;
    this.setState('left');
    this.neighbourLinks.close(undefined, reason);
    this.session?.leave(reason);
    this.transport?.close();
    this.signaling?.stop();
  }

  private onSignal(from: string, data: SignalData): void {
    if (this.state === 'left') return;
    if (from !== this.ownerId) return this.neighbourLinks.onSignal(from, data);
    // A new offer is a new connection (the owner reloaded or retried), and so is a relay opening,
    // unless the owner is falling back from the direct link it is still setting up with us.
    if (data.type === 'offer' || (isRelaySignal(data) && !this.transport?.acceptsRelay)) {
      this.dropLink(null);
      const signaling = this.signaling;
      if (!signaling) return;
      const onSignal = (reply: SignalData) => signaling.sendSignal(from, reply);
      const transport = new FallbackTransport({
        ...DEFAULT_RELAY_OPTIONS,
        ...this.options.relay,
        initiator: false,
        createDirect: () => this.options.createTransport({ initiator: false, iceServers: this.iceServers, onSignal }),
        createRelay: () => new RelayTransport({ initiator: false, joinKey: this.options.joinKey, port: signaling.relayPort(from), onSignal }),
      });
      this.transport = transport;
      this.setState('connecting');
      transport.connected.then(
        () => this.onConnected(transport, from),
        (err: MeshError) => {
          if (this.transport === transport) this.dropLink(err);
        },
      );
    }
    this.transport?.signal(data);
  }

  private onConnected(transport: FallbackTransport, ownerId: string): void {
    if (this.transport !== transport) return;
    const link = new MessageLink(transport, this.options.link);
    link.setRequestHandler((request) => this.answer(request, ownerId));
    // An owner page blocks for seconds at times (planning, building a model, a whole image on its
    // own): a worker waits longer before giving it up than the owner waits for a worker, whose
    // silence costs an image its deadline. Losing the owner costs a worker nothing but a rejoin.
    const auth = { joinKey: this.options.joinKey, binding: transport.channelBinding() };
    const session = new PeerSession(link, 'worker', this.options.local, auth, { silenceMs: WORKER_PATIENCE_MS, ...this.options.session });
    this.session = session;
    session.on('ready', (owner) => {
      this.owner = owner;
      this.error = null;
      this.setState('ready');
    });
    session.on('close', (reason) => {
      if (this.session !== session) return;
      this.session = null;
      this.transport = null;
      this.neighbourLinks.close(undefined, 'the worker lost its owner');
      if (reason) {
        this.error = reason;
        this.emit('error', reason);
      }
      if (this.state !== 'left' && this.state !== 'failed') this.setState('waiting');
    });
  }

  private async answer(request: IncomingMessage, ownerId: string): Promise<Reply> {
    // Nothing for an owner that has not proved the join key on this connection (a request may
    // overtake the check of its proof: it waits for it).
    if (!(await this.session?.whenReady())) throw Object.assign(new Error('the owner has not proved the join key on this connection'), { code: 'ERR_PROTOCOL' });
    return this.dispatch(request, ownerId, true);
  }

  private async dispatch(request: IncomingMessage, from: string, fromOwner: boolean): Promise<Reply> {
    const method = (request.meta as { method?: unknown } | null)?.method;
    // The mesh's own methods (admission, probes) are the owner's business alone.
    const mine = typeof method === 'string' && (fromOwner || !method.startsWith('mesh.'));
    const handler = mine ? this.handlers.get(method) : undefined;
    if (!handler) throw Object.assign(new Error(`unknown method ${JSON.stringify(method)}`), { code: 'ERR_UNKNOWN_METHOD' });
    if (!(method as string).startsWith('mesh.')) this.emit('request', request);
    return handler(request, from);
  }

  private onAdmission(request: IncomingMessage): Reply {
    const admission = parseMeta(admissionSchema, request.meta);
    if (!admission) throw Object.assign(new Error('malformed admission'), { code: 'ERR_PROTOCOL' });
    if (this.session?.state === 'ready') this.setState(admission.state === 'pending' ? 'pending' : 'ready');
    return { meta: null };
  }

  private dropLink(reason: MeshError | null): void {
    const session = this.session;
    const transport = this.transport;
    this.session = null;
    this.transport = null;
    this.neighbourLinks.close(undefined, 'the worker lost its owner');
    if (session) session.drop(reason ?? new MeshError('ERR_PEER_LEFT', 'replaced by a new connection'));
    transport?.close();
    if (reason) this.error = reason;
    if (this.state === 'ready' || this.state === 'pending' || this.state === 'connecting') this.setState('waiting');
  }

  private setState(state: WorkerState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}
