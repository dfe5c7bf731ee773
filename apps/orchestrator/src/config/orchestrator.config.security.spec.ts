import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@app/platform';
import { loadOrchestratorConfig } from './orchestrator.config';

const strong = () => randomBytes(32).toString('hex');
const base = {
  DATABASE_URL: 'postgres://app:pw@db:5432/orchestrator',
  GITHUB_WEBHOOK_SECRET: 'whsec-1',
  SECRET_KEY: 'k'.repeat(32),
};
const dir = mkdtempSync(join(tmpdir(), 'orch-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CA = join(dir, 'ca.pem');
writeFileSync(CA, 'CA');

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadOrchestratorConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('production secrets', () => {
  const production = { ...base, NODE_ENV: 'production' };

  it('starts with strong, distinct secrets', () => {
    const config = loadOrchestratorConfig({
      ...production,
      GITHUB_WEBHOOK_SECRET: `${strong()},${strong()}`,
      SECRET_KEY: strong(),
    });
    expect(config.isProduction).toBe(true);
    expect(config.webhookSecrets).toHaveLength(2);
  });

  it('refuses development and weak secrets, naming each setting but never a value', () => {
    const weakWebhook = 'test-webhook-secret-0123456789abcdef';
    const found = problems({
      ...production,
      GITHUB_WEBHOOK_SECRET: `${strong()},${weakWebhook},short`,
      SECRET_KEY: 'changeme',
    });
    expect(found).toEqual([
      expect.stringMatching(
        /^GITHUB_WEBHOOK_SECRET entry 2 is too weak for production: contains "test"/,
      ),
      expect.stringMatching(
        /^GITHUB_WEBHOOK_SECRET entry 3 is too weak for production: shorter than 32 bytes/,
      ),
      expect.stringMatching(/^SECRET_KEY is too weak for production: shorter than 32 bytes/),
    ]);
    expect(found.join(' ')).not.toMatch(/0123456789abcdef|changeme-|short,/);
  });

  it('refuses a single weak webhook secret and the repeated-character SECRET_KEY', () => {
    expect(problems(production)).toEqual([
      expect.stringMatching(/^GITHUB_WEBHOOK_SECRET is too weak/),
      expect.stringMatching(/^SECRET_KEY is too weak.*distinct characters/),
    ]);
  });

  it('refuses a SECRET_KEY equal to a webhook secret (a GitHub admin could mint tokens)', () => {
    const shared = strong();
    expect(
      problems({
        ...production,
        GITHUB_WEBHOOK_SECRET: `${strong()},${shared}`,
        SECRET_KEY: shared,
      }),
    ).toEqual(['SECRET_KEY must differ from every GITHUB_WEBHOOK_SECRET entry']);
  });

  it('leaves development and test alone (local secrets may be anything non-empty)', () => {
    expect(problems({ ...base, NODE_ENV: 'development' })).toEqual([]);
    expect(problems({ ...base, NODE_ENV: 'test' })).toEqual([]);
  });

  it('treats only the exact value production as production', () => {
    expect(loadOrchestratorConfig({ ...base, NODE_ENV: 'Production' }).isProduction).toBe(false);
  });
});

describe('HTTP settings', () => {
  it('defaults to a 64 KiB API body limit and CORS off', () => {
    expect(loadOrchestratorConfig(base)).toMatchObject({
      apiBodyLimitBytes: 65_536,
      corsOrigins: [],
    });
  });

  it('reads API_BODY_LIMIT_BYTES within bounds', () => {
    expect(
      loadOrchestratorConfig({ ...base, API_BODY_LIMIT_BYTES: '2048' }).apiBodyLimitBytes,
    ).toBe(2048);
    expect(problems({ ...base, API_BODY_LIMIT_BYTES: '64kb' })).toEqual([
      'API_BODY_LIMIT_BYTES must be an integer, got "64kb"',
    ]);
    expect(problems({ ...base, API_BODY_LIMIT_BYTES: '10' })[0]).toMatch(/between 1024/);
  });

  it('accepts exact origins for CORS and refuses wildcards, paths and other schemes', () => {
    expect(
      loadOrchestratorConfig({
        ...base,
        CORS_ORIGINS: 'https://ops.example.com, http://localhost:3000',
      }).corsOrigins,
    ).toEqual(['https://ops.example.com', 'http://localhost:3000']);
    for (const bad of [
      '*',
      'https://ops.example.com/',
      'https://ops.example.com/app',
      'ops.example.com',
      'file:///etc',
      'https://*.example.com',
    ]) {
      expect(problems({ ...base, CORS_ORIGINS: bad })).toEqual([
        expect.stringContaining('CORS_ORIGINS entries must be origins'),
      ]);
    }
  });
});

describe('transport settings', () => {
  it('accepts TLS URLs and CA files that exist', () => {
    const config = loadOrchestratorConfig({
      ...base,
      DATABASE_URL: 'postgres://app:pw@db:5432/orchestrator?sslmode=verify-full',
      DATABASE_SSL_CA_FILE: CA,
      REDIS_URL: 'rediss://:pw@cache:6380/0',
      REDIS_TLS_CA_FILE: CA,
    });
    expect(config).toMatchObject({ databaseSslCaFile: CA, redisTlsCaFile: CA });
  });

  it('names every unusable TLS setting at start-up, never a password', () => {
    const found = problems({
      ...base,
      DATABASE_URL: 'postgres://app:pw-9f@db:5432/orchestrator?sslmode=prefer',
      DATABASE_SSL_CA_FILE: join(dir, 'missing.pem'),
      REDIS_URL: 'redis://:pw-9f@cache:6379/0',
      REDIS_TLS_CA_FILE: dir,
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringContaining('DATABASE_SSL_CA_FILE'),
        expect.stringContaining('sslmode=prefer may silently fall back to plain text'),
        expect.stringContaining('REDIS_TLS_CA_FILE:'),
        'REDIS_TLS_CA_FILE is set but REDIS_URL is not a rediss:// URL',
      ]),
    );
    expect(found.join(' ')).not.toContain('pw-9f');
  });

  it('refuses a CA file next to a URL without sslmode (it would silently be ignored)', () => {
    expect(problems({ ...base, DATABASE_SSL_CA_FILE: CA })).toEqual([
      expect.stringContaining('add sslmode=verify-full'),
    ]);
  });

  it('names the alias when the queue Redis comes from CELERY_BROKER_URL', () => {
    expect(problems({ ...base, CELERY_BROKER_URL: 'redis://broker:6379/0?x=1' })).toEqual([
      expect.stringContaining('CELERY_BROKER_URL has query parameters'),
    ]);
  });
});

/** docker/.env.example as the compose stack hands it to the app (DATABASE_URL built from it). */
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

  it.each(['development', 'test', 'production'])(
    'refuses docker/.env.example as it is (NODE_ENV=%s), naming every setting to fill in',
    (nodeEnv) => {
      const found = problems({ ...example, NODE_ENV: nodeEnv });
      const placeholders = found.filter((p) => p.includes('placeholder "change-me"'));
      expect(placeholders.map((p) => p.split(' ')[0]).sort()).toEqual([
        'DATABASE_URL',
        'GITHUB_WEBHOOK_SECRET',
        'GRAFANA_ADMIN_PASSWORD',
        'POSTGRES_PASSWORD',
        'SECRET_KEY',
      ]);
      for (const problem of placeholders) {
        expect(problem).toMatch(/from docker\/\.env\.example: fill it in/);
        // The value itself is never echoed (a real password may sit next to the marker).
        expect(problem).not.toMatch(/change-me-|postgres:\/\//);
      }
      if (nodeEnv !== 'production') expect(found).toEqual(placeholders);
    },
  );

  it('starts once every change-me value is filled in', () => {
    const filled = Object.fromEntries(
      Object.entries(example).map(([k, v]) => [k, v.replace(/change-me[a-z-]*/g, strong)]),
    );
    expect(problems(filled)).toEqual([]);
  });

  it("refuses k8s/secret.example.yaml's REPLACE_ME in any case, and only in secret settings", () => {
    const found = problems({
      ...base,
      SECRET_KEY: 'Replace_Me',
      GITHUB_WEBHOOK_SECRET: `${strong()},REPLACE_ME`,
      REDIS_URL: 'redis://:REPLACE_ME@cache:6379/0',
      // Not a secret: a prefix that happens to spell the marker is left alone.
      QUEUE_PREFIX: 'change-me',
    });
    expect(found).toEqual([
      expect.stringMatching(/^GITHUB_WEBHOOK_SECRET still holds the placeholder/),
      expect.stringMatching(
        /^SECRET_KEY still holds the placeholder "REPLACE_ME" from k8s\/secret\.example\.yaml/,
      ),
      expect.stringMatching(/^REDIS_URL still holds the placeholder/),
    ]);
  });
});
