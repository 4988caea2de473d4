/** A token bucket: `capacity` messages (or bytes) at once, refilled at `ratePerSec`. */
export class TokenBucket {
  private tokens: number;
  private lastRefillMs: number;

  constructor(
    private readonly capacity: number,
    private readonly ratePerSec: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.lastRefillMs = now();
  }

  /** Takes one token; false when the bucket is empty (the caller refuses the message). */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Spends `amount` tokens even when that leaves the bucket in debt (what was received has to be
   * passed on); returns how many ms the caller should stop reading until the debt is paid (0: none).
   */
  spend(amount: number): number {
    this.refill();
    this.tokens -= amount;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSec) * 1000);
  }

  private refill(): void {
    const nowMs = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.lastRefillMs) / 1000) * this.ratePerSec);
    this.lastRefillMs = nowMs;
  }
}
