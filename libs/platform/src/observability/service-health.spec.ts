import {
  evaluateServiceHealth,
  overallStatus,
  ServiceCallTracker,
  ServiceSnapshot,
} from './service-health';

const NOW = 1_700_000_000_000;

function snapshot(overrides: Partial<ServiceSnapshot> = {}): ServiceSnapshot {
  return {
    mode: 'live',
    circuit: 'closed',
    last_success_at: NOW - 1_000,
    last_failure_at: null,
    consecutive_failures: 0,
    ...overrides,
  };
}

describe('evaluateServiceHealth', () => {
  it('is healthy when every worker sees the service answer', () => {
    expect(evaluateServiceHealth([snapshot(), snapshot()], { now: NOW })).toBe('healthy');
  });

  it('is unhealthy when every circuit is open, degraded when only some are', () => {
    expect(evaluateServiceHealth([snapshot({ circuit: 'open' })], { now: NOW })).toBe('unhealthy');
    expect(evaluateServiceHealth([snapshot({ circuit: 'open' }), snapshot()], { now: NOW })).toBe(
      'degraded',
    );
    expect(evaluateServiceHealth([snapshot({ circuit: 'half_open' })], { now: NOW })).toBe(
      'degraded',
    );
  });

  it('is degraded by recent failures since the last success, not by old ones', () => {
    const failing = snapshot({
      consecutive_failures: 2,
      last_success_at: NOW - 60_000,
      last_failure_at: NOW - 5_000,
    });
    expect(evaluateServiceHealth([failing], { now: NOW })).toBe('degraded');
    const old = snapshot({
      consecutive_failures: 2,
      last_success_at: NOW - 20 * 60_000,
      last_failure_at: NOW - 10 * 60_000,
    });
    expect(evaluateServiceHealth([old], { now: NOW })).toBe('healthy');
  });

  it('is degraded when the GitHub budget is below the floor', () => {
    expect(
      evaluateServiceHealth([snapshot({ rate_limit_remaining: 40 })], {
        now: NOW,
        minRateLimitRemaining: 100,
      }),
    ).toBe('degraded');
  });

  it('is degraded while an identity waits out a GitHub rate limit, and not after', () => {
    const limited = snapshot({
      rate_limited: [{ identity: 'installation:7', kind: 'secondary', until: NOW + 30_000 }],
    });
    expect(evaluateServiceHealth([limited], { now: NOW })).toBe('degraded');
    expect(evaluateServiceHealth([limited], { now: NOW + 30_000 })).toBe('healthy');
  });

  it('says unknown without reports and disabled when no worker calls the service', () => {
    expect(evaluateServiceHealth([], { now: NOW })).toBe('unknown');
    expect(evaluateServiceHealth([snapshot({ mode: 'dry_run' })], { now: NOW })).toBe('disabled');
  });
});

describe('overallStatus', () => {
  const checks = {
    database: 'healthy',
    redis: 'healthy',
    workers: 'healthy',
    github_api: 'healthy',
    codegen_api: 'disabled',
  } as const;

  it('is unhealthy only when a critical check is', () => {
    expect(overallStatus({ ...checks, database: 'unhealthy' }, ['database'])).toBe('unhealthy');
    expect(overallStatus({ ...checks, redis: 'unhealthy' }, ['database'])).toBe('degraded');
    expect(overallStatus({ ...checks, redis: 'unhealthy' }, ['database', 'redis'])).toBe(
      'unhealthy',
    );
  });

  it('is degraded by any degraded check and healthy otherwise', () => {
    expect(overallStatus({ ...checks, github_api: 'degraded' }, ['database'])).toBe('degraded');
    expect(overallStatus(checks, ['database'])).toBe('healthy');
  });
});

describe('ServiceCallTracker', () => {
  it('counts consecutive transient failures and resets on an answer', () => {
    let now = NOW;
    const tracker = new ServiceCallTracker(
      () => 'closed',
      'live',
      () => now,
    );
    const event = { service: 'github', operation: 'op', durationSeconds: 0.1 };
    tracker.record({ ...event, status: '5xx' });
    now += 10;
    tracker.record({ ...event, status: 'timeout' });
    expect(tracker.snapshot()).toMatchObject({
      consecutive_failures: 2,
      last_failure_at: NOW + 10,
    });
    tracker.record({ ...event, status: '4xx', rateLimit: { remaining: 99, resource: 'core' } });
    expect(tracker.snapshot()).toMatchObject({
      consecutive_failures: 0,
      last_success_at: NOW + 10,
      rate_limit_remaining: 99,
    });
  });
});
