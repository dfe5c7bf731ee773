import { Client } from 'pg';
import { TRUNCATE_ALL_SQL } from './tables';

/**
 * Every e2e file starts on empty tables. Files share the run's database, and a worker's relay
 * picks up every task still pending in it: without this, tasks a previous file left behind
 * (hostile deliveries stored with no worker running) would be worked off during this file's
 * tests and hold up their waits for a drain.
 */
beforeAll(async () => {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(TRUNCATE_ALL_SQL);
  } finally {
    await client.end();
  }
});
