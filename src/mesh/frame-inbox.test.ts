import { describe, expect, it } from 'vitest';
import { FrameInbox } from './frame-inbox.ts';

const frame = (n: number) => new Uint8Array([n]);

describe('FrameInbox', () => {
  it('keeps frames that arrive before a handler and hands them over in order, before later ones', async () => {
    const inbox = new FrameInbox(8, () => {});
    inbox.deliver(frame(1));
    inbox.deliver(frame(2));
    const got: number[] = [];
    inbox.onFrame = (f) => got.push(f[0] as number);
    inbox.deliver(frame(3)); // arrives while the early ones wait for their microtask
    expect(got).toEqual([]);
    await Promise.resolve();
    expect(got).toEqual([1, 2, 3]);
    inbox.deliver(frame(4));
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it('reports a peer that sends more than it may before anyone listens, and keeps no more', () => {
    const overflows: string[] = [];
    const inbox = new FrameInbox(2, (message) => overflows.push(message));
    for (let i = 0; i < 5; i++) inbox.deliver(frame(i));
    expect(overflows).toHaveLength(3);
    expect(overflows[0]).toMatch(/over 2 frames before the connection was set up/);
  });

  it('forgets its handler and kept frames when cleared', async () => {
    const inbox = new FrameInbox(8, () => {});
    inbox.deliver(frame(1));
    inbox.clear();
    const got: number[] = [];
    inbox.onFrame = (f) => got.push(f[0] as number);
    await Promise.resolve();
    expect(got).toEqual([]);
    expect(inbox.onFrame).not.toBeNull();
  });
});
