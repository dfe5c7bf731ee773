import { existsSync, readFileSync } from 'node:fs';
import { mintAccessToken, parseTtl } from './access-token';
import { isRole } from './role';

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

/** Prints an API token signed with SECRET_KEY; the ttl defaults to ACCESS_TOKEN_EXPIRE_MINUTES. */
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
  const ttlText = arg('ttl') ?? `${Number(process.env.ACCESS_TOKEN_EXPIRE_MINUTES ?? 30)}m`;
  const ttl = parseTtl(ttlText);
  if (ttl === null) {
    process.stderr.write(`--ttl must look like 90s, 30m, 12h or 7d (at most 366 days)\n${USAGE}\n`);
    return 2;
  }
  const sub = arg('sub') ?? process.env.USER ?? 'operator';
  process.stdout.write(`${mintAccessToken(secret, { sub, role }, ttl)}\n`);
  return 0;
}

process.exitCode = main();
