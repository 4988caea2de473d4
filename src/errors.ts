/**
 * Errors with stable codes. Code paths and tests switch on `code`, never on message text.
 * The list (and what each means) is in README.md, "Error codes".
 */
export type MeshErrorCode =
  /** The signaling server refused or dropped us; `detail` carries its own code. */
  | 'ERR_SIGNALING'
  /** The WebRTC connection failed or closed. */
  | 'ERR_CONNECTION'
  /** A frame or message from a peer broke the wire format or its limits. */
  | 'ERR_WIRE_DECODE'
  /** The peer speaks another wire or protocol version. */
  | 'ERR_VERSION_MISMATCH'
  /** The peer sent a message that is valid on the wire but wrong in this state. */
  | 'ERR_PROTOCOL'
  /** The peer went silent past the heartbeat deadline. */
  | 'ERR_PEER_SILENT'
  /** The peer said goodbye. */
  | 'ERR_PEER_LEFT'
  /** The peer failed the channel-bound join proof (wrong key, or someone in the middle). */
  | 'ERR_AUTH'
  /** The owner refused this worker. */
  | 'ERR_REFUSED'
  /** A request got no response in time. */
  | 'ERR_TIMEOUT'
  /** The remote handler of a request failed; `detail` carries its code. */
  | 'ERR_REMOTE'
  /** The link was destroyed; nothing more can be sent on it. */
  | 'ERR_DESTROYED';

export class MeshError extends Error {
  override name = 'MeshError';
  constructor(
    readonly code: MeshErrorCode,
    message: string,
    /** A more specific code from the other side (a server or peer error code). */
    readonly detail?: string,
  ) {
    super(`modnn-web: ${message}`);
  }
}

/** Thrown by the wire decoder; the peer that sent the bytes is dropped with this reason. */
export class WireDecodeError extends MeshError {
  override name = 'WireDecodeError';
  constructor(message: string, code: 'ERR_WIRE_DECODE' | 'ERR_VERSION_MISMATCH' = 'ERR_WIRE_DECODE') {
    super(code, message);
  }
}
