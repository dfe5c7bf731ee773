import { Client } from 'pg';
import Redis from 'ioredis';

/** Drops this run's database and its Bull keys. */
export default async function globalTeardown(): Promise<void> {
  const adminUrl =
    process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = process.env.TEST_DATABASE_NAME;
  if (name && process.env.KEEP_TEST_DATABASE !== '1') {
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
  const prefix = process.env.TEST_QUEUE_PREFIX;
  if (prefix && process.env.TEST_REDIS_URL) {
    const redis = new Redis(process.env.TEST_REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    } catch {
      // Redis may have been stopped by a test; its keys are then gone anyway.
    } finally {
      redis.disconnect();
    }
  }
}
