/** Byte encodings shared by the mesh's credentials and crypto (browsers and Node 20 alike). */

export const utf8 = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);

export const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The bytes of a base64url string, or null if it has a character outside that alphabet. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The room's join key as HKDF input: every key the pages derive from it starts here. */
export const joinKeyMaterial = (joinKey: string): Promise<CryptoKey> => crypto.subtle.importKey('raw', utf8(joinKey), 'HKDF', false, ['deriveKey']);
