/**
 * Room credentials, made on the owner's page. The join key travels only in the link's URL
 * fragment (never sent to the server by the browser); the server sees a hash derived from it.
 */
import { base64url, utf8 } from './encoding.ts';

export interface RoomCredentials {
  roomId: string;
  /** Shared with workers through the QR code / link. */
  joinKey: string;
  /** Known only to the owner's tab; proves the room is its own after a reload. */
  ownerSecret: string;
}

const randomToken = (bytes = 16): string => base64url(crypto.getRandomValues(new Uint8Array(bytes)));

export function newRoomCredentials(): RoomCredentials {
  return { roomId: randomToken(), joinKey: randomToken(), ownerSecret: randomToken() };
}

async function derive(label: string, secret: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', utf8(`modnn-web/${label}/v1:${secret}`));
  return base64url(new Uint8Array(digest));
}

/** What the server checks a joiner against (it stores only a hash of this). */
export const joinTokenFor = (joinKey: string): Promise<string> => derive('join', joinKey);
export const ownerTokenFor = (ownerSecret: string): Promise<string> => derive('owner', ownerSecret);

/** The link a worker opens: `base#room=…&key=…`. */
export function joinLink(baseUrl: string, roomId: string, joinKey: string): string {
  const url = new URL(baseUrl);
  url.hash = new URLSearchParams({ room: roomId, key: joinKey }).toString();
  return url.toString();
}

/** Reads room and key from a URL fragment; null when it is not a join link. */
export function parseJoinFragment(hash: string): { roomId: string; joinKey: string } | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const roomId = params.get('room');
  const joinKey = params.get('key');
  const valid = (s: string | null): s is string => !!s && /^[A-Za-z0-9_-]{22,64}$/.test(s);
  return valid(roomId) && valid(joinKey) ? { roomId, joinKey } : null;
}

export function isRoomCredentials(value: unknown): value is RoomCredentials {
  const v = value as Partial<RoomCredentials> | null;
  return typeof v?.roomId === 'string' && typeof v.joinKey === 'string' && typeof v.ownerSecret === 'string';
}
