/**
 * Metadata schemas of the membership messages (hello, welcome, heartbeat, leave, probe).
 * Every control message from a peer is narrowed by one of these before use.
 */
import * as v from 'valibot';
import { DIGEST_PATTERN, NONCE_PATTERN } from './channel-auth.ts';

/** The mesh protocol spoken on top of the wire format; a hello with another one is refused. 2: channel-bound join. */
export const MESH_PROTOCOL_VERSION = 2;

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

const shortText = (max: number) => v.pipe(v.string(), v.maxLength(max));

export const deviceInfoSchema = v.object({
  /** Stable for one tab (survives reloads), so a device that reconnects replaces its old link. */
  deviceId: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/)),
  /** Readable name, e.g. "Pixel 7 · Android 14" or "Chrome on Linux". */
  name: shortText(80),
  /** TF.js backends this browser can offer, most capable first. */
  backends: v.pipe(v.array(v.picklist(BACKENDS)), v.maxLength(BACKENDS.length)),
  cores: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1024))),
  memoryGb: v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(4096))),
  userAgent: shortText(400),
});
export type DeviceInfo = v.InferOutput<typeof deviceInfoSchema>;

const nonceSchema = v.pipe(v.string(), v.regex(NONCE_PATTERN));
const digestSchema = v.pipe(v.string(), v.regex(DIGEST_PATTERN));

/**
 * Hello and welcome carry no device details: those travel with the proofs, so nothing about
 * either device reaches a peer that has not proved the join key on this connection.
 * `auth` is optional in the schema only so that a hello of another protocol version is told
 * "reload" rather than "malformed"; a hello of this version without it is refused.
 */
export const helloSchema = v.object({
  protocol: v.pipe(v.number(), v.integer()),
  app: shortText(40),
  /** The worker's commitment to its nonce (see channel-auth.ts). */
  auth: v.optional(v.object({ commit: digestSchema })),
});
export type Hello = v.InferOutput<typeof helloSchema>;

export const welcomeSchema = v.object({ protocol: v.pipe(v.number(), v.integer()), auth: v.optional(v.object({ nonce: nonceSchema })) });
export type Welcome = v.InferOutput<typeof welcomeSchema>;

/** The worker reveals its nonce, proves the channel and names its device (request); the owner answers with its proof and device. */
export const AUTH_METHOD = 'mesh.auth';
export const authRequestSchema = v.object({ method: v.literal(AUTH_METHOD), nonce: nonceSchema, proof: digestSchema, device: deviceInfoSchema });
export const authReplySchema = v.object({ proof: digestSchema, owner: deviceInfoSchema });
/**
 * The same exchange between two workers (neighbour links): proofs only, no device details, which
 * a neighbour has no use for. Strict, so a device field is refused rather than passed over.
 */
export const NEIGHBOUR_AUTH_METHOD = 'mesh.neighbour-auth';
export const neighbourAuthRequestSchema = v.strictObject({ method: v.literal(NEIGHBOUR_AUTH_METHOD), nonce: nonceSchema, proof: digestSchema });
export const neighbourAuthReplySchema = v.strictObject({ proof: digestSchema });

export const refuseSchema = v.object({ code: shortText(40), message: shortText(400) });
export type Refuse = v.InferOutput<typeof refuseSchema>;

export const heartbeatSchema = v.object({ t: v.pipe(v.number(), v.finite()) });
export type Heartbeat = v.InferOutput<typeof heartbeatSchema>;
/** A pong echoes the ping's time and adds the responder's clock, for the clock-offset estimate. */
export const pongSchema = v.object({ t: v.pipe(v.number(), v.finite()), peerT: v.optional(v.pipe(v.number(), v.finite())) });

export const leaveSchema = v.object({ reason: shortText(200) });
export type Leave = v.InferOutput<typeof leaveSchema>;

/** Narrows metadata with a schema; null when it does not match (the caller drops the peer). */
export function parseMeta<S extends v.GenericSchema>(schema: S, meta: unknown): v.InferOutput<S> | null {
  const result = v.safeParse(schema, meta);
  return result.success ? result.output : null;
}

/** The owner tells a worker whether it waits for approval (request `{ method, state }`). */
export const ADMISSION_METHOD = 'mesh.admission';
export const admissionSchema = v.object({ method: v.literal(ADMISSION_METHOD), state: v.picklist(['pending', 'approved']) });
