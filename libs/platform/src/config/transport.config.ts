import { accessSync, constants, statSync } from 'node:fs';
import { parseDatabaseTls } from '../transport/database-tls';
import { parseRedisUrl } from '../transport/redis-connection';
import { EnvReader } from './env-reader';

export interface TransportConfig {
  /** PEM CA bundle for PostgreSQL TLS (DATABASE_SSL_CA_FILE). */
  databaseSslCaFile?: string;
  /** PEM CA bundle for a `rediss://` REDIS_URL (REDIS_TLS_CA_FILE). */
  redisTlsCaFile?: string;
}

/**
 * TLS settings of the PostgreSQL and Redis connections: the URLs' SSL parameters are checked
 * (see {@link parseDatabaseTls}) and every named file must be readable, so a typo stops the start
 * instead of a later connection failure or, worse, a silently unencrypted connection.
 */
export function readTransportConfig(
  env: EnvReader,
  databaseUrl: string,
  redisUrl: string,
  redisVariable: string,
): TransportConfig {
  return {
    databaseSslCaFile: readDatabaseTls(env, databaseUrl),
    redisTlsCaFile: readRedisTls(env, redisUrl, redisVariable),
  };
}

/** The PostgreSQL half (the migration runner has no Redis): returns DATABASE_SSL_CA_FILE. */
export function readDatabaseTls(env: EnvReader, databaseUrl: string): string | undefined {
  const caFile = readableFile(env, 'DATABASE_SSL_CA_FILE');
  if (!isUrl(databaseUrl)) return caFile; // reported by env.url
  const { settings, problems } = parseDatabaseTls(databaseUrl, caFile);
  problems.forEach((p) => env.problem(p));
  for (const [what, file] of [
    ['sslrootcert', settings.caFile === caFile ? undefined : settings.caFile],
    ['sslcert', settings.certFile],
    ['sslkey', settings.keyFile],
  ] as const) {
    if (file !== undefined && !canRead(file)) {
      env.problem(`DATABASE_URL: the ${what} file ${file} is not a readable file`);
    }
  }
  return caFile;
}

function readRedisTls(env: EnvReader, redisUrl: string, redisVariable: string): string | undefined {
  const caFile = readableFile(env, 'REDIS_TLS_CA_FILE');
  if (!/^rediss?:\/\//i.test(redisUrl)) return caFile; // reported by env.url
  const { target, problems } = parseRedisUrl(redisUrl, redisVariable);
  problems.forEach((p) => env.problem(p));
  if (caFile !== undefined && target && !target.tls) {
    env.problem(`REDIS_TLS_CA_FILE is set but ${redisVariable} is not a rediss:// URL`);
  }
  return caFile;
}

function readableFile(env: EnvReader, name: string): string | undefined {
  const path = env.optionalString(name);
  if (path !== undefined && !canRead(path)) env.problem(`${name}: ${path} is not a readable file`);
  return path;
}

function canRead(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
