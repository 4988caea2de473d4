/**
 * Channel-bound join: after a data channel opens, each side proves it knows the room's join key
 * with an HMAC over both peers' channel bindings (the DTLS fingerprints from the SDP, or a relay
 * session's nonces) and fresh nonces from both sides. A signaling server that swapped the SDP to
 * terminate DTLS itself sees two different pairs of fingerprints on its two legs, so it cannot
 * forward a proof from one leg to the other, and it cannot make one without the key.
 *
 * The short authentication code shown on both screens is a hash of the same transcript, without
 * the key: it differs between the two legs of a man in the middle even if the key leaked. The
 * worker commits to its nonce (hello) before it sees the owner's (welcome), so a man in the middle
 * cannot grind nonces until the two legs' codes collide.
 *
 * Pure functions over WebCrypto (browsers and Node 20 alike).
 */
import { base64url, fromBase64url, joinKeyMaterial, utf8 } from './encoding.ts';

/** What a transport can tell about the channel under it, each side as it sees it. */
export interface ChannelBinding {
  /** This side's identity on the channel, e.g. `sha-256 AB:CD:…` (or `relay:<nonce>`). */
  local: string;
  /** The other side's, as this side's channel sees it. */
  remote: string;
}

export type AuthRole = 'owner' | 'worker';

/**
 * Which kind of link a proof is for: the owner's link to a worker ('star'), or one worker's to
 * another ('neighbour', the initiator in the owner's role). Part of what is signed, so a proof
 * made on one kind of link never checks out on the other.
 */
export type AuthScope = 'star' | 'neighbour';

/** Everything both sides must agree on; built in the same order on both. */
export interface AuthTranscript {
  ownerBinding: string;
  workerBinding: string;
  ownerNonce: string;
  workerNonce: string;
  /** Absent on star links, whose encoding predates neighbour links. */
  scope?: 'neighbour';
}

const KEY_LABEL = 'modnn-web/channel-auth/v1';
const COMMIT_LABEL = 'modnn-web/nonce-commit/v1';
/** Nonces, commitments and proofs are base64url of 16 or 32 bytes. */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;
export const DIGEST_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** 128 fresh random bits, base64url. */
export const newNonce = (): string => base64url(crypto.getRandomValues(new Uint8Array(16)));

const FINGERPRINT_LINE = /^a=fingerprint:([A-Za-z0-9-]+) ((?:[0-9A-Fa-f]{2}:)+[0-9A-Fa-f]{2})\s*$/gm;

/**
 * The DTLS certificate fingerprints an SDP announces (`a=fingerprint:sha-256 AB:…`), normalised
 * (lower-case algorithm, upper-case hex) and sorted, joined by commas; null when it has none.
 */
export function fingerprintsOf(sdp: string): string | null {
  const found = new Set<string>();
  for (const match of sdp.matchAll(FINGERPRINT_LINE)) found.add(`${(match[1] as string).toLowerCase()} ${(match[2] as string).toUpperCase()}`);
  return found.size > 0 ? [...found].sort().join(',') : null;
}

/** The HMAC key of the proofs, derived from the join key with its own label (HKDF-SHA-256). */
export async function channelAuthKey(joinKey: string): Promise<CryptoKey> {
  const material = await joinKeyMaterial(joinKey);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8(KEY_LABEL) },
    material,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign', 'verify'],
  );
}

/** A binding and both nonces, put in owner/worker order whichever side builds it. */
export function transcriptFor(role: AuthRole, binding: ChannelBinding, nonces: { own: string; peer: string }, scope: AuthScope = 'star'): AuthTranscript {
  const transcript: AuthTranscript =
    role === 'owner'
      ? { ownerBinding: binding.local, workerBinding: binding.remote, ownerNonce: nonces.own, workerNonce: nonces.peer }
      : { ownerBinding: binding.remote, workerBinding: binding.local, ownerNonce: nonces.peer, workerNonce: nonces.own };
  if (scope === 'neighbour') transcript.scope = 'neighbour';
  return transcript;
}

/** A JSON array cannot be read two ways, so no two transcripts encode alike. */
const encode = (label: string, t: AuthTranscript): Uint8Array<ArrayBuffer> =>
  utf8(JSON.stringify([KEY_LABEL, t.scope === 'neighbour' ? `neighbour-${label}` : label, t.ownerBinding, t.workerBinding, t.ownerNonce, t.workerNonce]));

/** `prover`'s proof that it knows the key and sees this transcript (base64url HMAC-SHA-256). */
export async function proveChannel(key: CryptoKey, prover: AuthRole, transcript: AuthTranscript): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.sign('HMAC', key, encode(`proof:${prover}`, transcript))));
}

/** Checks `prover`'s proof in constant time; false for anything malformed. */
export async function verifyChannelProof(key: CryptoKey, prover: AuthRole, transcript: AuthTranscript, proof: string): Promise<boolean> {
  const mac = DIGEST_PATTERN.test(proof) ? fromBase64url(proof) : null;
  if (!mac) return false;
  return crypto.subtle.verify('HMAC', key, mac, encode(`proof:${prover}`, transcript));
}

/** What a worker sends before it sees the owner's nonce: SHA-256 of its own, base64url. */
export async function commitmentTo(nonce: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(`${COMMIT_LABEL}:${nonce}`))));
}

/**
 * The short authentication code both screens show: 6 digits from SHA-256 of the transcript,
 * written "123 456". Equal on both sides only when both saw the same channel.
 */
export async function shortAuthCode(transcript: AuthTranscript): Promise<string> {
  const digest = new DataView(await crypto.subtle.digest('SHA-256', encode('short-code', transcript)));
  const digits = String(digest.getUint32(0) % 1_000_000).padStart(6, '0');
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}
