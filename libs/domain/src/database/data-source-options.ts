import { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export interface DatabaseSettings {
  databaseUrl: string;
  databasePoolSize: number;
  databaseConnectTimeoutMs: number;
  applicationName: string;
}

/** TypeORM options shared by both apps and the migration runner. `synchronize` is never on. */
export function buildDataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.databaseUrl,
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
    },
  };
}
