/**
 * A simulated room for `npm run load:signaling`: one owner and its workers, each its own
 * WebSocket, negotiating as the pages do: the owner sends each worker an offer and trickles its
 * candidates; the worker answers the offer and trickles its own.
 */
import { joinTokenFor, newRoomCredentials, ownerTokenFor } from '../src/mesh/room-credentials.ts';
import { SignalingSocket, type CloseInfo, type RoomEntry } from './load-client.ts';

export type { RoomEntry };
import { answer, candidate, offer, type RelayLedger } from './load-traffic.ts';

/** Host candidates a phone trickles per negotiation (one per interface and family, roughly). */
export const CANDIDATES_PER_SIDE = 4;

/** A room's entries: the owner's host message and the workers' join, with tokens derived as the page does. */
export async function roomEntries(): Promise<{ host: RoomEntry; join: RoomEntry }> {
  const credentials = newRoomCredentials();
  const joinToken = await joinTokenFor(credentials.joinKey);
  return {
    host: { type: 'host', roomId: credentials.roomId, joinToken, ownerToken: await ownerTokenFor(credentials.ownerSecret) },
    join: { type: 'join', roomId: credentials.roomId, joinToken },
  };
}

/** Opens a socket and enters; records the time from the first byte to the welcome, in ms. */
async function enter(url: string, entry: RoomEntry, welcomeMs: number[], localAddress?: string): Promise<{ socket: SignalingSocket; peerId: string }> {
  const startedMs = performance.now();
  const socket = new SignalingSocket(url, localAddress ? { localAddress } : {});
  const welcome = await socket.enter(entry);
  welcomeMs.push(performance.now() - startedMs);
  return { socket, peerId: welcome.peerId };
}

export class SimRoom {
  private constructor(
    /** How a further worker would join this room. */
    readonly joinEntry: RoomEntry,
    readonly owner: { socket: SignalingSocket; peerId: string },
    readonly workers: { socket: SignalingSocket; peerId: string }[],
    private readonly ledger: RelayLedger,
  ) {
    owner.socket.onSignal = (from, data) => ledger.recordArrival(owner.peerId, from, data);
    for (const worker of workers) {
      worker.socket.onSignal = (from, data) => {
        ledger.recordArrival(worker.peerId, from, data);
        if (data['type'] === 'offer') this.reply(worker, from);
      };
    }
  }

  /** The owner hosts first (as on the page), then the workers join together; all from `localAddress` when given (one home). */
  static async open(url: string, workerCount: number, ledger: RelayLedger, welcomeMs: number[], localAddress?: string): Promise<SimRoom> {
    const entries = await roomEntries();
    const owner = await enter(url, entries.host, welcomeMs, localAddress);
    const workers = await Promise.all(Array.from({ length: workerCount }, () => enter(url, entries.join, welcomeMs, localAddress)));
    return new SimRoom(entries.join, owner, workers, ledger);
  }

  get sockets(): SignalingSocket[] {
    return [this.owner.socket, ...this.workers.map((w) => w.socket)];
  }

  /** One negotiation with every worker; the answers and their candidates follow from `reply`. */
  negotiate(): void {
    for (const worker of this.workers) {
      this.send(this.owner, worker.peerId, offer(this.ledger.seq()));
      for (let i = 0; i < CANDIDATES_PER_SIDE; i++) this.send(this.owner, worker.peerId, candidate(this.ledger.seq(), i));
    }
  }

  /** Everyone leaves as the page does; resolves with each close. */
  leave(): Promise<CloseInfo[]> {
    return Promise.all(this.sockets.map((s) => s.leave()));
  }

  private reply(worker: { socket: SignalingSocket; peerId: string }, to: string): void {
    this.send(worker, to, answer(this.ledger.seq()));
    for (let i = 0; i < CANDIDATES_PER_SIDE; i++) this.send(worker, to, candidate(this.ledger.seq(), i));
  }

  private send(from: { socket: SignalingSocket; peerId: string }, to: string, data: ReturnType<typeof offer>): void {
    if (!from.socket.isOpen) return;
    this.ledger.recordSend(from.peerId, to, data);
    from.socket.signal(to, data);
  }
}
