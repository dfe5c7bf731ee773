import { ConfigError } from '@app/platform';
import { loadOrchestratorConfig } from './orchestrator.config';

const base = {
  DATABASE_URL: 'postgres://app:pw@db:5432/orchestrator',
  GITHUB_WEBHOOK_SECRET: 'whsec-1',
  SECRET_KEY: 'k'.repeat(32),
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadOrchestratorConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadOrchestratorConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadOrchestratorConfig(base);
    expect(config).toMatchObject({
      port: 8000,
      webhookMaxPayloadBytes: 1_048_576,
      webhookFailureRatePerSecond: 10,
      webhookFailureBurst: 20,
      queueRedisUrl: 'redis://localhost:6379/0',
      logLevel: 'info',
      enableMetrics: true,
      enableTracing: true,
      task: { maxRetries: 3, backoffBaseMs: 1000, backoffMaxMs: 300_000 },
    });
    expect(config.webhookSecrets).toEqual(['whsec-1']);
  });

  it('uses a pool of 8 by default (measured for the intake) and honours DATABASE_POOL_SIZE', () => {
    expect(loadOrchestratorConfig(base).databasePoolSize).toBe(8);
    expect(loadOrchestratorConfig({ ...base, DATABASE_POOL_SIZE: '24' }).databasePoolSize).toBe(24);
    expect(problems({ ...base, DATABASE_POOL_SIZE: '0' }).join()).toMatch(/DATABASE_POOL_SIZE/);
  });

  it('names every missing required variable at once', () => {
    expect(problems({})).toEqual(
      expect.arrayContaining([
        'DATABASE_URL is required',
        expect.stringContaining('GITHUB_WEBHOOK_SECRET is required'),
        'SECRET_KEY is required',
      ]),
    );
  });

  it('never turns verification off: an empty or blank secret is a start-up error', () => {
    expect(problems({ ...base, GITHUB_WEBHOOK_SECRET: '' })[0]).toMatch(
      /GITHUB_WEBHOOK_SECRET is required/,
    );
    expect(problems({ ...base, GITHUB_WEBHOOK_SECRET: '   ' })[0]).toMatch(
      /GITHUB_WEBHOOK_SECRET is required/,
    );
    expect(problems({ ...base, GITHUB_WEBHOOK_SECRET: 'a,,b' })[0]).toMatch(/empty entry/);
    expect(problems({ ...base, GITHUB_WEBHOOK_SECRET: 'a,' })[0]).toMatch(/empty entry/);
  });

  it('accepts several comma-separated secrets for rotation', () => {
    expect(
      loadOrchestratorConfig({ ...base, GITHUB_WEBHOOK_SECRET: 'old, new' }).webhookSecrets,
    ).toEqual(['old', 'new']);
  });

  it('rejects malformed values with a message naming the variable, without echoing URLs', () => {
    const found = problems({
      ...base,
      PORT: 'eighty',
      WEBHOOK_MAX_PAYLOAD_SIZE: '-1',
      ENABLE_METRICS: 'maybe',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://u:secretpw@h/db',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'PORT must be an integer, got "eighty"',
        expect.stringContaining('WEBHOOK_MAX_PAYLOAD_SIZE must be between'),
        expect.stringContaining('ENABLE_METRICS must be true or false'),
        expect.stringContaining('LOG_LEVEL must be one of'),
        expect.stringContaining('DATABASE_URL must use postgres:'),
      ]),
    );
    expect(found.join(' ')).not.toContain('secretpw');
    expect(problems({ ...base, DATABASE_URL: 'not a url with pw=hunter2' })).toEqual([
      'DATABASE_URL is not a valid URL',
    ]);
  });

  it('reads CELERY_BROKER_URL as the queue Redis when REDIS_URL is not set', () => {
    expect(
      loadOrchestratorConfig({ ...base, CELERY_BROKER_URL: 'redis://broker:6379/1' }).queueRedisUrl,
    ).toBe('redis://broker:6379/1');
    expect(
      loadOrchestratorConfig({
        ...base,
        CELERY_BROKER_URL: 'redis://broker:6379/1',
        REDIS_URL: 'redis://r:6379/0',
      }).queueRedisUrl,
    ).toBe('redis://r:6379/0');
  });

  it('accepts the spec-style upper-case LOG_LEVEL', () => {
    expect(loadOrchestratorConfig({ ...base, LOG_LEVEL: 'INFO' }).logLevel).toBe('info');
    expect(loadOrchestratorConfig({ ...base, LOG_LEVEL: 'WARNING' }).logLevel).toBe('warn');
  });

  it('lets operators raise the payload limit to GitHub’s 25 MB', () => {
    expect(
      loadOrchestratorConfig({ ...base, WEBHOOK_MAX_PAYLOAD_SIZE: String(25 * 1024 * 1024) })
        .webhookMaxPayloadBytes,
    ).toBe(26_214_400);
  });

  it('bounds unverified bytes in flight and request times, growing the caps with the payload limit', () => {
    expect(loadOrchestratorConfig(base)).toMatchObject({
      webhookInflightMaxBytes: 64 * 1024 * 1024,
      webhookInflightMaxBytesPerClient: 16 * 1024 * 1024,
      headersTimeoutSeconds: 10,
      requestTimeoutSeconds: 15,
      accessLog: true,
    });
    const big = 25 * 1024 * 1024;
    expect(
      loadOrchestratorConfig({ ...base, WEBHOOK_MAX_PAYLOAD_SIZE: String(big) }),
    ).toMatchObject({
      webhookInflightMaxBytes: 64 * 1024 * 1024,
      webhookInflightMaxBytesPerClient: big,
    });
    expect(loadOrchestratorConfig({ ...base, ACCESS_LOG: 'false' }).accessLog).toBe(false);
  });

  it('keeps stored bodies for the 72 h redelivery window by default, bounded by retention', () => {
    expect(loadOrchestratorConfig(base).webhookPayloadReplayWindowHours).toBe(72);
    expect(
      loadOrchestratorConfig({ ...base, WEBHOOK_PAYLOAD_REPLAY_WINDOW_HOURS: '1' })
        .webhookPayloadReplayWindowHours,
    ).toBe(1);
    expect(problems({ ...base, WEBHOOK_PAYLOAD_REPLAY_WINDOW_HOURS: '169' })).toEqual([
      'WEBHOOK_PAYLOAD_REPLAY_WINDOW_HOURS must be between 1 and 168, got 169',
    ]);
    expect(problems({ ...base, WEBHOOK_PAYLOAD_REPLAY_WINDOW_HOURS: '0' })).toHaveLength(1);
  });

  it('refuses caps that cannot hold one delivery, and timeouts out of bounds or out of order', () => {
    expect(
      problems({
        ...base,
        WEBHOOK_INFLIGHT_MAX_BYTES_PER_CLIENT: '65536',
        WEBHOOK_INFLIGHT_MAX_BYTES: '32768',
        REQUEST_TIMEOUT_SECONDS: '5',
        HEADERS_TIMEOUT_SECONDS: '6',
        ACCESS_LOG: 'sometimes',
      }),
    ).toEqual([
      expect.stringContaining(
        'WEBHOOK_INFLIGHT_MAX_BYTES_PER_CLIENT must be at least WEBHOOK_MAX_PAYLOAD_SIZE',
      ),
      'WEBHOOK_INFLIGHT_MAX_BYTES must be at least WEBHOOK_INFLIGHT_MAX_BYTES_PER_CLIENT',
      'HEADERS_TIMEOUT_SECONDS must not exceed REQUEST_TIMEOUT_SECONDS',
      'ACCESS_LOG must be true or false, got "sometimes"',
    ]);
    expect(problems({ ...base, REQUEST_TIMEOUT_SECONDS: '301' })).toEqual([
      'REQUEST_TIMEOUT_SECONDS must be between 1 and 300, got 301',
    ]);
    expect(problems({ ...base, HEADERS_TIMEOUT_SECONDS: '0' })).toEqual([
      'HEADERS_TIMEOUT_SECONDS must be between 1 and 120, got 0',
    ]);
  });

  it('gives shutdown a 25 s grace period, no drain delay, and never migrates at start by default', () => {
    expect(loadOrchestratorConfig(base)).toMatchObject({
      shutdownGraceMs: 25_000,
      shutdownDrainDelayMs: 0,
      migrateOnStart: false,
    });
    expect(
      loadOrchestratorConfig({
        ...base,
        SHUTDOWN_GRACE_MS: '40000',
        SHUTDOWN_DRAIN_DELAY_MS: '5000',
        MIGRATE_ON_START: 'true',
      }),
    ).toMatchObject({ shutdownGraceMs: 40_000, shutdownDrainDelayMs: 5000, migrateOnStart: true });
  });

  it('rejects a malformed grace period, and a drain delay that would use it all up', () => {
    expect(problems({ ...base, SHUTDOWN_GRACE_MS: '25s', MIGRATE_ON_START: 'sometimes' })).toEqual([
      'SHUTDOWN_GRACE_MS must be an integer, got "25s"',
      expect.stringContaining('MIGRATE_ON_START must be true or false'),
    ]);
    expect(problems({ ...base, SHUTDOWN_GRACE_MS: '0' })).toEqual([
      expect.stringContaining('SHUTDOWN_GRACE_MS must be between'),
    ]);
    expect(
      problems({ ...base, SHUTDOWN_GRACE_MS: '5000', SHUTDOWN_DRAIN_DELAY_MS: '5000' }),
    ).toEqual(['SHUTDOWN_DRAIN_DELAY_MS must be shorter than SHUTDOWN_GRACE_MS']);
  });
});
