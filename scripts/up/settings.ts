import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export type Env = Record<string, string | undefined>;

/** Reads KEY=VALUE lines (comments, blank lines, `export ` and quotes allowed). */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith('#')) continue;
    let value = match[2];
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2];
    values[match[1]] = value;
  }
  return values;
}

const random = (): string => randomBytes(32).toString('hex');

/** The local settings file `npm run up` writes on first use: random development secrets. */
export function newEnvFile(): string {
  return `# Local development settings, created by npm run up. Not for production.
NODE_ENV=development
# Both apps listen on this machine only; set HOST=0.0.0.0 to accept other machines.
HOST=127.0.0.1
PORT=8000
WORKER_HEALTH_HOST=127.0.0.1
WORKER_HEALTH_PORT=9100
DATABASE_URL=postgres://postgres@127.0.0.1:5432/orchestrator
REDIS_URL=redis://127.0.0.1:6379/0
# The secret of your GitHub webhook (paste it into the webhook's settings on GitHub).
GITHUB_WEBHOOK_SECRET=${random()}
# Signs API tokens (npm run -s token -- --role operator).
SECRET_KEY=${random()}
LOG_LEVEL=info
# Without CODEGEN_TOKEN the worker runs in dry-run mode: it records prompts, starts no agent run.
# CODEGEN_TOKEN=
# CODEGEN_ORG_ID=
# Without GITHUB_TOKEN the worker reads public repositories only, and posts no PR comment.
# GITHUB_TOKEN=
`;
}

/**
 * The settings the apps start with: this shell's environment wins over the file (so
 * `PORT=8001 npm run up` works), then local defaults: both apps listen on 127.0.0.1 unless told
 * otherwise.
 */
export function loadSettings(envFile: string, create: boolean): { env: Env; created: boolean } {
  let created = false;
  if (!existsSync(envFile)) {
    if (!create) throw new Error(`${envFile} does not exist`);
    writeFileSync(envFile, newEnvFile(), { mode: 0o600 });
    created = true;
  }
  const fromFile = parseEnvFile(readFileSync(envFile, 'utf8'));
  return { env: withLocalDefaults({ ...fromFile, ...process.env }), created };
}

export function withLocalDefaults(env: Env): Env {
  return {
    ...env,
    NODE_ENV: env.NODE_ENV || 'development',
    HOST: env.HOST || '127.0.0.1',
    PORT: env.PORT || '8000',
    WORKER_HEALTH_HOST: env.WORKER_HEALTH_HOST || '127.0.0.1',
    WORKER_HEALTH_PORT: env.WORKER_HEALTH_PORT || '9100',
    LOG_LEVEL: env.LOG_LEVEL || 'info',
  };
}

/** Where a client reaches a listener bound to `host` (an any-address bind is reached locally). */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
