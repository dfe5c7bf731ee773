import { RateLimitBudgets } from './rate-limit-budget';

function headers(values: Record<string, string | number>): Headers {
  const h = new Headers();
  for (const [name, value] of Object.entries(values)) h.set(name, String(value));
  return h;
}

describe('RateLimitBudgets', () => {
  const start = Date.UTC(2025, 0, 1, 12);
  let clock: number;
  let budgets: RateLimitBudgets;
  const resetIn = (ms: number) => Math.floor((start + ms) / 1000);

  beforeEach(() => {
    clock = start;
    budgets = new RateLimitBudgets(() => clock);
  });

  it('keeps one budget per identity from the answers it was sent as', () => {
    budgets.record(
      'installation:1',
      headers({
        'x-ratelimit-limit': 5000,
        'x-ratelimit-remaining': 40,
        'x-ratelimit-reset': resetIn(600_000),
      }),
    );
    budgets.record('installation:2', headers({ 'x-ratelimit-remaining': 4900 }));
    budgets.record(
      'token',
      headers({ 'x-ratelimit-remaining': 12, 'x-ratelimit-resource': 'core' }),
    );

    expect(budgets.get('installation:1')).toEqual({
      identity: 'installation:1',
      installationId: 1,
      limit: 5000,
      remaining: 40,
      resetAtMs: resetIn(600_000) * 1000,
      observedAtMs: start,
    });
    expect(budgets.get('installation:2')).toMatchObject({ remaining: 4900, resetAtMs: null });
    expect(budgets.get('token')).toMatchObject({ remaining: 12, installationId: null });
    expect(budgets.get('anonymous')).toBeNull();
    expect(budgets.all().map((b) => b.identity)).toEqual([
      'installation:1',
      'installation:2',
      'token',
    ]);
    expect(budgets.lastRemaining).toBe(12);
  });

  it('ignores the search and GraphQL budgets, which say nothing about REST calls', () => {
    budgets.record('token', headers({ 'x-ratelimit-remaining': 4000 }));
    budgets.record(
      'token',
      headers({ 'x-ratelimit-remaining': 3, 'x-ratelimit-resource': 'search' }),
    );
    expect(budgets.get('token')?.remaining).toBe(4000);
  });

  it('asks background work to wait until the reset once fewer than the reserve are left', () => {
    budgets.record(
      'installation:1',
      headers({ 'x-ratelimit-remaining': 99, 'x-ratelimit-reset': resetIn(120_000) }),
    );
    budgets.record(
      'installation:2',
      headers({ 'x-ratelimit-remaining': 100, 'x-ratelimit-reset': resetIn(120_000) }),
    );
    expect(budgets.waitMs('installation:1', 100)).toBe(120_000);
    expect(budgets.waitMs('installation:2', 100)).toBe(0);
    expect(budgets.waitMs('installation:1', 50)).toBe(0);
    expect(budgets.waitMs('installation:3', 100)).toBe(0);
    clock += 100_000;
    expect(budgets.waitMs('installation:1', 100)).toBe(20_000);
  });

  it('says whether any budget is low, until its window resets', () => {
    expect(budgets.anyWaiting(100)).toBe(false);
    budgets.record(
      'installation:2',
      headers({ 'x-ratelimit-remaining': 500, 'x-ratelimit-reset': resetIn(60_000) }),
    );
    expect(budgets.anyWaiting(100)).toBe(false);
    budgets.record(
      'installation:1',
      headers({ 'x-ratelimit-remaining': 10, 'x-ratelimit-reset': resetIn(60_000) }),
    );
    expect(budgets.anyWaiting(100)).toBe(true);
    expect(budgets.anyWaiting(5)).toBe(false);
    clock += 60_000;
    expect(budgets.anyWaiting(100)).toBe(false);
  });

  it('forgets a budget once its window has reset', () => {
    budgets.record(
      'installation:1',
      headers({ 'x-ratelimit-remaining': 0, 'x-ratelimit-reset': resetIn(60_000) }),
    );
    clock += 60_000;
    expect(budgets.get('installation:1')).toBeNull();
    expect(budgets.waitMs('installation:1', 100)).toBe(0);
    expect(budgets.all()).toEqual([]);
  });

  it('does not wait when GitHub did not say when the window resets', () => {
    budgets.record('token', headers({ 'x-ratelimit-remaining': 1 }));
    expect(budgets.waitMs('token', 100)).toBe(0);
  });
});
