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
});
