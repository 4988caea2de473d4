import type { SignalData } from 'simple-peer';
import { describe, expect, it } from 'vitest';
import type { MeshError } from '../errors.ts';
import { newNonce } from './channel-auth.ts';
import { RelayCryptoError, RelaySealer } from './relay-crypto.ts';
import { RelayTransport, type RelayPort } from './relay-transport.ts';

const JOIN_KEY = 'room-join-key-0123456789ab';
const frame = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

async function sealers(workerKey = JOIN_KEY) {
  const ownerNonce = newNonce();
  const workerNonce = newNonce();
  return { owner: await RelaySealer.create(JOIN_KEY, 'owner', ownerNonce, workerNonce), worker: await RelaySealer.create(workerKey, 'worker', ownerNonce, workerNonce) };
}

describe('RelaySealer', () => {
  it('opens what the other side sealed, in order, both ways; the server sees no plaintext', async () => {
    const { owner, worker } = await sealers();
    const plain = frame(1000, 3);
    const sealed = await owner.seal(plain);
    expect(sealed.byteLength).toBe(plain.byteLength + 24);
    expect(Buffer.from(sealed).includes(Buffer.from(plain.subarray(0, 16)))).toBe(false);
    expect(await worker.open(sealed)).toEqual(plain);
    expect(await worker.open(await owner.seal(frame(5, 1)))).toEqual(frame(5, 1));
    expect(await owner.open(await worker.seal(frame(7, 2)))).toEqual(frame(7, 2));
  });

  it('refuses a frame altered on the way', async () => {
    const { owner, worker } = await sealers();
    const sealed = await owner.seal(frame(100));
    for (const at of [8, 50, sealed.byteLength - 1]) {
      const tampered = sealed.slice();
      tampered[at] = (tampered[at] as number) ^ 1;
      await expect(worker.open(tampered)).rejects.toThrow(/failed authentication/);
    }
    expect(await worker.open(sealed)).toEqual(frame(100)); // the genuine one still opens
  });

  it('refuses a replayed, a skipped or a reordered frame', async () => {
    const { owner, worker } = await sealers();
    const [first, second, third] = [await owner.seal(frame(10, 1)), await owner.seal(frame(10, 2)), await owner.seal(frame(10, 3))];
    await worker.open(first);
    await expect(worker.open(first)).rejects.toThrow(/frame 0 where 1 was due/);
    await expect(worker.open(third)).rejects.toThrow(RelayCryptoError);
    expect(await worker.open(second)).toEqual(frame(10, 2));
  });

  it('a frame sealed with another join key, or reflected back to its sender, does not open', async () => {
    const { owner, worker } = await sealers('a-guessed-key-0123456789ab');
    await expect(worker.open(await owner.seal(frame(10)))).rejects.toThrow(/failed authentication/);
    const same = await sealers();
    await expect(same.owner.open(await same.owner.seal(frame(10)))).rejects.toThrow(/failed authentication/);
  });
});

/** Two relay lanes joined back to back, standing in for the server; `alter` may rewrite what passes. */
function lanes(alter: (frame: Uint8Array, index: number) => Uint8Array[] = (f) => [f]) {
  const make = (): RelayPort & { peer?: RelayPort; sent: number } => ({
    onFrame: null,
    onClose: null,
    bufferedAmount: 0,
    sent: 0,
    send(bytes) {
      const index = this.sent++;
      const target = this.peer;
      setTimeout(() => {
        for (const out of alter(bytes, index)) target?.onFrame?.(out);
      }, 0);
    },
    close() {},
  });
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b] as const;
}

function relayPair(alter?: (frame: Uint8Array, index: number) => Uint8Array[], workerKey = JOIN_KEY) {
  const [ownerLane, workerLane] = lanes(alter);
  let worker: RelayTransport | null = null;
  const owner = new RelayTransport({ initiator: true, joinKey: JOIN_KEY, port: ownerLane, onSignal: (s) => setTimeout(() => worker?.signal(s), 0) });
  worker = new RelayTransport({ initiator: false, joinKey: workerKey, port: workerLane, onSignal: (s: SignalData) => setTimeout(() => owner.signal(s), 0) });
  return { owner, worker };
}
const received = (t: RelayTransport, count: number) =>
  new Promise<Uint8Array[]>((resolve) => {
    const got: Uint8Array[] = [];
    t.onFrame = (f) => {
      got.push(f);
      if (got.length === count) resolve(got);
    };
  });
const closedWith = (t: RelayTransport) => new Promise<MeshError | null>((resolve) => (t.onClose = resolve));

describe('RelayTransport', () => {
  it('sets up through two signals, carries frames in order both ways, and tells a matching binding on each side', async () => {
    const { owner, worker } = relayPair();
    await Promise.all([owner.connected, worker.connected]);
    expect(owner.relayed).toBe(true);
    const ownerView = owner.channelBinding();
    const workerView = worker.channelBinding();
    expect(ownerView?.local).toMatch(/^relay:/);
    expect(ownerView).toEqual({ local: workerView?.remote, remote: workerView?.local });
    const atWorker = received(worker, 3);
    const atOwner = received(owner, 1);
    owner.send(frame(10, 1));
    owner.send(frame(200_000, 2));
    owner.send(frame(1, 3));
    worker.send(frame(33, 4));
    const frames = await atWorker;
    expect(frames.map((f) => f.byteLength)).toEqual([10, 200_000, 1]);
    expect(Buffer.from(frames[1] as Uint8Array).equals(frame(200_000, 2))).toBe(true);
    expect(await atOwner).toEqual([frame(33, 4)]);
  });

  it('closes with the reason when a relayed frame was altered on the way', async () => {
    const { owner, worker } = relayPair((f, i) => {
      if (i !== 1) return [f];
      const bad = f.slice();
      bad[20] = (bad[20] as number) ^ 0x80;
      return [bad];
    });
    await Promise.all([owner.connected, worker.connected]);
    const closed = closedWith(worker);
    owner.send(frame(50, 1));
    owner.send(frame(50, 2));
    expect(await closed).toMatchObject({ code: 'ERR_PROTOCOL', message: expect.stringContaining('failed authentication') as unknown });
    expect(worker.isOpen).toBe(false);
  });

  it('closes with the reason when the server replays a frame', async () => {
    const { owner, worker } = relayPair((f, i) => (i === 0 ? [f, f] : [f]));
    await Promise.all([owner.connected, worker.connected]);
    const got: Uint8Array[] = [];
    worker.onFrame = (f) => got.push(f);
    const closed = closedWith(worker);
    owner.send(frame(50, 1));
    expect(await closed).toMatchObject({ code: 'ERR_PROTOCOL', message: expect.stringContaining('replayed') as unknown });
    expect(got).toHaveLength(1);
  });

  it('a side with another join key opens nothing: the first frame closes it', async () => {
    const { owner, worker } = relayPair(undefined, 'a-guessed-key-0123456789ab');
    await Promise.all([owner.connected, worker.connected]);
    const closed = closedWith(worker);
    owner.send(frame(50));
    expect(await closed).toMatchObject({ code: 'ERR_PROTOCOL' });
  });

  it('refuses a malformed relay signal and gives up when the other side never answers', async () => {
    const [lane] = lanes();
    const responder = new RelayTransport({ initiator: false, joinKey: JOIN_KEY, port: lane, onSignal: () => {} });
    responder.signal({ type: 'relay', nonce: 'short' } as unknown as SignalData);
    await expect(responder.connected).rejects.toMatchObject({ code: 'ERR_CONNECTION', message: expect.stringContaining('malformed relay signal') as unknown });
    const lonely = new RelayTransport({ initiator: true, joinKey: JOIN_KEY, port: lanes()[0], onSignal: () => {}, connectTimeoutMs: 50 });
    await expect(lonely.connected).rejects.toMatchObject({ code: 'ERR_CONNECTION', message: expect.stringContaining('no relay') as unknown });
  });
});
