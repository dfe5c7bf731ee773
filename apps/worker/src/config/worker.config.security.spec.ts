import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** docker/.env.example as the compose stack hands it to the worker (DATABASE_URL built from it). */
function composeExampleEnv(): Record<string, string> {
  const file = join(__dirname, '..', '..', '..', '..', 'docker', '.env.example');
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  env.DATABASE_URL = `postgres://${env.POSTGRES_USER}:${env.POSTGRES_PASSWORD}@postgres:5432/${env.POSTGRES_DB}`;
  return env;
}

describe('placeholders of the example settings, in every mode', () => {
  const example = composeExampleEnv();

  it.each(['development', 'test'])(
    'refuses docker/.env.example as it is (NODE_ENV=%s), naming every setting to fill in',
    (nodeEnv) => {
      const found = problems({ ...example, NODE_ENV: nodeEnv });
      expect(found.map((p) => p.split(' ')[0]).sort()).toEqual([
        'DATABASE_URL',
        'GITHUB_WEBHOOK_SECRET',
        'GRAFANA_ADMIN_PASSWORD',
        'POSTGRES_PASSWORD',
        'SECRET_KEY',
      ]);
      for (const problem of found) {
        expect(problem).toMatch(
          /still holds the placeholder "change-me" from docker\/\.env\.example/,
        );
      }
      const filled = Object.fromEntries(
        Object.entries(example).map(([k, v]) => [
          k,
          v.replace(/change-me[a-z-]*/g, () => randomBytes(32).toString('hex')),
        ]),
      );
      expect(problems({ ...filled, NODE_ENV: nodeEnv })).toEqual([]);
    },
  );

  it("refuses the worker's own tokens with either example's marker, without echoing them", () => {
    const found = problems({
      NODE_ENV: 'development',
      DATABASE_URL:
        'postgres://orchestrator:REPLACE_ME@postgres.example.internal:5432/orchestrator',
      CODEGEN_TOKEN: 'change-me-codegen-token',
      CODEGEN_ORG_ID: '42',
      GITHUB_TOKEN: 'REPLACE_ME',
    });
    expect(found).toEqual([
      expect.stringMatching(
        /^DATABASE_URL still holds the placeholder "REPLACE_ME" from k8s\/secret\.example\.yaml/,
      ),
      expect.stringMatching(
        /^CODEGEN_TOKEN still holds the placeholder "change-me" from docker\/\.env\.example/,
      ),
      expect.stringMatching(/^GITHUB_TOKEN still holds the placeholder "REPLACE_ME"/),
    ]);
    expect(found.join(' ')).not.toMatch(/codegen-token|example\.internal/);
  });
});
