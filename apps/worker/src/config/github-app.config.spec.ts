import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError } from '@app/platform';
import { loadWorkerConfig } from './worker.config';

const base = { DATABASE_URL: 'postgres://app@db:5432/orchestrator' };
// Generated per run: no private key is ever committed.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PEM_LINES = PEM.split('\n').filter((line) => line && !line.startsWith('-----'));

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadWorkerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadWorkerConfig: GitHub App and delivery recovery', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'github-app-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has no App, a reserve of 100 and recovery without a source by default', () => {
    const config = loadWorkerConfig(base);
    expect(config.github.app).toBeNull();
    expect(config.github.rateLimitReserve).toBe(100);
    expect(config.deliveryRecovery).toEqual({
      intervalMs: 600_000,
      hook: null,
      maxRedeliveriesPerRun: 500,
    });
  });

  it('reads the key as PEM text, as one \\n-escaped line, or from a file, and recovers from the App hook', () => {
    const file = join(dir, 'app.pem');
    writeFileSync(file, PEM);
    const escaped = PEM.trim().replace(/\n/g, '\\n');
    for (const keyVars of [
      { GITHUB_PRIVATE_KEY: PEM },
      { GITHUB_PRIVATE_KEY: escaped },
      { GITHUB_PRIVATE_KEY_FILE: file },
    ]) {
      const config = loadWorkerConfig({ ...base, GITHUB_APP_ID: '12345', ...keyVars });
      expect(config.github.app?.appId).toBe('12345');
      expect(config.github.app?.privateKey.asymmetricKeyType).toBe('rsa');
      expect(config.deliveryRecovery.hook).toEqual({ kind: 'app' });
    }
  });

  it('stops at start naming the variable of a bad key, never printing the key', () => {
    const truncated = PEM.replace(PEM_LINES.slice(3, 10).join('\n') + '\n', '');
    const found = problems({ ...base, GITHUB_APP_ID: '12345', GITHUB_PRIVATE_KEY: truncated });
    expect(found).toEqual([expect.stringMatching(/^GITHUB_PRIVATE_KEY is not a usable/)]);
    let message = '';
    try {
      loadWorkerConfig({ ...base, GITHUB_APP_ID: '12345', GITHUB_PRIVATE_KEY: truncated });
    } catch (error) {
      message = `${(error as Error).message} ${(error as Error).stack ?? ''}`;
    }
    for (const line of PEM_LINES) expect(message).not.toContain(line.slice(0, 20));
  });

  it('names every other App problem', () => {
    expect(problems({ ...base, GITHUB_APP_ID: '12345' })).toEqual([
      expect.stringContaining('GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_FILE) is required'),
    ]);
    expect(problems({ ...base, GITHUB_PRIVATE_KEY: PEM })).toEqual([
      'GITHUB_APP_ID is required when GITHUB_PRIVATE_KEY is set',
    ]);
    expect(problems({ ...base, GITHUB_APP_ID: 'not an id', GITHUB_PRIVATE_KEY: PEM })).toEqual([
      expect.stringContaining('GITHUB_APP_ID must be'),
    ]);
    expect(
      problems({
        ...base,
        GITHUB_APP_ID: '1',
        GITHUB_PRIVATE_KEY: PEM,
        GITHUB_PRIVATE_KEY_FILE: '/x',
      }),
    ).toEqual(['set only one of GITHUB_PRIVATE_KEY and GITHUB_PRIVATE_KEY_FILE']);
    expect(
      problems({ ...base, GITHUB_APP_ID: '1', GITHUB_PRIVATE_KEY_FILE: join(dir, 'missing.pem') }),
    ).toEqual(['GITHUB_PRIVATE_KEY_FILE cannot be read (ENOENT)']);
  });

  it('keeps the key out of a dump of the config', () => {
    const config = loadWorkerConfig({ ...base, GITHUB_APP_ID: '12345', GITHUB_PRIVATE_KEY: PEM });
    for (const text of [inspect(config, { depth: 10 }), JSON.stringify(config)]) {
      expect(text).not.toContain(PEM_LINES[2]);
    }
  });

  it('reads a repository or organisation hook, which needs GITHUB_TOKEN', () => {
    expect(
      loadWorkerConfig({
        ...base,
        GITHUB_TOKEN: 'ghp_x',
        DELIVERY_RECOVERY_HOOK: 'repos/octo-org/hello.world/hooks/12',
        DELIVERY_RECOVERY_INTERVAL_MS: '0',
        DELIVERY_RECOVERY_MAX_PER_RUN: '20',
      }).deliveryRecovery,
    ).toEqual({
      intervalMs: 0,
      hook: { kind: 'repository', repository: 'octo-org/hello.world', hookId: 12 },
      maxRedeliveriesPerRun: 20,
    });
    expect(
      loadWorkerConfig({
        ...base,
        GITHUB_TOKEN: 'ghp_x',
        DELIVERY_RECOVERY_HOOK: 'orgs/octo/hooks/3',
      }).deliveryRecovery.hook,
    ).toEqual({ kind: 'organization', organization: 'octo', hookId: 3 });
    expect(problems({ ...base, DELIVERY_RECOVERY_HOOK: 'orgs/octo/hooks/3' })).toEqual([
      expect.stringContaining('DELIVERY_RECOVERY_HOOK needs GITHUB_TOKEN'),
    ]);
    expect(
      problems({ ...base, GITHUB_TOKEN: 'x', DELIVERY_RECOVERY_HOOK: 'repos/a/../hooks/1' }),
    ).toEqual([expect.stringContaining('DELIVERY_RECOVERY_HOOK must be')]);
    expect(problems({ ...base, DELIVERY_RECOVERY_HOOK: 'app' })).toEqual([
      expect.stringContaining('DELIVERY_RECOVERY_HOOK=app needs GITHUB_APP_ID'),
    ]);
    expect(problems({ ...base, DELIVERY_RECOVERY_INTERVAL_MS: '50' })).toEqual([
      expect.stringContaining('DELIVERY_RECOVERY_INTERVAL_MS must be 0 (off) or at least 100'),
    ]);
    expect(problems({ ...base, GITHUB_RATE_LIMIT_RESERVE: '-1' })).toEqual([
      expect.stringContaining('GITHUB_RATE_LIMIT_RESERVE must be between'),
    ]);
  });
});
