/**
 * Messages ⇄ frames: a message is split into chunks that fit one data-channel message, and
 * frames from one peer are put back together, checked at every step. A peer that breaks the
 * rules gets a WireDecodeError (and is dropped by the link); its partial messages are freed.
 */
import { WireDecodeError } from '../../errors.ts';
import { FRAME_HEADER_BYTES, decodeFrame, writeFrameHeader, type MessageKind } from './frame.ts';
import { DEFAULT_WIRE_LIMITS, MAX_CHUNK_BYTES, type WireLimits } from './limits.ts';
import { decodeBody, encodeBody, type WireTensor } from './message.ts';

export interface OutgoingMessage {
  kind: MessageKind;
  /** For a request: its id; for a response: the id of the request it answers. */
  requestId?: number;
  meta?: unknown;
  tensors?: readonly WireTensor[];
}

export interface IncomingMessage {
  kind: MessageKind;
  messageId: number;
  requestId: number;
  meta: unknown;
  tensors: WireTensor[];
  /** Body size in bytes (for throughput accounting). */
  bytes: number;
}

/**
 * The frames of one message, made lazily: only one chunk exists at a time besides what the
 * channel has buffered. `chunkBytes` is the body bytes per frame (default 64 KiB).
 */
export function* encodeFrames(message: OutgoingMessage, messageId: number, chunkBytes: number): Generator<Uint8Array, void, undefined> {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new RangeError(`encodeFrames: chunkBytes must be an integer 1–${MAX_CHUNK_BYTES}, got ${chunkBytes}`);
  }
  const { parts, totalBytes } = encodeBody(message.meta, message.tensors);
  const chunkCount = Math.max(1, Math.ceil(totalBytes / chunkBytes));
  let part = 0;
  let partOffset = 0;
  for (let chunkIndex = 0; chunkIndex < chunkCount; chunkIndex++) {
    const size = Math.min(chunkBytes, totalBytes - chunkIndex * chunkBytes);
    const frame = new Uint8Array(FRAME_HEADER_BYTES + size);
    writeFrameHeader(frame, { kind: message.kind, messageId, requestId: message.requestId ?? 0, totalBytes, chunkIndex, chunkCount });
    let filled = 0;
    while (filled < size) {
      const source = parts[part] as Uint8Array;
      const take = Math.min(size - filled, source.length - partOffset);
      frame.set(source.subarray(partOffset, partOffset + take), FRAME_HEADER_BYTES + filled);
      filled += take;
      partOffset += take;
      if (partOffset === source.length) {
        part++;
        partOffset = 0;
      }
    }
    yield frame;
  }
}

/** Encodes a whole message into an array of frames (tests and small messages). */
export function encodeMessage(message: OutgoingMessage, messageId: number, chunkBytes: number): Uint8Array[] {
  return [...encodeFrames(message, messageId, chunkBytes)];
}

interface PartialMessage {
  kind: MessageKind;
  requestId: number;
  chunkCount: number;
  nextChunk: number;
  /** The body length the first frame declared. */
  totalBytes: number;
  received: number;
  /** Grows with what has arrived (see `grow`), up to `totalBytes`. */
  body: Uint8Array;
}

/**
 * A partial body starts this small (or at its declared size, if smaller) and doubles as chunks
 * arrive: a peer must send about half of what it makes us hold, instead of declaring 64 MiB in
 * one header. An honest 12.8 MB activation costs four copies of a few ms each.
 */
const FIRST_PARTIAL_BYTES = 1024 * 1024;

function grow(partial: PartialMessage, needed: number): void {
  if (needed <= partial.body.byteLength) return;
  const body = new Uint8Array(Math.min(partial.totalBytes, Math.max(needed, 2 * partial.body.byteLength)));
  body.set(partial.body.subarray(0, partial.received));
  partial.body = body;
}

/** Puts the frames from one peer back into messages. One per peer; `clear()` when the peer goes. */
export class Reassembler {
  private readonly partials = new Map<number, PartialMessage>();
  /** Sum of the declared sizes of partial messages: what the limits are checked against. */
  private heldBytes = 0;
  readonly limits: WireLimits;

  constructor(limits: Partial<WireLimits> = {}) {
    this.limits = { ...DEFAULT_WIRE_LIMITS, ...limits };
  }

  /** Bytes declared by messages not complete yet (at most `limits.maxPartialBytes`). */
  get partialBytes(): number {
    return this.heldBytes;
  }

  /** Bytes actually allocated for messages not complete yet (at most `partialBytes`). */
  get allocatedBytes(): number {
    let sum = 0;
    for (const partial of this.partials.values()) sum += partial.body.byteLength;
    return sum;
  }

  get partialCount(): number {
    return this.partials.size;
  }

  /** Takes one frame; returns the message it completes, or null while more chunks are due. */
  push(bytes: Uint8Array): IncomingMessage | null {
    const frame = decodeFrame(bytes, this.limits);
    if (frame.chunkCount === 1) {
      if (frame.chunk.byteLength !== frame.totalBytes) {
        throw new WireDecodeError(`single-frame message has ${frame.chunk.byteLength} of ${frame.totalBytes} bytes`);
      }
      return this.complete(frame.kind, frame.messageId, frame.requestId, frame.chunk);
    }
    if (frame.chunk.byteLength === 0) throw new WireDecodeError('empty chunk in a multi-chunk message');

    let partial = this.partials.get(frame.messageId);
    if (frame.chunkIndex === 0) {
      if (partial) throw new WireDecodeError(`message ${frame.messageId} started twice`);
      if (this.partials.size >= this.limits.maxPartialMessages) {
        throw new WireDecodeError(`more than ${this.limits.maxPartialMessages} messages in flight at once`);
      }
      if (this.heldBytes + frame.totalBytes > this.limits.maxPartialBytes) {
        throw new WireDecodeError(`partial messages would hold ${this.heldBytes + frame.totalBytes} bytes, over ${this.limits.maxPartialBytes}`);
      }
      const firstBytes = Math.min(frame.totalBytes, Math.max(FIRST_PARTIAL_BYTES, frame.chunk.byteLength));
      partial = { kind: frame.kind, requestId: frame.requestId, chunkCount: frame.chunkCount, nextChunk: 0, totalBytes: frame.totalBytes, received: 0, body: new Uint8Array(firstBytes) };
      this.partials.set(frame.messageId, partial);
      this.heldBytes += frame.totalBytes;
    } else if (!partial) {
      throw new WireDecodeError(`chunk ${frame.chunkIndex} of message ${frame.messageId}, which never started`);
    }
    if (
      frame.chunkIndex !== partial.nextChunk ||
      frame.kind !== partial.kind ||
      frame.requestId !== partial.requestId ||
      frame.chunkCount !== partial.chunkCount ||
      frame.totalBytes !== partial.totalBytes
    ) {
      throw new WireDecodeError(`chunk ${frame.chunkIndex} of message ${frame.messageId} does not continue it (expected chunk ${partial.nextChunk})`);
    }
    if (partial.received + frame.chunk.byteLength > partial.totalBytes) {
      throw new WireDecodeError(`message ${frame.messageId} overflows its declared ${partial.totalBytes} bytes`);
    }
    grow(partial, partial.received + frame.chunk.byteLength);
    partial.body.set(frame.chunk, partial.received);
    partial.received += frame.chunk.byteLength;
    partial.nextChunk++;
    if (partial.nextChunk < partial.chunkCount) return null;

    this.partials.delete(frame.messageId);
    this.heldBytes -= partial.totalBytes;
    if (partial.received !== partial.totalBytes) {
      throw new WireDecodeError(`message ${frame.messageId} ended with ${partial.received} of ${partial.totalBytes} bytes`);
    }
    return this.complete(partial.kind, frame.messageId, partial.requestId, partial.body);
  }

  /** Frees every partial message (the peer left or was dropped). */
  clear(): void {
    this.partials.clear();
    this.heldBytes = 0;
  }

  private complete(kind: MessageKind, messageId: number, requestId: number, body: Uint8Array): IncomingMessage {
    const { meta, tensors } = decodeBody(body, this.limits);
    return { kind, messageId, requestId, meta, tensors, bytes: body.byteLength };
  }
}
