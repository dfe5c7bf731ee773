import { ConfigError } from '@app/platform';
import { loadOrchestratorConfig } from '../config/orchestrator.config';

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

describe('TOKEN_MAX_TTL and TOKEN_AUDIENCE', () => {
  it('caps tokens at 30 days for the default audience unless told otherwise', () => {
    expect(loadOrchestratorConfig(base)).toMatchObject({
      tokenMaxTtlSeconds: 30 * 86_400,
      tokenAudience: 'webhook-orchestrator',
    });
    expect(
      loadOrchestratorConfig({
        ...base,
        TOKEN_MAX_TTL: '12h',
        TOKEN_AUDIENCE: 'orchestrator-prod',
      }),
    ).toMatchObject({ tokenMaxTtlSeconds: 43_200, tokenAudience: 'orchestrator-prod' });
    expect(loadOrchestratorConfig({ ...base, TOKEN_MAX_TTL: '3600' }).tokenMaxTtlSeconds).toBe(
      3600,
    );
  });

  it('refuses a cap that is malformed, under a minute or over a year, and a strange audience', () => {
    for (const ttl of ['1y', '30 days', '59', '367d', '-5m']) {
      expect(problems({ ...base, TOKEN_MAX_TTL: ttl })).toEqual([
        expect.stringContaining('TOKEN_MAX_TTL must look like'),
      ]);
    }
    expect(problems({ ...base, TOKEN_AUDIENCE: 'a b' })).toEqual([
      expect.stringContaining('TOKEN_AUDIENCE'),
    ]);
  });

  it('refuses a default token lifetime longer than the cap', () => {
    expect(problems({ ...base, TOKEN_MAX_TTL: '1h', ACCESS_TOKEN_EXPIRE_MINUTES: '61' })).toEqual([
      'ACCESS_TOKEN_EXPIRE_MINUTES must not exceed TOKEN_MAX_TTL',
    ]);
    expect(problems({ ...base, TOKEN_MAX_TTL: '1h', ACCESS_TOKEN_EXPIRE_MINUTES: '60' })).toEqual(
      [],
    );
  });
});
