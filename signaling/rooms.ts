/**
 * Rooms: one owner and up to `maxPeersPerRoom - 1` workers. Pure bookkeeping over abstract
 * connections, so the rules (keys, caps, relay, expiry) are testable without sockets.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HostMessage, JoinMessage, Role, ServerMessage, SignalingErrorCode } from './protocol.ts';

/** What the room logic needs of a connection. */
export interface Member {
  readonly peerId: string;
  /** The client's IP address: rooms are counted per address. */
  readonly address: string;
  role: Role | null;
  roomId: string | null;
  send(message: ServerMessage): void;
  /** Passes on a relayed frame (binary). */
  sendBinary(bytes: Uint8Array): void;
  /** Bytes queued toward this member and not yet on the wire. */
  readonly bufferedBytes: number;
  /** Sends a fatal error and closes the connection. */
  reject(code: SignalingErrorCode, message: string): void;
}

interface Room {
  readonly id: string;
  /** SHA-256 of the join token: the server never keeps the token itself. */
  readonly joinHash: Buffer;
  readonly ownerHash: Buffer;
  /** The address that opened the room; it is charged for it until the room goes. */
  readonly hostAddress: string;
  owner: Member | null;
  /** The owner said `leave` (its page closed or reloaded) rather than dropping off. */
  ownerLeft: boolean;
  readonly workers: Map<string, Member>;
  lastActiveMs: number;
}

export interface RoomRules {
  maxPeersPerRoom: number;
  maxRooms: number;
  /** Rooms that clients at one address may have open, with or without their owner. */
  maxRoomsPerAddress: number;
  /** A room without its owner (and without signalling) is closed after this long. */
  roomIdleMs: number;
}

export type RoomOutcome = { ok: true } | { ok: false; code: SignalingErrorCode; message: string };

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();
const sameHash = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/** A fresh random peer id (96 bits, base64url). */
export const newPeerId = (): string => randomBytes(12).toString('base64url');

/** How many of something each address holds. */
export class PerAddress {
  private readonly counts = new Map<string, number>();
  get(address: string): number {
    return this.counts.get(address) ?? 0;
  }
  add(address: string): void {
    this.counts.set(address, this.get(address) + 1);
  }
  remove(address: string): void {
    const left = this.get(address) - 1;
    if (left > 0) this.counts.set(address, left);
    else this.counts.delete(address);
  }
}

export class Rooms {
  private readonly rooms = new Map<string, Room>();
  private readonly roomsByAddress = new PerAddress();

  constructor(
    private readonly rules: RoomRules,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.rooms.size;
  }

  /** Creates the room, or lets its owner (proved by the owner token) take it back after a reload. */
  host(member: Member, msg: HostMessage): RoomOutcome {
    let room = this.rooms.get(msg.roomId);
    if (room) {
      if (!sameHash(room.ownerHash, sha256(msg.ownerToken)) || !sameHash(room.joinHash, sha256(msg.joinToken))) {
        return { ok: false, code: 'ERR_ROOM_TAKEN', message: 'This room id belongs to another owner; open a new room.' };
      }
      // The same owner again: a reload, or a second tab. The newest connection wins.
      if (room.owner) {
        const previous = room.owner;
        room.owner = null;
        previous.roomId = null;
        previous.reject('ERR_REPLACED', 'This room was opened again in another tab or after a reload.');
      }
    } else {
      if (this.rooms.size >= this.rules.maxRooms) {
        return { ok: false, code: 'ERR_SERVER_FULL', message: `The server already holds ${this.rules.maxRooms} rooms; try again later.` };
      }
      if (this.roomsByAddress.get(member.address) >= this.rules.maxRoomsPerAddress) {
        return {
          ok: false,
          code: 'ERR_SERVER_FULL',
          message: `Your address already has ${this.rules.maxRoomsPerAddress} rooms open; close one (or wait until they expire).`,
        };
      }
      room = {
        id: msg.roomId,
        joinHash: sha256(msg.joinToken),
        ownerHash: sha256(msg.ownerToken),
        hostAddress: member.address,
        owner: null,
        ownerLeft: false,
        workers: new Map(),
        lastActiveMs: this.now(),
      };
      this.rooms.set(room.id, room);
      this.roomsByAddress.add(member.address);
    }
    room.owner = member;
    room.ownerLeft = false;
    member.role = 'owner';
    member.roomId = room.id;
    room.lastActiveMs = this.now();
    for (const worker of room.workers.values()) worker.send({ type: 'peer-joined', peerId: member.peerId, role: 'owner' });
    return { ok: true };
  }

  join(member: Member, msg: JoinMessage): RoomOutcome {
    const room = this.rooms.get(msg.roomId);
    if (!room) {
      return { ok: false, code: 'ERR_NO_ROOM', message: 'No such room: it was closed or expired. Scan the owner’s QR code again.' };
    }
    if (!sameHash(room.joinHash, sha256(msg.joinToken))) {
      return { ok: false, code: 'ERR_BAD_KEY', message: 'Wrong join key for this room. Scan the owner’s QR code again.' };
    }
    const members = room.workers.size + 1; // the owner's seat is always kept
    if (members >= this.rules.maxPeersPerRoom) {
      return { ok: false, code: 'ERR_ROOM_FULL', message: `This room is full (${this.rules.maxPeersPerRoom} devices).` };
    }
    room.workers.set(member.peerId, member);
    member.role = 'worker';
    member.roomId = room.id;
    room.lastActiveMs = this.now();
    room.owner?.send({ type: 'peer-joined', peerId: member.peerId, role: 'worker' });
    return { ok: true };
  }

  /** The welcome a member gets right after host/join succeeded. */
  describeFor(member: Member): { ownerId: string | null; workers: string[] } {
    const room = member.roomId ? this.rooms.get(member.roomId) : undefined;
    if (!room) return { ownerId: null, workers: [] };
    return {
      ownerId: room.owner?.peerId ?? null,
      workers: member.role === 'owner' ? [...room.workers.keys()] : [],
    };
  }

  /** Relays an opaque WebRTC signal to another member of the sender's room, stamping `from`. */
  relaySignal(from: Member, to: string, data: Record<string, unknown>): RoomOutcome {
    const found = this.peerOf(from, to);
    if (!found.ok) return found;
    found.target.send({ type: 'signal', from: from.peerId, data });
    return { ok: true };
  }

  /**
   * The member of the sender's room that `to` names (never the sender itself): only members of
   * one room reach each other, for signals and relayed frames alike.
   */
  peerOf(from: Member, to: string): { ok: true; target: Member } | Extract<RoomOutcome, { ok: false }> {
    const room = from.roomId ? this.rooms.get(from.roomId) : undefined;
    if (!room) return { ok: false, code: 'ERR_NOT_IN_ROOM', message: 'Join or host a room before signalling.' };
    const target = room.owner?.peerId === to ? room.owner : room.workers.get(to);
    if (!target || target === from) {
      return { ok: false, code: 'ERR_UNKNOWN_PEER', message: `No peer ${to} in this room (it may have just left).` };
    }
    room.lastActiveMs = this.now();
    return { ok: true, target };
  }

  /**
   * Removes a member (closed socket, or `explicit` leave) and tells the others. A room whose
   * owner left explicitly (its page closed or reloaded) goes as soon as no worker is in it; one
   * with workers waits `roomIdleMs` for the owner to come back, as after a dropped socket.
   */
  leave(member: Member, explicit = false): void {
    const room = member.roomId ? this.rooms.get(member.roomId) : undefined;
    const role = member.role;
    member.roomId = null;
    if (!room || !role) return;
    if (role === 'owner') {
      if (room.owner !== member) return;
      room.owner = null;
      room.ownerLeft = explicit;
      if (explicit && room.workers.size === 0) {
        this.remove(room);
        return;
      }
      for (const worker of room.workers.values()) worker.send({ type: 'peer-left', peerId: member.peerId, role });
    } else {
      if (!room.workers.delete(member.peerId)) return;
      room.owner?.send({ type: 'peer-left', peerId: member.peerId, role });
      if (room.ownerLeft && room.workers.size === 0) {
        this.remove(room);
        return;
      }
    }
    room.lastActiveMs = this.now();
  }

  /**
   * Closes rooms whose owner has been away for `roomIdleMs` (their workers are told why and
   * disconnected). Returns how many rooms went.
   */
  expireIdle(): number {
    let expired = 0;
    const nowMs = this.now();
    for (const room of this.rooms.values()) {
      if (room.owner || nowMs - room.lastActiveMs < this.rules.roomIdleMs) continue;
      this.remove(room);
      expired++;
      for (const worker of room.workers.values()) {
        worker.roomId = null;
        worker.reject('ERR_NO_ROOM', 'The owner has been away too long; this room was closed. Scan a new QR code.');
      }
    }
    return expired;
  }

  private remove(room: Room): void {
    this.rooms.delete(room.id);
    this.roomsByAddress.remove(room.hostAddress);
  }
}
