import type { Logger } from 'winston';
import { describeDatabaseConnection } from './database-tls';
import { describeRedisConnection } from './redis-connection';

export interface TransportSettings {
  databaseUrl: string;
  databaseSslCaFile?: string;
  queueRedisUrl: string;
  redisTlsCaFile?: string;
  isProduction: boolean;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1)$/;

/**
 * One start-up line saying, for PostgreSQL and Redis, where the process connects and whether the
 * connection is encrypted and verified; no user names or passwords. In production, a plain-text
 * or unverified connection to another host is logged as a warning.
 */
export function logConnectionSecurity(logger: Logger, settings: TransportSettings): void {
  const database = describeDatabaseConnection(settings.databaseUrl, settings.databaseSslCaFile);
  const redis = describeRedisConnection(settings.queueRedisUrl, settings.redisTlsCaFile);
  const exposed = [
    { name: 'database', ...database },
    { name: 'redis', ...redis },
  ].filter((c) => c.verified === 'none' && !LOOPBACK.test(c.host) && !c.host.startsWith('/'));
  const fields = { database, redis };
  if (settings.isProduction && exposed.length > 0) {
    logger.warn('connection security: not encrypted or not verified', {
      ...fields,
      unverified: exposed.map((c) => c.name),
      hint: 'see docs/security.md (sslmode=verify-full, rediss://)',
    });
  } else {
    logger.info('connection security', fields);
  }
}
