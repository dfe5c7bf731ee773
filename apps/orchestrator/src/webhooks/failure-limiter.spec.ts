import { FailureLimiter } from './failure-limiter';

describe('FailureLimiter', () => {
  it('allows a burst of 20 failures, then asks the client to wait', () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter(10, 20, () => now);
    for (let i = 0; i < 20; i++) expect(limiter.consume('1.2.3.4')).toBe(0);
    expect(limiter.consume('1.2.3.4')).toBeGreaterThan(0);
    // Another address has its own bucket.
    expect(limiter.consume('5.6.7.8')).toBe(0);
    // After 100 ms, one more token (10 per second).
    now += 100;
    expect(limiter.consume('1.2.3.4')).toBe(0);
    expect(limiter.consume('1.2.3.4')).toBeGreaterThan(0);
  });

  it('sustains the configured rate and no more', () => {
    let now = 0;
    const limiter = new FailureLimiter(10, 20, () => now);
    let allowed = 0;
    for (let ms = 0; ms < 10_000; ms += 10) {
      now = ms;
      if (limiter.consume('client') === 0) allowed++;
    }
    // 20 burst + 10/s for 10 s, give or take one token at the edges.
    expect(allowed).toBeGreaterThanOrEqual(119);
    expect(allowed).toBeLessThanOrEqual(121);
  });

  it('bounds memory under a spray of addresses', () => {
    const limiter = new FailureLimiter(10, 20, () => 0, 1000);
    for (let i = 0; i < 5000; i++) limiter.consume(`10.0.${i >> 8}.${i & 255}`);
    expect(
      (limiter as unknown as { buckets: Map<string, unknown> }).buckets.size,
    ).toBeLessThanOrEqual(1000);
  });

  it('at its cap evicts the least recently used buckets, not every bucket', () => {
    const now = 0;
    const limiter = new FailureLimiter(1, 3, () => now, 1000);
    for (let i = 0; i < 3; i++) expect(limiter.consume('198.51.100.1')).toBe(0);
    expect(limiter.consume('198.51.100.1')).toBeGreaterThan(0);
    // A spray of new addresses fills the map; the limited client keeps failing meanwhile.
    for (let i = 0; i < 5000; i++) {
      limiter.consume(`10.1.${i >> 8}.${i & 255}`);
      if (i % 100 === 0) expect(limiter.consume('198.51.100.1')).toBeGreaterThan(0);
    }
    expect(limiter.consume('198.51.100.1')).toBeGreaterThan(0);
    const buckets = (limiter as unknown as { buckets: Map<string, unknown> }).buckets;
    expect(buckets.size).toBeLessThanOrEqual(1000);
    // The newest addresses are kept; the oldest went first.
    expect(buckets.has('10.1.19.135')).toBe(true);
    expect(buckets.has('10.1.0.0')).toBe(false);
  });
});
