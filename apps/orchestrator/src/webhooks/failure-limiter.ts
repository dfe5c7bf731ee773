/**
 * Token bucket per client address for requests that fail verification. Verified deliveries
 * never touch it: GitHub does not retry, so throttling a genuine delivery would lose it.
 */
export class FailureLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();
  private lastSweep = 0;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly maxClients = 100_000,
  ) {}

  /**
   * Records one failed request from `client`. Returns 0 when it is within the limit, otherwise
   * the seconds to wait before the next failed request would be allowed.
   */
  consume(client: string): number {
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(client) ?? { tokens: this.burst, updatedAt: now };
    bucket.tokens = Math.min(
      this.burst,
      bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.ratePerSecond,
    );
    bucket.updatedAt = now;
    // Re-inserted, so the map's order stays oldest-used first (what eviction takes).
    this.buckets.delete(client);
    this.buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond));
  }

  /** Drops full buckets so a spray of addresses cannot grow memory without bound. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 10_000 && this.buckets.size < this.maxClients) return;
    this.lastSweep = now;
    const refill = (this.burst / this.ratePerSecond) * 1000;
    for (const [client, bucket] of this.buckets) {
      if (now - bucket.updatedAt >= refill) this.buckets.delete(client);
    }
    // Still full of live buckets (a spray of addresses): evict the least recently used, never
    // all of them, so the clients that were being limited stay limited.
    for (const client of this.buckets.keys()) {
      if (this.buckets.size < this.maxClients) break;
      this.buckets.delete(client);
    }
  }
}
