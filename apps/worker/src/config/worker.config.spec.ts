import { ConfigError } from '@app/domain';
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

  it('needs CODEGEN_ORG_ID with a token, and an id-shaped one', () => {
    expect(problems({ ...base, CODEGEN_TOKEN: 't' })).toEqual([
      expect.stringContaining('CODEGEN_ORG_ID is required'),
    ]);
    expect(problems({ ...base, CODEGEN_TOKEN: 't', CODEGEN_ORG_ID: '../1' })).toEqual([
      expect.stringContaining('CODEGEN_ORG_ID must be an id'),
    ]);
    expect(
      loadWorkerConfig({ ...base, CODEGEN_TOKEN: 't', CODEGEN_ORG_ID: '42' }).codegen,
    ).toMatchObject({
      dryRun: false,
      orgId: '42',
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

  it('gives running jobs a 25 s grace period at shutdown and never migrates at start by default', () => {
    expect(loadWorkerConfig(base)).toMatchObject({ shutdownGraceMs: 25_000, migrateOnStart: false });
    expect(
      loadWorkerConfig({ ...base, SHUTDOWN_GRACE_MS: '130000', MIGRATE_ON_START: 'yes' }),
    ).toMatchObject({ shutdownGraceMs: 130_000, migrateOnStart: true });
    expect(problems({ ...base, SHUTDOWN_GRACE_MS: '-1', MIGRATE_ON_START: 'perhaps' })).toEqual([
      expect.stringContaining('SHUTDOWN_GRACE_MS must be between'),
      expect.stringContaining('MIGRATE_ON_START must be true or false'),
    ]);
  });
});
