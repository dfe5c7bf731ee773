// Jest's moduleNameMapper does not apply to globalSetup: the '@app/*' paths come from tsconfig.json.
import 'tsconfig-paths/register';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { runMigrations } from '@app/persistence';
import { makeTmpRoot } from './run-scope';
import { workerDatabaseName } from './worker-scope';

/**
 * Creates a database of this run's own, runs the real migrations into it, and gives the suites
 * its URL and a Bull key prefix of their own, so parallel runs never collide. Each Jest worker
 * then gets a copy of that database and a prefix of its own (test/support/worker-scope.ts), so
 * files running at the same time never see each other's rows, jobs or relays. TMPDIR points to a
 * folder of the run's own, so the teardown can tell whether a suite left a temporary folder.
 */
export default async function globalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  const adminUrl =
    process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const name = `orchestrator_test_${runId}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    await runMigrations(url.toString());
    // A migrated copy per worker: a template copy takes a fraction of a second.
    const workers = Math.max(1, globalConfig.maxWorkers);
    for (let id = 1; id <= workers; id++) {
      await admin.query(`CREATE DATABASE ${workerDatabaseName(name, String(id))} TEMPLATE ${name}`);
    }
    process.env.TEST_RUN_DATABASE_URL = url.toString();
    process.env.TEST_RUN_DATABASE_NAME = name;
    process.env.TEST_RUN_QUEUE_PREFIX = `test_${runId}`;
    process.env.TEST_RUN_WORKERS = String(workers);
  } finally {
    await admin.end();
  }
  process.env.TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
  const tmpRoot = makeTmpRoot(runId);
  process.env.TEST_TMP_ROOT = tmpRoot;
  // os.tmpdir() reads it on every call, here and in every process the tests start.
  process.env.TMPDIR = tmpRoot;
}
