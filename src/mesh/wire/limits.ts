/** Caps on what a peer may make us allocate. Checked before any allocation sized by the peer. */
export interface WireLimits {
  /** Largest message body (all chunks together). Default 64 MiB: one VGG-16 activation is 12.8 MB. */
  maxMessageBytes: number;
  /** Largest JSON metadata part of a message. Default 64 KiB. */
  maxMetaBytes: number;
  /**
   * Deepest nesting of arrays and objects in the metadata. Default 32 (the deepest the mesh sends
   * is about 7): 64 KiB of brackets would overflow the stack of any recursive reader after us.
   */
  maxMetaDepth: number;
  /** Most tensors in one message. Default 64. */
  maxTensors: number;
  /** Highest tensor rank. Default 8. */
  maxRank: number;
  /** Most messages being reassembled at once from one peer. Default 8. */
  maxPartialMessages: number;
  /** Bytes held for partial messages from one peer. Default 128 MiB. */
  maxPartialBytes: number;
}

export const DEFAULT_WIRE_LIMITS: Readonly<WireLimits> = Object.freeze({
  maxMessageBytes: 64 * 1024 * 1024,
  maxMetaBytes: 64 * 1024,
  maxMetaDepth: 32,
  maxTensors: 64,
  maxRank: 8,
  maxPartialMessages: 8,
  maxPartialBytes: 128 * 1024 * 1024,
});

/** Chromium's largest data-channel message is 262,144 bytes; a frame adds a 24-byte header. */
export const MAX_CHUNK_BYTES = 256 * 1024 - 64;
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
