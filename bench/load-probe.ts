/**
 * What every junk and abuse probe of `npm run load:signaling` reports, and the small helpers
 * they share (bounded waits, a room with a live owner).
 */
import type { SignalingServerOptions } from '../signaling/server.ts';
import { SignalingSocket, Tally, type CloseInfo } from './load-client.ts';
import { roomEntries } from './load-rooms.ts';

export interface ProbeResult {
  name: string;
  /** What the probe sent, in words. */
  sent: string;
  /** What a sound server does. */
  expected: string;
  /** What this server did, in words, with the counts. */
  observed: string;
  /** Error answers by code and closes as `close <code> <reason>`. */
  answers: Record<string, number>;
  /** Numbers the report picks up (e.g. the refusals a connection is allowed before it is closed). */
  figures?: Record<string, number>;
  /** true / false: a check (false fails the run); null: an observation, reported as a finding. */
  pass: boolean | null;
}

export interface ProbeContext {
  url: string;
  /** The caps the server runs with (its defaults). */
  caps: SignalingServerOptions;
  /** Rooms and connections the server holds now. */
  serverCounts(): Promise<{ rooms: number; connections: number }>;
}

/** Resolves with the promise's value, or with `fallback` after `ms` (a probe must never hang the run). */
export function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    void promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}

/** Polls `condition` every 20 ms until it holds or `ms` pass; returns whether it held. */
export async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** The close as `code reason`, or null while open. */
export const describeClose = (close: CloseInfo | null): string | null => (close ? `${close.code} ${close.reason}`.trim() : null);

/** Error answers and the close of some sockets, merged for a probe's `answers`. */
export function answersOf(...sockets: SignalingSocket[]): Record<string, number> {
  const tally = new Tally();
  for (const socket of sockets) {
    tally.merge(socket.errors);
    const close = describeClose(socket.closeInfo);
    if (close) tally.add(`close ${close}`);
  }
  return tally.toJSON();
}

export interface LiveRoom {
  entries: Awaited<ReturnType<typeof roomEntries>>;
  owner: SignalingSocket;
  ownerId: string;
  /** Joins one more worker; resolves with its socket and id (rejects when refused). */
  join(): Promise<{ socket: SignalingSocket; peerId: string }>;
}

/** A fresh room with its owner connected. */
export async function liveRoom(url: string): Promise<LiveRoom> {
  const entries = await roomEntries();
  const owner = new SignalingSocket(url);
  const welcome = await owner.enter(entries.host);
  return {
    entries,
    owner,
    ownerId: welcome.peerId,
    async join() {
      const socket = new SignalingSocket(url);
      const joined = await socket.enter(entries.join);
      return { socket, peerId: joined.peerId };
    },
  };
}

/** Waits up to `ms` for a socket to close; the close, or null when it stayed open. */
export const closeWithin = (socket: SignalingSocket, ms: number): Promise<CloseInfo | null> =>
  within<CloseInfo | null>(socket.closed, ms, null);
