import { RateLimitHolds, rateLimitAnswer } from './rate-limit-holds';

const headers = (values: Record<string, string> = {}) => new Headers(values);
const SECONDARY = 'You have exceeded a secondary rate limit. Please wait a few minutes.';

describe('rateLimitAnswer (what GitHub documents as a rate limit)', () => {
  it('reads a 403 or 429 saying a secondary limit was exceeded as one', () => {
    expect(rateLimitAnswer(403, headers(), SECONDARY, undefined)).toEqual({
      kind: 'secondary',
      status: 403,
    });
    expect(rateLimitAnswer(429, headers(), SECONDARY, undefined)).toMatchObject({
      kind: 'secondary',
    });
    // The older wording of the same limit.
    expect(
      rateLimitAnswer(
        403,
        headers(),
        'You have triggered an abuse detection mechanism.',
        undefined,
      ),
    ).toMatchObject({ kind: 'secondary' });
  });

  it('reads any 403/429 with Retry-After as a limit with that wait', () => {
    expect(rateLimitAnswer(403, headers(), 'Forbidden', 30_000)).toEqual({
      kind: 'secondary',
      status: 403,
      retryAfterMs: 30_000,
    });
  });

  it('reads a spent budget as a primary limit that lasts until the reset', () => {
    expect(
      rateLimitAnswer(
        403,
        headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1700000000' }),
        'API rate limit exceeded for installation ID 1.',
        undefined,
      ),
    ).toEqual({ kind: 'primary', status: 403, resetAtMs: 1_700_000_000_000 });
  });

  it('leaves a 403 with no sign of a limit to be a permission error, and other statuses alone', () => {
    expect(
      rateLimitAnswer(
        403,
        headers({ 'x-ratelimit-remaining': '4999' }),
        'Resource not accessible by integration',
        undefined,
      ),
    ).toBeNull();
    expect(rateLimitAnswer(403, headers(), undefined, undefined)).toBeNull();
    expect(rateLimitAnswer(404, headers(), SECONDARY, 1000)).toBeNull();
    expect(rateLimitAnswer(500, headers(), SECONDARY, 1000)).toBeNull();
  });
});

describe('RateLimitHolds', () => {
  it('caps the doubling at 32 times the minimum wait', () => {
    let now = 0;
    const holds = new RateLimitHolds(() => now, 1000);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      waits.push(holds.limited('token', { kind: 'secondary', status: 403 }).untilMs - now);
      now += holds.waitMs('token');
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 32_000, 32_000]);
  });

  it('waits at least a second when Retry-After is 0 or the reset has already passed', () => {
    const now = 1_000_000;
    const holds = new RateLimitHolds(() => now, 60_000);
    expect(
      holds.limited('token', { kind: 'secondary', status: 429, retryAfterMs: 0 }).untilMs,
    ).toBe(now + 1000);
    expect(
      holds.limited('anonymous', { kind: 'primary', status: 403, resetAtMs: now - 5000 }).untilMs,
    ).toBe(now + 60_000);
  });

  it('forgets a hold once it is over, and the count after a success', () => {
    let now = 0;
    const holds = new RateLimitHolds(() => now, 1000);
    holds.limited('installation:7', { kind: 'secondary', status: 403 });
    expect(holds.all()).toEqual([
      expect.objectContaining({ identity: 'installation:7', installationId: 7, untilMs: 1000 }),
    ]);
    now = 1000;
    expect(holds.all()).toEqual([]);
    expect(holds.get('installation:7')).toBeNull();
    holds.succeeded('installation:7');
    expect(holds.limited('installation:7', { kind: 'secondary', status: 403 }).strikes).toBe(1);
  });
});
