import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ConfigError, EnvReader, readDatabaseTls } from '@app/platform';
import { buildDataSourceOptions } from './data-source-options';
import { MigrationLockOptions, withMigrationLock } from './migration-lock';

/**
 * Runs pending migrations against DATABASE_URL; the deploy step before the apps start. Holds the
 * migration advisory lock, so concurrent runs against one database apply each migration once.
 */
export async function runMigrations(
  databaseUrl: string,
  lock: MigrationLockOptions = {},
): Promise<string[]> {
  return withMigrationLock(databaseUrl, () => applyPending(databaseUrl, lock.sslCaFile), lock);
}

async function applyPending(databaseUrl: string, databaseSslCaFile?: string): Promise<string[]> {
  const dataSource = new DataSource(
    buildDataSourceOptions({
      databaseUrl,
      databaseSslCaFile,
      databasePoolSize: 2,
      databaseConnectTimeoutMs: 10_000,
      applicationName: 'orchestrator-migrate',
    }),
  );
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}

async function main(): Promise<void> {
  const env = new EnvReader(process.env);
  const databaseUrl = env.url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']);
  const sslCaFile = readDatabaseTls(env, databaseUrl);
  env.done();
  const applied = await runMigrations(databaseUrl, { sslCaFile });
  process.stdout.write(
    JSON.stringify({
      level: 'info',
      message: applied.length ? `applied ${applied.length} migration(s)` : 'schema is up to date',
      migrations: applied,
      timestamp: new Date().toISOString(),
    }) + '\n',
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    const message =
      error instanceof ConfigError ? error.message : `migration failed: ${String(error)}`;
    process.stderr.write(message + '\n');
    process.exit(1);
  });
}
