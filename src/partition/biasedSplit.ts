import { partitionAssert } from './errors.ts';

/**
 * Splits `total` units into one share per device, proportional to `weights` (capabilities),
 * by the largest-remainder method so the shares sum to exactly `total` (ALGORITHMS.md §3):
 * `biasedSplit(224, [2, 1, 1])` is `[112, 56, 56]`. A device whose share rounds to zero gets 0.
 * Ties in the remainders go to the earlier device, so the result is deterministic.
 *
 * @param total non-negative integer (e.g. output rows).
 * @param weights one finite, non-negative weight per device, not all zero.
 */
export function biasedSplit(total: number, weights: readonly number[]): number[] {
  partitionAssert(Number.isInteger(total) && total >= 0, 'ERR_PARTITION_ARGUMENT', () =>
    `biasedSplit: total must be a non-negative integer, got ${total}`);
  partitionAssert(weights.length > 0 && weights.every((w) => Number.isFinite(w) && w >= 0), 'ERR_PARTITION_ARGUMENT', () =>
    `biasedSplit: weights must be finite and ≥ 0, got [${weights.join(', ')}]`);
  const sum = weights.reduce((a, b) => a + b, 0);
  partitionAssert(sum > 0, 'ERR_PARTITION_ARGUMENT', () => `biasedSplit: weights are all zero`);
  const exact = weights.map((w) => (w / sum) * total);
  const shares = exact.map(Math.floor);
  let remaining = total - shares.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((value, index) => ({ index, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of byRemainder) {
    if (remaining === 0) break;
    shares[index] = (shares[index] as number) + 1;
    remaining--;
  }
  return shares;
}

/** Contiguous inclusive [start, end] ranges for consecutive shares (empty ranges have end < start). */
export function sharesToRanges(shares: readonly number[]): { start: number; end: number }[] {
  let start = 0;
  return shares.map((share) => {
    const range = { start, end: start + share - 1 };
    start += share;
    return range;
  });
}
