import { Client } from 'pg';
import { pgConnectionOptions } from '@app/platform';
import { MIGRATIONS } from './migrations';

/**
 * Key of the PostgreSQL advisory lock that every migration run holds, so two processes that
 * migrate the same database at once (two replicas started with MIGRATE_ON_START, or the deploy
 * Job and a developer's app) run one after the other. Advisory locks are per database.
 */
export const MIGRATION_LOCK_KEY = '8122019431770004411';

export interface MigrationLockOptions {
  /** Give up (and throw) after waiting this long for another process's run. */
  timeoutMs?: number;
  pollMs?: number;
  /** Called once if the lock is held by another process when we first ask. */
  onWait?: () => void;
  /** CA bundle of the database's TLS certificate (DATABASE_SSL_CA_FILE). */
  sslCaFile?: string;
}

function connect(
  databaseUrl: string,
  applicationName: string,
  sslCaFile?: string,
): Promise<Client> {
  const client = new Client({
    // The same TLS handling as the apps' pools (sslmode with libpq's meaning, CA file).
    ...pgConnectionOptions(databaseUrl, sslCaFile),
    application_name: applicationName,
    connectionTimeoutMillis: 10_000,
  });
  return client.connect().then(() => client);
}

/**
 * Runs `work` while holding the migration lock on a session of its own. The lock is released
 * when `work` settles, or by PostgreSQL if this process dies holding it.
 */
export async function withMigrationLock<T>(
  databaseUrl: string,
  work: () => Promise<T>,
  { timeoutMs = 300_000, pollMs = 250, onWait, sslCaFile }: MigrationLockOptions = {},
): Promise<T> {
  const client = await connect(databaseUrl, 'orchestrator-migration-lock', sslCaFile);
  try {
    const deadline = Date.now() + timeoutMs;
    let told = false;
    for (;;) {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1::bigint) AS locked',
        [MIGRATION_LOCK_KEY],
      );
      if (rows[0]?.locked) break;
      if (!told) {
        told = true;
        onWait?.();
      }
      if (Date.now() >= deadline) {
        throw new Error(`another process held the migration lock for ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    try {
      return await work();
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY])
        .catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Names of the migrations this build has that the database has not applied yet. Read-only. */
export async function pendingMigrationNames(
  databaseUrl: string,
  sslCaFile?: string,
): Promise<string[]> {
  const client = await connect(databaseUrl, 'orchestrator-schema-check', sslCaFile);
  try {
    const { rows: table } = await client.query<{ exists: boolean }>(
      `SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`,
    );
    const applied = new Set<string>();
    if (table[0]?.exists) {
      const { rows } = await client.query<{ name: string }>('SELECT name FROM schema_migrations');
      for (const row of rows) applied.add(row.name);
    }
    return MIGRATIONS.map((Migration) => new Migration().name).filter(
      (name): name is string => typeof name === 'string' && !applied.has(name),
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Resolves once the database has every migration of this build (the deploy step ran); polls
 * until `timeoutMs`, then throws naming what is still missing.
 */
export async function waitForSchema(
  databaseUrl: string,
  { timeoutMs = 600_000, pollMs = 2000, onWait, sslCaFile }: MigrationLockOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    let pending: string[];
    try {
      pending = await pendingMigrationNames(databaseUrl, sslCaFile);
    } catch (error) {
      // PostgreSQL may still be starting; keep polling until the deadline.
      pending = [`(database not reachable: ${error instanceof Error ? error.message : 'error'})`];
    }
    if (pending.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`schema still lacks ${pending.join(', ')} after ${timeoutMs} ms`);
    }
    if (!told) {
      told = true;
      onWait?.();
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
