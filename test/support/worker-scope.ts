/**
 * Runs before each e2e file, in its Jest worker: points TEST_DATABASE_URL, TEST_DATABASE_NAME and
 * TEST_QUEUE_PREFIX at this worker's own copy of the run's database and a Bull prefix under the
 * run's (both made by global-setup.ts). Two files that run at the same time then never share a
 * table, a queue or a relay, and the teardown still finds everything under the run's names.
 */
export function workerDatabaseName(runDatabase: string, workerId: string): string {
  return `${runDatabase}_w${workerId}`;
}

const runUrl = process.env.TEST_RUN_DATABASE_URL;
const runName = process.env.TEST_RUN_DATABASE_NAME;
const runPrefix = process.env.TEST_RUN_QUEUE_PREFIX;
if (runUrl && runName && runPrefix) {
  // 1..maxWorkers; '1' when the run is in band.
  const id = process.env.JEST_WORKER_ID ?? '1';
  const own = workerDatabaseName(runName, id);
  const url = new URL(runUrl);
  url.pathname = `/${own}`;
  process.env.TEST_DATABASE_URL = url.toString();
  process.env.TEST_DATABASE_NAME = own;
  process.env.TEST_QUEUE_PREFIX = `${runPrefix}_w${id}`;
}
