import { describe, expect, it } from 'vitest';
import { TokenBucket } from './rate-limit.ts';

describe('TokenBucket', () => {
  it('allows a burst, then the sustained rate', () => {
    let now = 0;
    const bucket = new TokenBucket(3, 2, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now = 499;
    expect(bucket.take()).toBe(false);
    now = 500;
    expect(bucket.take()).toBe(true);
    now = 60_000; // refills only up to the burst size
    expect(Array.from({ length: 4 }, () => bucket.take())).toEqual([true, true, true, false]);
  });

  it('spends bytes into debt and says how long to pause until the debt is paid', () => {
    let now = 0;
    const bucket = new TokenBucket(1_000, 500, () => now);
    expect(bucket.spend(600)).toBe(0);
    expect(bucket.spend(900)).toBe(1_000); // 500 in debt at 500/s
    now = 1_000;
    expect(bucket.spend(0)).toBe(0);
    expect(bucket.take()).toBe(false); // exactly paid off: nothing left for a message
  });
});
