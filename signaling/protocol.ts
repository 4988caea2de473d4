/**
 * The signaling protocol between pages and the server: JSON text frames over one WebSocket.
 *
 * Shared by the server (signaling/) and the browser client (src/mesh/): pure data and parsers,
 * no Node and no DOM imports. Every incoming message is narrowed by a schema before use.
 */
import * as v from 'valibot';

/** Bumped on any incompatible change; a client speaking another version is refused at hello. */
export const SIGNALING_PROTOCOL_VERSION = 1;

/** Room ids, join tokens and owner tokens are base64url strings of at least 128 random bits. */
const ID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Peer ids, stamped by the server (96 random bits, base64url); also the header of a relay frame. */
const PEER_ID_PATTERN = /^[A-Za-z0-9_-]{8,32}$/;

const roomIdSchema = v.pipe(v.string(), v.regex(ID_PATTERN, 'room id must be 22–64 base64url characters'));
const tokenSchema = v.pipe(v.string(), v.regex(TOKEN_PATTERN, 'token must be 43 base64url characters (SHA-256)'));
const peerIdSchema = v.pipe(v.string(), v.regex(PEER_ID_PATTERN, 'peer id is malformed'));
const protocolSchema = v.pipe(v.number(), v.integer(), v.minValue(0));

/**
 * A WebRTC signal relayed between two peers: only the shapes simple-peer (9.x) and the relay
 * fallback (src/mesh/relay-transport.ts) send. Loose objects: fields a newer browser adds (e.g.
 * usernameFragment) are passed on, and nesting is bounded before parsing (MAX_JSON_DEPTH).
 */
const sdpSignalSchema = v.looseObject({
  type: v.picklist(['offer', 'answer', 'pranswer', 'rollback']),
  sdp: v.optional(v.string()),
});
const candidateSignalSchema = v.looseObject({
  type: v.literal('candidate'),
  candidate: v.looseObject({
    candidate: v.string(),
    sdpMLineIndex: v.nullish(v.number()),
    sdpMid: v.nullish(v.string()),
  }),
});
const renegotiateSignalSchema = v.looseObject({ type: v.literal('renegotiate'), renegotiate: v.literal(true) });
const transceiverRequestSignalSchema = v.looseObject({
  type: v.literal('transceiverRequest'),
  transceiverRequest: v.looseObject({ kind: v.string(), init: v.optional(v.record(v.string(), v.unknown())) }),
});
const relaySignalSchema = v.looseObject({ type: v.literal('relay'), nonce: v.string() });
const signalDataSchema = v.variant('type', [
  sdpSignalSchema,
  candidateSignalSchema,
  renegotiateSignalSchema,
  transceiverRequestSignalSchema,
  relaySignalSchema,
]);

const clientMessageSchema = v.variant('type', [
  v.strictObject({
    type: v.literal('host'),
    protocol: protocolSchema,
    roomId: roomIdSchema,
    joinToken: tokenSchema,
    ownerToken: tokenSchema,
  }),
  v.strictObject({
    type: v.literal('join'),
    protocol: protocolSchema,
    roomId: roomIdSchema,
    joinToken: tokenSchema,
  }),
  v.strictObject({ type: v.literal('signal'), to: peerIdSchema, data: signalDataSchema }),
  v.strictObject({ type: v.literal('leave') }),
]);

export type ClientMessage = v.InferOutput<typeof clientMessageSchema>;
export type HostMessage = Extract<ClientMessage, { type: 'host' }>;
export type JoinMessage = Extract<ClientMessage, { type: 'join' }>;

export type Role = 'owner' | 'worker';

/** Same shape as the DOM's RTCIceServer, so it can be handed to RTCPeerConnection unchanged. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** Stable error codes; clients switch on these, never on the message text. */
export type SignalingErrorCode =
  | 'ERR_MALFORMED'
  | 'ERR_TOO_LARGE'
  | 'ERR_RATE_LIMITED'
  | 'ERR_PROTOCOL_VERSION'
  | 'ERR_BAD_KEY'
  | 'ERR_NO_ROOM'
  | 'ERR_ROOM_FULL'
  | 'ERR_ROOM_TAKEN'
  | 'ERR_SERVER_FULL'
  | 'ERR_NOT_IN_ROOM'
  | 'ERR_ALREADY_IN_ROOM'
  | 'ERR_UNKNOWN_PEER'
  | 'ERR_REPLACED'
  | 'ERR_HELLO_TIMEOUT';

export type ServerMessage =
  | {
      type: 'welcome';
      role: Role;
      roomId: string;
      /** This connection's id inside the room; the server stamps it on everything relayed. */
      peerId: string;
      /** The owner's current peer id, or null while the owner is away (e.g. reloading). */
      ownerId: string | null;
      /** Workers present now (sent to an owner, so it can connect to each). */
      workers: string[];
      /** ICE servers configured on the server (`--ice`); empty on a LAN. */
      iceServers: IceServer[];
      /** The server's HTTPS URLs on LAN addresses, for building the join link and QR code. */
      lanUrls: string[];
      maxPeersPerRoom: number;
    }
  | { type: 'peer-joined'; peerId: string; role: Role }
  | { type: 'peer-left'; peerId: string; role: Role }
  | { type: 'signal'; from: string; data: Record<string, unknown> }
  | {
      type: 'error';
      code: SignalingErrorCode;
      message: string;
      /** True when the server closes the connection after this error. */
      fatal: boolean;
    };

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Deepest nesting of arrays and objects in one message: the deepest real one (a candidate inside
 * a signal inside the message) is 3. Checked on the text before JSON.parse, because a message of
 * 64 KiB can nest 32,000 arrays, deeper than JSON.stringify can recurse when it is passed on.
 */
export const MAX_JSON_DEPTH = 8;

/** Whether `text` nests arrays/objects deeper than `limit` (brackets inside strings do not count). */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

function parseJson(text: string): ParseResult<unknown> {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return { ok: false, reason: `nested deeper than ${MAX_JSON_DEPTH} levels` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
}

function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path?.map((p) => String(p.key)).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Narrows one text frame from a page to a ClientMessage, or says what is wrong with it. */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = v.safeParse(clientMessageSchema, json.value);
  return result.success ? { ok: true, value: result.output } : { ok: false, reason: describeIssues(result.issues) };
}

const iceServerSchema = v.object({
  urls: v.union([v.string(), v.array(v.string())]),
  username: v.optional(v.string()),
  credential: v.optional(v.string()),
});
const roleSchema = v.picklist(['owner', 'worker']);

const serverMessageSchema = v.variant('type', [
  v.object({
    type: v.literal('welcome'),
    role: roleSchema,
    roomId: roomIdSchema,
    peerId: peerIdSchema,
    ownerId: v.nullable(peerIdSchema),
    workers: v.array(peerIdSchema),
    iceServers: v.array(iceServerSchema),
    lanUrls: v.array(v.string()),
    maxPeersPerRoom: v.number(),
  }),
  v.object({ type: v.literal('peer-joined'), peerId: peerIdSchema, role: roleSchema }),
  v.object({ type: v.literal('peer-left'), peerId: peerIdSchema, role: roleSchema }),
  v.object({ type: v.literal('signal'), from: peerIdSchema, data: signalDataSchema }),
  v.object({
    type: v.literal('error'),
    code: v.string(),
    message: v.string(),
    fatal: v.boolean(),
  }),
]);

/** Narrows one text frame from the server; the client trusts the server no more than a peer. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const result = v.safeParse(serverMessageSchema, json.value);
  return result.success
    ? { ok: true, value: result.output as ServerMessage }
    : { ok: false, reason: describeIssues(result.issues) };
}

/**
 * Relayed frames (the fallback when no direct WebRTC link can be made) travel as binary WebSocket
 * messages: `[id length: u8][peer id: ASCII][payload]`. From a page the id names the recipient;
 * the server replaces it with the sender's before passing the frame on. The payload is opaque to
 * the server (sealed end to end by the pages: src/mesh/relay-crypto.ts).
 */
export const RELAY_HEADER_MAX_BYTES = 1 + 32;
/** Largest relayed payload the server passes on by default (a 256 KiB chunk with its page-side header and seal fits); the pages keep their sealed frames under it. */
export const RELAY_MAX_FRAME_BYTES = 256 * 1024 + 1024;

export function encodeRelayFrame(peerId: string, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  if (!PEER_ID_PATTERN.test(peerId)) throw new RangeError(`encodeRelayFrame: malformed peer id ${JSON.stringify(peerId)}`);
  const out = new Uint8Array(1 + peerId.length + payload.byteLength);
  out[0] = peerId.length;
  for (let i = 0; i < peerId.length; i++) out[1 + i] = peerId.charCodeAt(i);
  out.set(payload, 1 + peerId.length);
  return out;
}

/** Splits a relayed frame into peer id and payload (a view, not a copy); null when malformed. */
export function decodeRelayFrame(bytes: Uint8Array): { peerId: string; payload: Uint8Array } | null {
  const length = bytes[0];
  if (length === undefined || bytes.byteLength < 1 + length) return null;
  const peerId = String.fromCharCode(...bytes.subarray(1, 1 + length));
  if (!PEER_ID_PATTERN.test(peerId)) return null;
  return { peerId, payload: bytes.subarray(1 + length) };
}
