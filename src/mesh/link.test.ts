import { describe, expect, it } from 'vitest';
import { MeshError } from '../errors.ts';
import { MessageLink } from './link.ts';
import { memoryTransportPair } from './transport.ts';
import { MessageKind, encodeMessage, wireTensor, type IncomingMessage } from './wire/index.ts';

function linkPair(options: ConstructorParameters<typeof MessageLink>[1] = {}, bytesPerMs?: number) {
  const [a, b] = memoryTransportPair(bytesPerMs === undefined ? {} : { bytesPerMs });
  return { a: new MessageLink(a, options), b: new MessageLink(b, options), rawA: a, rawB: b };
}
const closed = (link: MessageLink) => new Promise<MeshError | null>((resolve) => link.on('close', resolve));

describe('MessageLink', () => {
  it('answers requests with tensors and correlates concurrent responses', async () => {
    const { a, b } = linkPair({ chunkBytes: 1000 });
    b.setRequestHandler(async (req) => {
      const input = req.tensors[0]?.data as Float32Array;
      await new Promise((r) => setTimeout(r, (req.meta as { delay: number }).delay));
      return { meta: { sum: input.reduce((s, v) => s + v, 0) }, tensors: [wireTensor([input.length], input.map((v) => v * 2))] };
    });
    const replies = await Promise.all(
      [30, 0, 10].map((delay, i) => a.request({ delay }, [wireTensor([500], new Float32Array(500).fill(i + 1))])),
    );
    expect(replies.map((r) => r.meta)).toEqual([{ sum: 500 }, { sum: 1000 }, { sum: 1500 }]);
    expect([...(replies[2]?.tensors[0]?.data ?? [])].every((v) => v === 6)).toBe(true);
  });

  it('reports a failing remote handler with its code', async () => {
    const { a, b } = linkPair();
    b.setRequestHandler(() => {
      throw Object.assign(new Error('no such layer'), { code: 'ERR_BAD_LAYER' });
    });
    await expect(a.request({ method: 'x' })).rejects.toMatchObject({ code: 'ERR_REMOTE', detail: 'ERR_BAD_LAYER' });
  });

  it('times out a request that gets no response', async () => {
    const { a, b } = linkPair();
    b.setRequestHandler(() => new Promise(() => {}));
    await expect(a.request({}, [], { timeoutMs: 50 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
  });

  it('paces a large message by the buffered amount and never exceeds the high-water mark by more than a frame', async () => {
    const { a, b, rawA } = linkPair({ chunkBytes: 16 * 1024, highWaterBytes: 64 * 1024, lowWaterBytes: 16 * 1024 }, 2_000);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rawA.bufferedAmount)), 1);
    const received = new Promise<IncomingMessage>((resolve) => b.on('message', resolve));
    await a.send({ kind: MessageKind.Ping, meta: { t: 1 }, tensors: [wireTensor([256 * 1024], new Uint8Array(256 * 1024))] });
    clearInterval(sampler);
    expect(peak).toBeLessThanOrEqual(64 * 1024 + 16 * 1024 + 64);
    expect((await received).tensors[0]?.data.byteLength).toBe(256 * 1024);
  });

  it('drops a peer that sends a malformed frame, with the decoder’s reason', async () => {
    const { a, rawB } = linkPair();
    const reason = closed(a);
    rawB.send(new Uint8Array([1, 2, 3]));
    expect(await reason).toMatchObject({ code: 'ERR_WIRE_DECODE', message: expect.stringContaining('shorter than') as unknown });
  });

  it('frees a partial message when the peer vanishes in the middle of it, and fails pending requests', async () => {
    const [rawA, rawB] = memoryTransportPair();
    const a = new MessageLink(rawA);
    const pending = a.request({ method: 'never answered' }).catch((e: MeshError) => e);
    const frames = encodeMessage({ kind: MessageKind.Request, requestId: 9, tensors: [wireTensor([10_000], new Float32Array(10_000))] }, 1, 1024);
    for (const frame of frames.slice(0, 5)) rawB.send(frame);
    await new Promise((r) => setTimeout(r, 10));
    const internals = a as unknown as { reassembler: { partialBytes: number } };
    expect(internals.reassembler.partialBytes).toBeGreaterThan(40_000);
    const reason = closed(a);
    rawB.close();
    expect(await reason).toMatchObject({ code: 'ERR_CONNECTION' });
    expect(internals.reassembler.partialBytes).toBe(0);
    expect(await pending).toMatchObject({ code: 'ERR_CONNECTION' });
  });

  it('drops a peer whose error response does not follow the schema, failing the request with that reason', async () => {
    const [rawA, rawB] = memoryTransportPair();
    const a = new MessageLink(rawA);
    const pending = a.request({ method: 'x' }).catch((e: MeshError) => e);
    const reason = closed(a);
    const [frame] = encodeMessage({ kind: MessageKind.ErrorResponse, requestId: 1, meta: { code: 42, message: ['not', 'text'] } }, 1, 1024);
    rawB.send(frame as Uint8Array);
    expect(await reason).toMatchObject({ code: 'ERR_PROTOCOL', message: expect.stringContaining('malformed error response') as unknown });
    expect(await pending).toMatchObject({ code: 'ERR_PROTOCOL' });
  });

  it('caps a remote error’s text and replaces a code that is not one', async () => {
    const { a, b } = linkPair();
    b.setRequestHandler(() => {
      throw Object.assign(new Error('x'.repeat(5_000)), { code: 'not a code; <script>' });
    });
    const err = (await a.request({}).catch((e: MeshError) => e)) as MeshError;
    expect(err).toMatchObject({ code: 'ERR_REMOTE', detail: 'ERR_HANDLER' });
    expect(err.message.length).toBeLessThan(600);
  });

  it('drops a peer that keeps more requests in progress than allowed', async () => {
    const [rawA, rawB] = memoryTransportPair();
    const a = new MessageLink(rawA, { maxConcurrentRequests: 3 });
    a.setRequestHandler(() => new Promise(() => {})); // never answers: every request stays in progress
    const reason = closed(a);
    for (let id = 1; id <= 4; id++) rawB.send(encodeMessage({ kind: MessageKind.Request, requestId: id, meta: {} }, id, 1024)[0] as Uint8Array);
    expect(await reason).toMatchObject({ code: 'ERR_PROTOCOL', message: expect.stringContaining('more than 3 requests') as unknown });
  });

  it('drops a peer whose requests pile up responses behind a full channel', async () => {
    // A slow channel (10 bytes/ms, high-water 200 bytes): error responses wait to go out.
    const [rawA, rawB] = memoryTransportPair({ bytesPerMs: 10 });
    const a = new MessageLink(rawA, { maxConcurrentRequests: 5, highWaterBytes: 200, lowWaterBytes: 100 });
    const reason = closed(a);
    for (let id = 1; id <= 30; id++) rawB.send(encodeMessage({ kind: MessageKind.Request, requestId: id, meta: {} }, id, 1024)[0] as Uint8Array);
    expect(await reason).toMatchObject({ code: 'ERR_PROTOCOL', message: expect.stringContaining('more than 5 requests') as unknown });
  });

  it('refuses to send after destroy, and destroy is idempotent', async () => {
    const { a } = linkPair();
    let closes = 0;
    a.on('close', () => closes++);
    a.destroy();
    a.destroy(new MeshError('ERR_PROTOCOL', 'again'));
    expect(closes).toBe(1);
    expect(a.reason).toBeNull();
    await expect(a.send({ kind: MessageKind.Ping, meta: { t: 0 } })).rejects.toMatchObject({ code: 'ERR_DESTROYED' });
  });
});
