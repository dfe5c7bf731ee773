import { ConfigError } from '@app/platform';
import { loadWorkerConfig } from './worker.config';

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app:pw@db:5432/orchestrator?sslmode=verify-full',
  REDIS_URL: 'rediss://cache:6380/0',
  CODEGEN_ORG_ID: '42',
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadWorkerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('worker production settings', () => {
  it('only checks that a Codegen token is present: its format is Codegen’s to choose', () => {
    expect(loadWorkerConfig({ ...production, CODEGEN_TOKEN: 'cg-1' }).codegen.token).toBe('cg-1');
    expect(problems(production)).toEqual([
      expect.stringContaining('CODEGEN_TOKEN is required in production'),
    ]);
  });

  it('reads the TLS settings of its connections like the orchestrator', () => {
    expect(
      problems({
        ...production,
        CODEGEN_TOKEN: 'cg-1',
        DATABASE_URL: 'postgres://db/x?sslmode=allow',
      }),
    ).toEqual([expect.stringContaining('sslmode=allow')]);
  });
});
