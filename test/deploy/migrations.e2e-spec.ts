import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { MIGRATIONS, runMigrations } from '@app/persistence';
import { testEnv } from '../support/harness';
import {
  AppProcess,
  assertBuilt,
  DIST,
  killAll,
  ORCHESTRATOR_MAIN,
  startApp,
  WORKER_MAIN,
} from '../support/app-process';

/*
 * Migrations in production are their own step (`npm run migration:run`, the k8s Job, the compose
 * `migrate` service); MIGRATE_ON_START=true lets local apps migrate at start under an advisory
 * lock. Each test gets an empty database of its own.
 */

const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MIGRATE_CLI = join(DIST, 'libs/persistence/src/database/migrate.js');
const WAIT_CLI = join(DIST, 'libs/persistence/src/database/wait-for-schema.js');
const MIGRATION_NAMES = MIGRATIONS.map((M) => new M().name);

const created: string[] = [];

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new empty database; dropped after the suite. */
async function emptyDatabase(): Promise<string> {
  const name = `${process.env.TEST_DATABASE_NAME}_m${randomBytes(3).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  created.push(name);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const appliedNames = (url: string) =>
  query<{ name: string }>(url, 'SELECT name FROM schema_migrations ORDER BY id').then((rows) =>
    rows.map((r) => r.name),
  );

describe('migrations as a deploy step, and MIGRATE_ON_START for local use', () => {
  const procs: AppProcess[] = [];

  beforeAll(assertBuilt);
  afterEach(() => killAll(procs.splice(0)));
  afterAll(async () => {
    await admin(async (c) => {
      for (const name of created) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    });
  });

  it('applies each migration once when several runs start at the same moment', async () => {
    const url = await emptyDatabase();
    let waited = 0;
    const results = await Promise.all(
      Array.from({ length: 4 }, () => runMigrations(url, { onWait: () => waited++ })),
    );
    // One run applied everything; the others waited for its lock and found nothing to do.
    expect(results.filter((r) => r.length > 0)).toEqual([MIGRATION_NAMES]);
    expect(waited).toBeGreaterThan(0);
    expect(await appliedNames(url)).toEqual(MIGRATION_NAMES);
  });

  it('lets two orchestrators and a worker started together with MIGRATE_ON_START=true all come up', async () => {
    const url = await emptyDatabase();
    const env = testEnv({
      DATABASE_URL: url,
      QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_migrate_on_start`,
      MIGRATE_ON_START: 'true',
      LOG_LEVEL: 'info',
    });
    procs.push(
      startApp(ORCHESTRATOR_MAIN, env),
      startApp(ORCHESTRATOR_MAIN, env),
      startApp(WORKER_MAIN, env),
    );
    const [a, b, worker] = procs;
    await Promise.all([
      a.waitForLog('orchestrator listening'),
      b.waitForLog('orchestrator listening'),
      worker.waitForLog('worker started'),
    ]);
    const reports = procs.map(
      (p) => p.lines().find((l) => String(l.message).startsWith('MIGRATE_ON_START'))?.message,
    );
    expect(
      reports.filter(
        (m) => m === `MIGRATE_ON_START applied ${MIGRATION_NAMES.length} migration(s)`,
      ),
    ).toHaveLength(1);
    expect(reports.filter((m) => m === 'MIGRATE_ON_START: schema is up to date')).toHaveLength(2);
    expect(await appliedNames(url)).toEqual(MIGRATION_NAMES);
    for (const proc of procs) expect(proc.log).not.toMatch(/already exists|duplicate key/);

    const stopped = procs.map((p) => (p.terminate(), p.exited));
    expect((await Promise.all(stopped)).map((e) => e.code)).toEqual([0, 0, 0]);
  });

  it('never migrates at start by default', async () => {
    const url = await emptyDatabase();
    const app = startApp(
      ORCHESTRATOR_MAIN,
      testEnv({ DATABASE_URL: url, QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_no_migrate` }),
    );
    procs.push(app);
    await app.waitForLog('orchestrator listening');
    const [table] = await query<{ exists: boolean }>(
      url,
      "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists",
    );
    expect(table.exists).toBe(false);
    app.terminate();
    expect((await app.exited).code).toBe(0);
  });

  it('holds a new version (wait-for-schema) until the migration step has run', async () => {
    const url = await emptyDatabase();
    const waiting = startApp(WAIT_CLI, { DATABASE_URL: url, SCHEMA_WAIT_TIMEOUT_MS: '30000' });
    procs.push(waiting);
    await waiting.waitForLog('waiting for the migration step');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(waiting.running).toBe(true);

    const migrate = startApp(MIGRATE_CLI, { DATABASE_URL: url });
    procs.push(migrate);
    expect((await migrate.exited).code).toBe(0);
    expect(migrate.log).toContain(`applied ${MIGRATION_NAMES.length} migration(s)`);
    expect((await waiting.exited).code).toBe(0);
    expect(waiting.log).toContain('schema is up to date');

    // Running the step again is harmless.
    const again = startApp(MIGRATE_CLI, { DATABASE_URL: url });
    procs.push(again);
    expect((await again.exited).code).toBe(0);
    expect(again.log).toContain('schema is up to date');
  });
});
