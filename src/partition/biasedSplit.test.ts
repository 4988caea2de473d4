import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { biasedSplit, sharesToRanges } from './biasedSplit.ts';
import type { PartitionError } from './errors.ts';

describe('biasedSplit', () => {
  it.each([
    ['total=224 weights=[1,1,1,1]', 224, [1, 1, 1, 1], [56, 56, 56, 56]],
    ['total=224 weights=[2,1,1]', 224, [2, 1, 1], [112, 56, 56]],
    ['total=10 weights=[1,1,1] (remainder to the first)', 10, [1, 1, 1], [4, 3, 3]],
    ['total=3 weights=[100,1,1] (tiny shares round to zero)', 3, [100, 1, 1], [3, 0, 0]],
    ['total=7 weights=[0,1] (zero capability gets nothing)', 7, [0, 1], [0, 7]],
    ['total=0 weights=[1,2]', 0, [1, 2], [0, 0]],
  ])('%s', (_name, total, weights, expected) => {
    expect(biasedSplit(total, weights)).toEqual(expected);
  });

  it('sums exactly, each share within 1 of its exact quota, largest remainders rounded up', () => {
    fc.assert(fc.property(fc.nat(5000), fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }).filter((w) => w.some((x) => x > 0)), (total, weights) => {
      const shares = biasedSplit(total, weights);
      const sum = weights.reduce((a, b) => a + b, 0);
      expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
      shares.forEach((share, i) => {
        const quota = ((weights[i] as number) / sum) * total;
        expect(Number.isInteger(share)).toBe(true);
        expect(share).toBeGreaterThanOrEqual(Math.floor(quota));
        expect(share).toBeLessThanOrEqual(Math.floor(quota) + 1);
      });
    }), { numRuns: 200 });
  });

  it.each([
    ['negative total', -1, [1]],
    ['fractional total', 2.5, [1]],
    ['no devices', 4, []],
    ['all-zero weights', 4, [0, 0]],
    ['a NaN weight', 4, [1, Number.NaN]],
  ])('rejects %s with ERR_PARTITION_ARGUMENT', (_name, total, weights) => {
    expect(() => biasedSplit(total, weights)).toThrow(expect.objectContaining({ code: 'ERR_PARTITION_ARGUMENT' }) as PartitionError);
  });

  it('sharesToRanges makes contiguous inclusive ranges', () => {
    expect(sharesToRanges([2, 0, 3])).toEqual([{ start: 0, end: 1 }, { start: 2, end: 1 }, { start: 2, end: 4 }]);
  });
});
