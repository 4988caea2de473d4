/**
 * One data-channel message ("frame"): a fixed 24-byte little-endian header, then a chunk of a
 * message body. Offsets are derived from each other so the layout is written down once.
 *
 *   version u8 | kind u8 | flags u16 | messageId u32 | requestId u32 | totalBytes u32 | chunkIndex u32 | chunkCount u32 | chunk…
 */
import { WireDecodeError } from '../../errors.ts';
import type { WireLimits } from './limits.ts';

/** Bumped on any incompatible change of the frame or body layout. */
export const WIRE_VERSION = 1;

/** What a message is for. Values are on the wire: never renumber, only add. */
export const MessageKind = {
  Hello: 1,
  Welcome: 2,
  Refuse: 3,
  Ping: 4,
  Pong: 5,
  Leave: 6,
  Request: 7,
  Response: 8,
  ErrorResponse: 9,
} as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];
const KNOWN_KINDS = new Set<number>(Object.values(MessageKind));

const VERSION_OFFSET = 0;
const KIND_OFFSET = VERSION_OFFSET + 1;
const FLAGS_OFFSET = KIND_OFFSET + 1;
const MESSAGE_ID_OFFSET = FLAGS_OFFSET + 2;
const REQUEST_ID_OFFSET = MESSAGE_ID_OFFSET + 4;
const TOTAL_BYTES_OFFSET = REQUEST_ID_OFFSET + 4;
const CHUNK_INDEX_OFFSET = TOTAL_BYTES_OFFSET + 4;
const CHUNK_COUNT_OFFSET = CHUNK_INDEX_OFFSET + 4;
export const FRAME_HEADER_BYTES = CHUNK_COUNT_OFFSET + 4;

export interface FrameHeader {
  kind: MessageKind;
  /** Unique per sender and message (wraps at 2^32); all chunks of a message share it. */
  messageId: number;
  /** Correlates a response with its request; 0 when the message is neither. */
  requestId: number;
  /** Length of the whole message body. */
  totalBytes: number;
  chunkIndex: number;
  chunkCount: number;
}

export interface Frame extends FrameHeader {
  /** This frame's part of the body (a view into the frame, not a copy). */
  chunk: Uint8Array;
}

export function writeFrameHeader(target: Uint8Array, header: FrameHeader): void {
  const view = new DataView(target.buffer, target.byteOffset, FRAME_HEADER_BYTES);
  view.setUint8(VERSION_OFFSET, WIRE_VERSION);
  view.setUint8(KIND_OFFSET, header.kind);
  view.setUint16(FLAGS_OFFSET, 0, true);
  view.setUint32(MESSAGE_ID_OFFSET, header.messageId, true);
  view.setUint32(REQUEST_ID_OFFSET, header.requestId, true);
  view.setUint32(TOTAL_BYTES_OFFSET, header.totalBytes, true);
  view.setUint32(CHUNK_INDEX_OFFSET, header.chunkIndex, true);
  view.setUint32(CHUNK_COUNT_OFFSET, header.chunkCount, true);
}

/**
 * Reads and checks one frame. Throws WireDecodeError for anything a well-behaved peer never
 * sends: a short frame, another version, an unknown kind, set flags, impossible chunk numbers or
 * a body over the limit.
 */
export function decodeFrame(bytes: Uint8Array, limits: Pick<WireLimits, 'maxMessageBytes'>): Frame {
  if (bytes.byteLength < FRAME_HEADER_BYTES) {
    throw new WireDecodeError(`frame of ${bytes.byteLength} bytes is shorter than the ${FRAME_HEADER_BYTES}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(VERSION_OFFSET);
  if (version !== WIRE_VERSION) {
    throw new WireDecodeError(
      `peer speaks wire version ${version}, this page ${WIRE_VERSION}: reload both pages to get the same app version`,
      'ERR_VERSION_MISMATCH',
    );
  }
  const kind = view.getUint8(KIND_OFFSET);
  if (!KNOWN_KINDS.has(kind)) throw new WireDecodeError(`unknown message kind ${kind}`);
  const flags = view.getUint16(FLAGS_OFFSET, true);
  if (flags !== 0) throw new WireDecodeError(`reserved flags set (0x${flags.toString(16)})`);
  const header: FrameHeader = {
    kind: kind as MessageKind,
    messageId: view.getUint32(MESSAGE_ID_OFFSET, true),
    requestId: view.getUint32(REQUEST_ID_OFFSET, true),
    totalBytes: view.getUint32(TOTAL_BYTES_OFFSET, true),
    chunkIndex: view.getUint32(CHUNK_INDEX_OFFSET, true),
    chunkCount: view.getUint32(CHUNK_COUNT_OFFSET, true),
  };
  if (header.totalBytes > limits.maxMessageBytes) {
    throw new WireDecodeError(`message of ${header.totalBytes} bytes exceeds the limit of ${limits.maxMessageBytes}`);
  }
  // An empty body still takes one chunk; otherwise no chunk may be empty.
  const maxChunks = Math.max(1, header.totalBytes);
  if (header.chunkCount < 1 || header.chunkCount > maxChunks || header.chunkIndex >= header.chunkCount) {
    throw new WireDecodeError(`chunk ${header.chunkIndex} of ${header.chunkCount} is impossible for a ${header.totalBytes}-byte message`);
  }
  const chunk = bytes.subarray(FRAME_HEADER_BYTES);
  if (chunk.byteLength > header.totalBytes) {
    throw new WireDecodeError(`chunk of ${chunk.byteLength} bytes is larger than its ${header.totalBytes}-byte message`);
  }
  return { ...header, chunk };
}
