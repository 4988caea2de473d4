/**
 * A message link to one peer over a frame transport: chunking with back-pressure, reassembly
 * with validation, request/response correlation, byte counters. Anything malformed from the
 * peer destroys the link with the reason; nothing from the peer can throw into the caller.
 */
import * as v from 'valibot';
import { MeshError, WireDecodeError } from '../errors.ts';
import { Emitter } from './emitter.ts';
import type { FrameTransport } from './transport.ts';
import {
  DEFAULT_CHUNK_BYTES,
  MessageKind,
  Reassembler,
  encodeFrames,
  type IncomingMessage,
  type OutgoingMessage,
  type WireLimits,
  type WireTensor,
} from './wire/index.ts';

export interface LinkOptions {
  /** Body bytes per frame. Default 64 KiB (Chromium's maximum is 256 KiB). */
  chunkBytes: number;
  /** Stop queueing frames when the channel holds this much. Default 4 MiB. */
  highWaterBytes: number;
  /** …and resume when it has drained to this. Default 1 MiB. */
  lowWaterBytes: number;
  /** A channel that does not drain for this long is considered dead. Default 30 s. */
  drainTimeoutMs: number;
  /** Default time a request waits for its response. 30 s. */
  requestTimeoutMs: number;
  /**
   * The peer's requests in progress at once (being handled, or their responses waiting to go out
   * behind a full channel); one more drops the peer. Default 64.
   */
  maxConcurrentRequests: number;
  limits: Partial<WireLimits>;
}

export const DEFAULT_LINK_OPTIONS: LinkOptions = {
  chunkBytes: DEFAULT_CHUNK_BYTES,
  highWaterBytes: 4 * 1024 * 1024,
  lowWaterBytes: 1024 * 1024,
  drainTimeoutMs: 30_000,
  requestTimeoutMs: 30_000,
  maxConcurrentRequests: 64,
  limits: {},
};

/** What a failed request's answer carries; anything else from the peer is a protocol error. */
const errorReplySchema = v.object({ code: v.pipe(v.string(), v.regex(/^[A-Z][A-Z0-9_]{0,63}$/)), message: v.string() });
/** Longest remote error text passed on (it ends up in the UI). */
const MAX_REMOTE_MESSAGE_CHARS = 500;

export interface LinkStats {
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
}

/** What a request handler returns: the response's metadata and tensors. */
export interface Reply {
  meta?: unknown;
  tensors?: readonly WireTensor[];
}
export type RequestHandler = (request: IncomingMessage) => Promise<Reply> | Reply;

export interface SendOptions {
  /**
   * Skip the queue (heartbeats): sent at once even while a large message is being paced.
   * Only for messages that fit in one frame.
   */
  urgent?: boolean;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called when the request's last frame has been handed to the channel (for traces). */
  onSent?: () => void;
}

interface PendingRequest {
  resolve: (message: IncomingMessage) => void;
  reject: (error: MeshError) => void;
  timer: ReturnType<typeof setTimeout>;
}

type LinkEvents = {
  /** Every message except responses, which settle their request instead. */
  message: IncomingMessage;
  /** Once, when the link is gone; with the reason unless it was closed on purpose. */
  close: MeshError | null;
};

export class MessageLink extends Emitter<LinkEvents> {
  readonly stats: LinkStats = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 };
  private readonly options: LinkOptions;
  private readonly reassembler: Reassembler;
  private readonly pending = new Map<number, PendingRequest>();
  private nextMessageId = 1;
  private nextRequestId = 1;
  private sendChain: Promise<void> = Promise.resolve();
  private requestHandler: RequestHandler | null = null;
  private requestsInProgress = 0;
  private destroyed = false;
  private lastFrameAt = Date.now();
  private closeReason: MeshError | null = null;

  constructor(
    private readonly transport: FrameTransport,
    options: Partial<LinkOptions> = {},
  ) {
    super();
    this.options = { ...DEFAULT_LINK_OPTIONS, ...options };
    this.reassembler = new Reassembler(this.options.limits);
    transport.onFrame = (frame) => this.onFrame(frame);
    transport.onClose = (error) => this.destroy(error ?? new MeshError('ERR_CONNECTION', 'the connection closed'));
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Why the link closed (null while open, or when closed on purpose). */
  get reason(): MeshError | null {
    return this.closeReason;
  }

  /** When the last frame of any message arrived (liveness during long transfers too). */
  get lastFrameAtMs(): number {
    return this.lastFrameAt;
  }

  /** Bytes the peer's partial messages have declared (bounded by the wire limits' maxPartialBytes). */
  get partialBytes(): number {
    return this.reassembler.partialBytes;
  }

  /** The peer's messages being reassembled now (bounded by maxPartialMessages). */
  get partialMessages(): number {
    return this.reassembler.partialCount;
  }

  /** Bytes queued in the channel right now. */
  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  /**
   * Sends one message. Messages go out one after another in call order, each paced by the
   * channel's buffered amount; resolves when its last frame is handed to the channel.
   */
  send(message: OutgoingMessage, options: SendOptions = {}): Promise<void> {
    if (this.destroyed) return Promise.reject(new MeshError('ERR_DESTROYED', 'this link is closed'));
    if (options.urgent) {
      try {
        this.writeUrgent(message);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    const sent = this.sendChain.then(() => this.writePaced(message));
    this.sendChain = sent.catch(() => {}); // one failed send must not block the next
    return sent;
  }

  /** Sends a request and waits for its response (or the remote handler's error). */
  request(meta: unknown, tensors: readonly WireTensor[] = [], options: RequestOptions = {}): Promise<IncomingMessage> {
    if (this.destroyed) return Promise.reject(new MeshError('ERR_DESTROYED', 'this link is closed'));
    const requestId = this.nextRequestId;
    this.nextRequestId = (this.nextRequestId % 0xffffffff) + 1;
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const settle = () => {
        clearTimeout(pending.timer);
        this.pending.delete(requestId);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const pending: PendingRequest = {
        resolve: (m) => (settle(), resolve(m)),
        reject: (e) => (settle(), reject(e)),
        timer: setTimeout(() => pending.reject(new MeshError('ERR_TIMEOUT', `no response to request ${requestId} within ${timeoutMs} ms`)), timeoutMs),
      };
      const onAbort = () => pending.reject(new MeshError('ERR_TIMEOUT', `request ${requestId} was aborted`));
      options.signal?.addEventListener('abort', onAbort);
      this.pending.set(requestId, pending);
      this.send({ kind: MessageKind.Request, requestId, meta, tensors }).then(
        () => options.onSent?.(),
        (err: MeshError) => pending.reject(err),
      );
    });
  }

  /** Answers incoming requests. Without a handler, requests are refused with ERR_NO_HANDLER. */
  setRequestHandler(handler: RequestHandler | null): void {
    this.requestHandler = handler;
  }

  /**
   * Closes after what was sent has left the buffer (at most `timeoutMs`), so a last message
   * (a leave notice, a refusal) reaches the peer. Nothing more is sent meanwhile.
   */
  async closeAfterFlush(error: MeshError | null = null, timeoutMs = 500): Promise<void> {
    if (this.destroyed) return;
    await Promise.race([this.sendChain, new Promise((r) => setTimeout(r, timeoutMs))]);
    await this.transport.waitForDrain(0, timeoutMs).catch(() => {});
    this.destroy(error);
  }

  /** Closes the link; idempotent. `error` says why (null: closed on purpose). */
  destroy(error: MeshError | null = null): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closeReason = error;
    this.reassembler.clear();
    const gone = error ?? new MeshError('ERR_DESTROYED', 'the link was closed');
    for (const pending of [...this.pending.values()]) pending.reject(gone);
    this.transport.onFrame = null;
    this.transport.onClose = null;
    this.transport.close();
    this.emit('close', error);
    this.removeAllListeners();
  }

  private async writePaced(message: OutgoingMessage): Promise<void> {
    const { highWaterBytes, lowWaterBytes, drainTimeoutMs } = this.options;
    for (const frame of this.framesOf(message)) {
      if (this.destroyed) throw new MeshError('ERR_DESTROYED', 'the link closed while sending');
      if (this.transport.bufferedAmount > highWaterBytes) {
        await this.transport.waitForDrain(lowWaterBytes, drainTimeoutMs);
        if (this.destroyed) throw new MeshError('ERR_DESTROYED', 'the link closed while sending');
      }
      this.transport.send(frame);
      this.stats.bytesSent += frame.byteLength;
    }
    this.stats.messagesSent++;
  }

  private writeUrgent(message: OutgoingMessage): void {
    const [frame, ...more] = [...this.framesOf(message)];
    if (!frame || more.length > 0) throw new RangeError('MessageLink.send: an urgent message must fit in one frame');
    this.transport.send(frame);
    this.stats.bytesSent += frame.byteLength;
    this.stats.messagesSent++;
  }

  private framesOf(message: OutgoingMessage): Generator<Uint8Array, void, undefined> {
    const messageId = this.nextMessageId;
    this.nextMessageId = (this.nextMessageId + 1) >>> 0 || 1;
    return encodeFrames(message, messageId, this.options.chunkBytes);
  }

  private onFrame(frame: Uint8Array): void {
    if (this.destroyed) return;
    this.lastFrameAt = Date.now();
    this.stats.bytesReceived += frame.byteLength;
    let message: IncomingMessage | null;
    try {
      message = this.reassembler.push(frame);
    } catch (err) {
      // Anything else is a decoder bug; it still costs only this peer, never the page.
      this.destroy(err instanceof WireDecodeError ? err : new WireDecodeError(`undecodable frame (${String(err)})`));
      return;
    }
    if (!message) return;
    this.stats.messagesReceived++;
    switch (message.kind) {
      case MessageKind.Response:
      case MessageKind.ErrorResponse:
        this.settle(message);
        return;
      case MessageKind.Request:
        void this.answer(message);
        return;
      default:
        this.emit('message', message);
    }
  }

  private settle(message: IncomingMessage): void {
    const pending = this.pending.get(message.requestId);
    // A late response (after a timeout) is dropped quietly: the requester has moved on.
    if (!pending) return;
    if (message.kind === MessageKind.Response) {
      pending.resolve(message);
      return;
    }
    const failure = v.safeParse(errorReplySchema, message.meta);
    if (!failure.success) {
      this.destroy(new MeshError('ERR_PROTOCOL', `malformed error response to request ${message.requestId}`));
      return;
    }
    const text = failure.output.message.slice(0, MAX_REMOTE_MESSAGE_CHARS);
    pending.reject(new MeshError('ERR_REMOTE', `peer failed request ${message.requestId}: ${text}`, failure.output.code));
  }

  private async answer(request: IncomingMessage): Promise<void> {
    if (this.requestsInProgress >= this.options.maxConcurrentRequests) {
      this.destroy(new MeshError('ERR_PROTOCOL', `the peer has more than ${this.options.maxConcurrentRequests} requests in progress at once`));
      return;
    }
    this.requestsInProgress++;
    try {
      const reply = await this.replyTo(request);
      if (this.destroyed) return;
      await this.send(reply).catch(() => {}); // the link closing is reported through 'close'
    } finally {
      this.requestsInProgress--;
    }
  }

  /** The handler's response, or an error response saying why it failed. */
  private async replyTo(request: IncomingMessage): Promise<OutgoingMessage> {
    try {
      if (!this.requestHandler) throw Object.assign(new Error('this peer does not take requests'), { code: 'ERR_NO_HANDLER' });
      const result = await this.requestHandler(request);
      return { kind: MessageKind.Response, requestId: request.requestId, meta: result.meta ?? null, tensors: result.tensors ?? [] };
    } catch (err) {
      const e = (err ?? {}) as { code?: unknown; message?: unknown };
      return {
        kind: MessageKind.ErrorResponse,
        requestId: request.requestId,
        meta: {
          code: typeof e.code === 'string' && v.is(errorReplySchema.entries.code, e.code) ? e.code : 'ERR_HANDLER',
          message: String(e.message ?? err).slice(0, MAX_REMOTE_MESSAGE_CHARS),
        },
      };
    }
  }
}
