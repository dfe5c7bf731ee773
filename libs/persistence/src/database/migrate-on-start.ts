import { runMigrations } from './migrate';

/**
 * MIGRATE_ON_START=true (local development only): applies pending migrations before the app
 * boots. Replicas started together queue on the migration advisory lock, so each migration is
 * applied once; production runs `npm run migration:run` as its own step instead.
 */
export async function migrateOnStart(
  databaseUrl: string,
  service: string,
  sslCaFile?: string,
): Promise<void> {
  const line = (message: string, fields: Record<string, unknown> = {}): void =>
    void process.stdout.write(
      JSON.stringify({
        level: 'info',
        message,
        service,
        ...fields,
        timestamp: new Date().toISOString(),
      }) + '\n',
    );
  const applied = await runMigrations(databaseUrl, {
    sslCaFile,
    onWait: () => line('another process is migrating; waiting for the migration lock'),
  });
  line(
    applied.length > 0
      ? `MIGRATE_ON_START applied ${applied.length} migration(s)`
      : 'MIGRATE_ON_START: schema is up to date',
    { migrations: applied },
  );
}
