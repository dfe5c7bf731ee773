import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '@app/persistence';
import { TRUNCATED_TABLES } from './tables';

/** A migrated database of a unit spec's own, emptied before each test. */
export interface UnitDatabase {
  /** The DataSource on it (open between beforeAll and afterAll). */
  readonly dataSource: DataSource;
  /** Its connection string, for a client of a test's own (a second session, a lock holder). */
  readonly url: string;
  /** Runs one statement and returns its rows, for arranging and checking state. */
  rows<T = Record<string, unknown>>(sql: string, parameters?: unknown[]): Promise<T[]>;
}

/**
 * Real PostgreSQL for unit specs of repositories and services: a database created and migrated
 * for the spec file (named after the run, so parallel runs never share one), truncated before
 * each test and dropped after the file. TEST_DATABASE_ADMIN_URL names the server (default: the
 * local one, user postgres).
 */
export function useUnitDatabase(): UnitDatabase {
  const adminUrl =
    process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `orchestrator_unit_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dataSource: DataSource | null = null;
  let emptySql = '';

  const admin = async (sql: string): Promise<void> => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${name}`);
    await runMigrations(url.toString());
    dataSource = new DataSource(
      buildDataSourceOptions({
        databaseUrl: url.toString(),
        databasePoolSize: 4,
        databaseConnectTimeoutMs: 10_000,
        applicationName: 'orchestrator-unit-test',
      }),
    );
    await dataSource.initialize();
    emptySql = await emptyingStatement(dataSource);
  }, 60_000);

  beforeEach(async () => {
    await dataSource?.query(emptySql);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }, 60_000);

  return {
    url: url.toString(),
    get dataSource(): DataSource {
      if (!dataSource) throw new Error('the unit database is open only inside the tests');
      return dataSource;
    },
    async rows<T>(sql: string, parameters: unknown[] = []): Promise<T[]> {
      if (!dataSource) throw new Error('the unit database is open only inside the tests');
      return dataSource.query<T[]>(sql, parameters);
    },
  };
}

/**
 * Empties the apps' tables and restarts their ids, as TRUNCATE ... RESTART IDENTITY would, but
 * with DELETEs: a unit test leaves a handful of rows, and TRUNCATE of every table costs a new
 * file per table (about a second per test on a busy 2-core host, against milliseconds). Tables
 * are emptied referencing ones first, so no foreign key is in the way.
 */
async function emptyingStatement(dataSource: DataSource): Promise<string> {
  const references = await dataSource.query<Array<{ child: string; parent: string }>>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
       FROM pg_constraint c
      WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY($1)
        AND c.confrelid::regclass::text = ANY($1) AND c.conrelid <> c.confrelid`,
    [TRUNCATED_TABLES],
  );
  const ordered: string[] = [];
  const visit = (table: string, path: string[]): void => {
    if (ordered.includes(table)) return;
    if (path.includes(table)) throw new Error(`foreign keys form a cycle: ${path.join(' -> ')}`);
    for (const r of references) if (r.parent === table) visit(r.child, [...path, table]);
    ordered.push(table);
  };
  for (const table of TRUNCATED_TABLES) visit(table, []);
  const sequences = await dataSource.query<Array<{ sequence: string }>>(
    `SELECT s.oid::regclass::text AS sequence
       FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
      WHERE s.relkind = 'S' AND d.refobjid::regclass::text = ANY($1)`,
    [TRUNCATED_TABLES],
  );
  return [
    ...ordered.map((t) => `DELETE FROM ${t};`),
    ...sequences.map((s) => `SELECT setval('${s.sequence}', 1, false);`),
  ].join('\n');
}
