import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, EnvReader } from '@app/platform';
import { issueAccessToken, parseTtl } from './access-token';
import { isRole } from './role';
import { readTokenSettings } from './token-settings';

const USAGE = 'usage: npm run token -- --role viewer|operator [--ttl 12h] [--sub name]';

/** Reads KEY=VALUE lines of a local .env for values the environment does not set. */
function loadDotEnv(path: string): void {
  if (!existsSync(path)) return;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match && process.env[match[1]] === undefined) process.env[match[1]] = match[2];
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * Prints an API token signed with SECRET_KEY for TOKEN_AUDIENCE; the ttl defaults to
 * ACCESS_TOKEN_EXPIRE_MINUTES and may not exceed TOKEN_MAX_TTL. The token goes to stdout alone
 * (so `TOKEN=$(npm run -s token -- ...)` works); its id and expiry go to stderr.
 */
function main(): number {
  loadDotEnv('.env');
  const role = arg('role');
  if (!isRole(role)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const secret = process.env.SECRET_KEY;
  if (!secret) {
    process.stderr.write('SECRET_KEY is not set (environment or .env)\n');
    return 2;
  }
  const env = new EnvReader(process.env);
  const settings = readTokenSettings(env);
  try {
    env.done();
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    return 2;
  }
  const ttlText = arg('ttl') ?? `${Number(process.env.ACCESS_TOKEN_EXPIRE_MINUTES ?? 30)}m`;
  const ttl = parseTtl(ttlText, settings.tokenMaxTtlSeconds);
  if (ttl === null) {
    process.stderr.write(
      `--ttl must look like 90s, 30m, 12h or 7d, at most TOKEN_MAX_TTL (${settings.tokenMaxTtlSeconds} s)\n${USAGE}\n`,
    );
    return 2;
  }
  const sub = arg('sub') ?? process.env.USER ?? 'operator';
  const issued = issueAccessToken(secret, { sub, role }, ttl, settings.tokenAudience);
  process.stdout.write(`${issued.token}\n`);
  process.stderr.write(
    `token id ${issued.id} (revoke: POST /api/v1/admin/tokens/revoke {"token_id":"${issued.id}"}), ` +
      `role ${role}, subject ${sub}, audience ${settings.tokenAudience}, expires ${issued.expiresAt.toISOString()}\n`,
  );
  return 0;
}

process.exitCode = main();
