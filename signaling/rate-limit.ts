/** A token bucket: `capacity` messages at once, refilled at `ratePerSec`. */
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
    const nowMs = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.lastRefillMs) / 1000) * this.ratePerSec);
    this.lastRefillMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
