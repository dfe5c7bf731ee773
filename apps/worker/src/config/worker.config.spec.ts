import { ConfigError } from '@app/platform';
import { loadWorkerConfig } from './worker.config';

const base = { DATABASE_URL: 'postgres://app@db:5432/orchestrator' };

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadWorkerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadWorkerConfig', () => {
  it('agent outcome settings: defaults, durations with units, and refusals naming the setting', () => {
    expect(loadWorkerConfig(base).agent).toMatchObject({
      pusherLogins: ['codegen-sh[bot]'],
      outcomeWindowMs: 7_200_000,
      maxFollowUps: 1,
      outcomeSweepIntervalMs: 60_000,
    });
    const custom = loadWorkerConfig({
      ...base,
      AGENT_PUSHER_LOGINS: ' Codegen-SH[bot] , fixer-bot ',
      AGENT_OUTCOME_WINDOW: '90m',
      AGENT_MAX_FOLLOW_UPS: '0',
    }).agent;
    expect(custom).toMatchObject({
      pusherLogins: ['codegen-sh[bot]', 'fixer-bot'],
      outcomeWindowMs: 5_400_000,
      maxFollowUps: 0,
    });
    expect(loadWorkerConfig({ ...base, AGENT_OUTCOME_WINDOW: '1500' }).agent).toMatchObject({
      outcomeWindowMs: 1500,
      outcomeSweepIntervalMs: 375,
    });
    expect(loadWorkerConfig({ ...base, AGENT_OUTCOME_WINDOW: '1d' }).agent.outcomeWindowMs).toBe(
      86_400_000,
    );
    for (const bad of ['soon', '2 hours', '-1h', '500', '31d', '1.5h']) {
      expect(problems({ ...base, AGENT_OUTCOME_WINDOW: bad })).toEqual([
        expect.stringContaining('AGENT_OUTCOME_WINDOW must be a duration'),
      ]);
    }
    expect(problems({ ...base, AGENT_MAX_FOLLOW_UPS: '11' })).toEqual([
      expect.stringContaining('AGENT_MAX_FOLLOW_UPS'),
    ]);
    expect(problems({ ...base, AGENT_PUSHER_LOGINS: ' , ' })).toEqual([
      expect.stringContaining('AGENT_PUSHER_LOGINS must name at least one login'),
    ]);
  });

  it('runs in dry-run mode without CODEGEN_TOKEN outside production', () => {
    const config = loadWorkerConfig(base);
    expect(config.codegen).toMatchObject({ dryRun: true, baseUrl: 'https://api.codegen.com' });
    expect(config.github.apiUrl).toBe('https://api.github.com');
  });

  it('refuses dry-run in production', () => {
    expect(problems({ ...base, NODE_ENV: 'production' })).toEqual([
      expect.stringContaining('CODEGEN_TOKEN is required'),
    ]);
  });

  it('needs CODEGEN_ORG_ID with a token, and a positive integer one', () => {
    expect(problems({ ...base, CODEGEN_TOKEN: 't' })).toEqual([
      expect.stringContaining('CODEGEN_ORG_ID is required'),
    ]);
    // Codegen answers 422 to every call with a non-integer organization id.
    for (const bad of ['../1', 'acme', '0', '-4', '4.2', '042', '99999999999999999999']) {
      expect(problems({ ...base, CODEGEN_TOKEN: 't', CODEGEN_ORG_ID: bad })).toEqual([
        expect.stringContaining('CODEGEN_ORG_ID must be a positive integer'),
      ]);
    }
    expect(
      loadWorkerConfig({ ...base, CODEGEN_TOKEN: 't', CODEGEN_ORG_ID: '42' }).codegen,
    ).toMatchObject({
      dryRun: false,
      orgId: 42,
      unknownStatusGraceMs: 30 * 60_000,
      reconcileGraceMs: 60_000,
      repoCacheMs: 300_000,
    });
  });

  it('points GitHub at an Enterprise Server and strips the trailing slash', () => {
    expect(
      loadWorkerConfig({ ...base, GITHUB_API_URL: 'https://ghe.example.com/api/v3/' }).github
        .apiUrl,
    ).toBe('https://ghe.example.com/api/v3');
  });

  it('needs DATABASE_URL', () => {
    expect(problems({})).toEqual(['DATABASE_URL is required']);
  });

  it('serves health and metrics on 0.0.0.0:9100 and beats every 10 s by default', () => {
    expect(loadWorkerConfig(base)).toMatchObject({
      listener: { host: '0.0.0.0', port: 9100 },
      heartbeatIntervalMs: 10_000,
      enableMetrics: true,
    });
    expect(
      loadWorkerConfig({
        ...base,
        WORKER_HEALTH_HOST: '127.0.0.1',
        WORKER_HEALTH_PORT: '0',
        WORKER_HEARTBEAT_INTERVAL_MS: '500',
        ENABLE_METRICS: 'false',
      }),
    ).toMatchObject({
      listener: { host: '127.0.0.1', port: 0 },
      heartbeatIntervalMs: 500,
      enableMetrics: false,
    });
  });

  it('refuses a bad listener address, heartbeat interval or tracing endpoint', () => {
    expect(
      problems({
        ...base,
        WORKER_HEALTH_PORT: '70000',
        WORKER_HEALTH_HOST: 'evil host/',
        WORKER_HEARTBEAT_INTERVAL_MS: '10',
        JAEGER_ENDPOINT: 'jaeger:4318',
      }),
    ).toEqual([
      expect.stringContaining('JAEGER_ENDPOINT must use http: or https:'),
      expect.stringContaining('WORKER_HEALTH_PORT must be between 0 and 65535'),
      expect.stringContaining('WORKER_HEARTBEAT_INTERVAL_MS must be between 100'),
      'WORKER_HEALTH_HOST must be a host name or an IP address',
    ]);
    expect(
      loadWorkerConfig({ ...base, JAEGER_ENDPOINT: 'http://jaeger:4318' }).jaegerEndpoint,
    ).toBe('http://jaeger:4318');
  });

  it('gives running jobs a 25 s grace period at shutdown and never migrates at start by default', () => {
    expect(loadWorkerConfig(base)).toMatchObject({
      shutdownGraceMs: 25_000,
      migrateOnStart: false,
    });
    expect(
      loadWorkerConfig({ ...base, SHUTDOWN_GRACE_MS: '130000', MIGRATE_ON_START: 'yes' }),
    ).toMatchObject({ shutdownGraceMs: 130_000, migrateOnStart: true });
    expect(problems({ ...base, SHUTDOWN_GRACE_MS: '-1', MIGRATE_ON_START: 'perhaps' })).toEqual([
      expect.stringContaining('SHUTDOWN_GRACE_MS must be between'),
      expect.stringContaining('MIGRATE_ON_START must be true or false'),
    ]);
  });
});
