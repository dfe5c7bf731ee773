import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '@app/persistence';
import { TRUNCATE_ALL_SQL } from './tables';

/** A migrated database of a unit spec's own, emptied before each test. */
export interface UnitDatabase {
  /** The DataSource on it (open between beforeAll and afterAll). */
  readonly dataSource: DataSource;
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
  }, 60_000);

  beforeEach(async () => {
    await dataSource?.query(TRUNCATE_ALL_SQL);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }, 60_000);

  return {
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
