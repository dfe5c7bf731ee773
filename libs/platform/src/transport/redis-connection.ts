import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { RedisOptions } from 'ioredis';

/** What a Redis URL asks for, checked at start-up. */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** `rediss://`: TLS with the certificate and host name verified. */
  tls: boolean;
}

/** Parses and checks a `redis://` / `rediss://` URL; returns problems instead of throwing. */
export function parseRedisUrl(
  url: string,
  name = 'REDIS_URL',
): { target: RedisTarget | null; problems: string[] } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL may carry a password: never echo it.
    return { target: null, problems: [`${name} is not a valid URL`] };
  }
  const problems: string[] = [];
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    problems.push(`${name} must use redis: or rediss:, got ${parsed.protocol}`);
  }
  const path = parsed.pathname.replace(/^\/+/, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) problems.push(`${name} database must be a number`);
  const unsupported = [...parsed.searchParams.keys()];
  if (unsupported.length > 0) {
    problems.push(
      `${name} has query parameters (${unsupported.join(', ')}); settings go in their own variables`,
    );
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (host === '') problems.push(`${name} has no host`);
  return {
    target: {
      host,
      port: parsed.port === '' ? 6379 : Number(parsed.port),
      db: path === '' ? 0 : Number(path),
      username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
      tls: parsed.protocol === 'rediss:',
    },
    problems,
  };
}

/**
 * ioredis options for a Redis URL, built here rather than left to each client: Bull reads a URL
 * with its own parser, which ignores `rediss://` and would connect in plain text. With `rediss://`
 * the connection is TLS, the server certificate is verified against the system CAs or `caFile`,
 * and so is its host name (SNI set for names, not for IP addresses).
 */
export function redisConnectionOptions(url: string, caFile?: string): RedisOptions {
  const { target, problems } = parseRedisUrl(url);
  if (!target || problems.length > 0) throw new Error(problems.join('; '));
  const options: RedisOptions = {
    host: target.host,
    port: target.port,
    db: target.db,
  };
  if (target.username !== undefined) options.username = target.username;
  if (target.password !== undefined) options.password = target.password;
  if (target.tls) {
    options.tls = {
      rejectUnauthorized: true,
      ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
      ...(caFile ? { ca: [readFileSync(caFile, 'utf8')] } : {}),
    };
  }
  return options;
}

/** For the start-up line: where and how, never credentials. */
export function describeRedisConnection(
  url: string,
  caFile?: string,
): { host: string; port: number; encrypted: boolean; verified: 'none' | 'full'; ca?: string } {
  const { target } = parseRedisUrl(url);
  if (!target) return { host: 'invalid', port: 0, encrypted: false, verified: 'none' };
  return {
    host: target.host,
    port: target.port,
    encrypted: target.tls,
    verified: target.tls ? 'full' : 'none',
    ...(target.tls ? { ca: caFile ? 'file' : 'system' } : {}),
  };
}
