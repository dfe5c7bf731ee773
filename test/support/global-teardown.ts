import { sweepRun } from './run-scope';
import { workerDatabaseName } from './worker-scope';

/**
 * Drops this run's database, the workers' copies and its Bull keys, removes its temporary folder,
 * and fails the run when a suite left something behind (a database, a temporary file or folder,
 * or a process still writing Redis keys under the run's prefixes); whatever it finds is removed
 * all the same.
 */
export default async function globalTeardown(): Promise<void> {
  const databaseName = process.env.TEST_RUN_DATABASE_NAME;
  const queuePrefix = process.env.TEST_RUN_QUEUE_PREFIX;
  const tmpRoot = process.env.TEST_TMP_ROOT;
  if (!databaseName || !queuePrefix || !tmpRoot) return;
  const workers = Number(process.env.TEST_RUN_WORKERS ?? '1');
  const leftovers = await sweepRun(
    {
      adminUrl:
        process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
      databaseName,
      queuePrefix,
      tmpRoot,
      ownDatabases: Array.from({ length: workers }, (_, i) =>
        workerDatabaseName(databaseName, String(i + 1)),
      ),
    },
    { dropDatabase: process.env.KEEP_TEST_DATABASE !== '1' },
  );
  if (leftovers.length > 0) {
    throw new Error(
      `the test run left ${leftovers.length} thing(s) behind (removed now; the suite that made ` +
        `them must remove them itself):\n  ${leftovers.join('\n  ')}`,
    );
  }
}
