import { DataSourceOptions } from 'typeorm';
import { pgConnectionOptions } from '@app/platform';
import { ENTITIES } from './entities';
import { SessionGuardedClient } from './session-guarded-client';
import { MIGRATIONS } from './migrations';

export interface DatabaseSettings {
  databaseUrl: string;
  databasePoolSize: number;
  databaseConnectTimeoutMs: number;
  applicationName: string;
  /** PEM CA bundle for `sslmode=verify-full` / `verify-ca` / `require` (DATABASE_SSL_CA_FILE). */
  databaseSslCaFile?: string;
}

/**
 * TypeORM options shared by both apps and the migration runner. `synchronize` is never on.
 * TLS follows the URL's `sslmode` with libpq's meaning (see {@link pgConnectionOptions}): the SSL
 * parameters are taken out of the URL and applied as pg's `ssl` option, so node-postgres cannot
 * reinterpret them or drop the CA file.
 */
export function buildDataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  const connection = pgConnectionOptions(settings.databaseUrl, settings.databaseSslCaFile);
  return {
    type: 'postgres',
    url: connection.connectionString,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: {
      max: settings.databasePoolSize,
      connectionTimeoutMillis: settings.databaseConnectTimeoutMs,
      application_name: settings.applicationName,
      // A statement stuck behind a broken connection must not hold a webhook response forever.
      query_timeout: 10_000,
      keepAlive: true,
      // Straight to pg (TypeORM's own `ssl` is typed for servers, not clients).
      ssl: connection.ssl,
      // A session PostgreSQL ends while its connection is checked out must not crash the app.
      Client: SessionGuardedClient,
    },
  };
}
