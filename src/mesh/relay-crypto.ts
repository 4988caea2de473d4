/**
 * End-to-end sealing of frames relayed through the signaling server, so that the server can
 * neither read nor forge nor replay them. AES-256-GCM with one key per direction, derived by
 * HKDF-SHA-256 from the room's join key and both sides' fresh nonces (so every relay session has
 * its own keys). The IV is the direction's frame counter: a frame carries its counter in the
 * clear (authenticated as additional data) and the receiver takes only the next one, so a
 * replayed, dropped or reordered frame is refused.
 *
 * Sealed frame: [counter: u64 big-endian][ciphertext][16-byte tag].
 */
import { joinKeyMaterial, utf8 } from './encoding.ts';

export const RELAY_SEAL_OVERHEAD_BYTES = 8 + 16;
const LABEL = 'modnn-web/relay/v1';

export type RelayRole = 'owner' | 'worker';

/** Why a relayed frame was refused; the relay link is closed with it. */
export class RelayCryptoError extends Error {
  override name = 'RelayCryptoError';
}

async function directionKey(material: CryptoKey, salt: Uint8Array<ArrayBuffer>, from: RelayRole, usage: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info: utf8(`${LABEL}/from-${from}`) }, material, { name: 'AES-GCM', length: 256 }, false, [usage]);
}

/** The two ends of one relay session: seal what this side sends, open what it receives. */
export class RelaySealer {
  private sendCounter = 0n;
  private receiveCounter = 0n;

  private constructor(
    private readonly sendKey: CryptoKey,
    private readonly receiveKey: CryptoKey,
  ) {}

  /** Keys for `role`'s side of the session whose nonces are `ownerNonce` and `workerNonce`. */
  static async create(joinKey: string, role: RelayRole, ownerNonce: string, workerNonce: string): Promise<RelaySealer> {
    const material = await joinKeyMaterial(joinKey);
    const salt = utf8(JSON.stringify([ownerNonce, workerNonce]));
    const peer: RelayRole = role === 'owner' ? 'worker' : 'owner';
    const [sendKey, receiveKey] = await Promise.all([directionKey(material, salt, role, 'encrypt'), directionKey(material, salt, peer, 'decrypt')]);
    return new RelaySealer(sendKey, receiveKey);
  }

  /**
   * Seals the next frame. The counter is taken now, so frames must be sent in the order of the
   * calls (the caller chains them).
   */
  seal(frame: Uint8Array): Promise<Uint8Array> {
    const header = counterBytes(this.sendCounter++);
    return crypto.subtle.encrypt({ name: 'AES-GCM', iv: ivOf(header), additionalData: header }, this.sendKey, frame as Uint8Array<ArrayBuffer>).then((sealed) => {
      const out = new Uint8Array(header.byteLength + sealed.byteLength);
      out.set(header, 0);
      out.set(new Uint8Array(sealed), header.byteLength);
      return out;
    });
  }

  /** Opens the next frame; rejects with a RelayCryptoError for anything but the next authentic one. */
  async open(sealed: Uint8Array): Promise<Uint8Array> {
    if (sealed.byteLength < RELAY_SEAL_OVERHEAD_BYTES) throw new RelayCryptoError(`relayed frame of ${sealed.byteLength} bytes is shorter than its seal`);
    const header = sealed.slice(0, 8);
    const counter = new DataView(header.buffer).getBigUint64(0);
    if (counter !== this.receiveCounter) {
      throw new RelayCryptoError(`relayed frame ${counter} where ${this.receiveCounter} was due (replayed, dropped or reordered)`);
    }
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ivOf(header), additionalData: header }, this.receiveKey, sealed.subarray(8) as Uint8Array<ArrayBuffer>);
    } catch {
      throw new RelayCryptoError(`relayed frame ${counter} failed authentication (altered on the way, or sealed with another key)`);
    }
    this.receiveCounter++;
    return new Uint8Array(plain);
  }
}

function counterBytes(counter: bigint): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, counter);
  return bytes;
}

/** 96-bit IV: four zero bytes, then the counter (unique per key, since each direction has its own key). */
function ivOf(header: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  iv.set(header, 4);
  return iv;
}
