import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import Redis from 'ioredis';
import { makeTmpRoot, RunScope, sweepRun } from './support/run-scope';

/**
 * The global teardown's sweep, tried on a scope of its own: it must find what a careless suite
 * leaves (so the run fails), and leave nothing behind itself.
 */
describe('the end-of-run sweep (global teardown)', () => {
  const adminUrl =
    process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const redis = new Redis(process.env.TEST_REDIS_URL as string);
  let scope: RunScope;

  beforeEach(() => {
    const id = randomBytes(3).toString('hex');
    scope = {
      adminUrl,
      redisUrl: process.env.TEST_REDIS_URL as string,
      databaseName: `${process.env.TEST_DATABASE_NAME}_sweep${id}`,
      queuePrefix: `${process.env.TEST_QUEUE_PREFIX}_sweep${id}`,
      tmpRoot: makeTmpRoot(`sweep${id}`),
    };
  });
  afterAll(() => redis.disconnect());

  async function admin(sql: string): Promise<string[]> {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return (await client.query<{ datname: string }>(sql)).rows.map((r) => r.datname);
    } finally {
      await client.end();
    }
  }
  const databasesOf = (name: string) =>
    admin(`SELECT datname FROM pg_database WHERE datname LIKE '${name}%' ORDER BY datname`);
  const keysOf = async (prefix: string) =>
    [...(await redis.keys(`${prefix}:*`)), ...(await redis.keys(`${prefix}_*`))].sort();

  it('removes what the run owns and reports only what a suite should have removed', async () => {
    const extra = `${scope.databaseName}_m1`;
    await admin(`CREATE DATABASE ${scope.databaseName}`);
    await admin(`CREATE DATABASE ${extra}`);
    // Bull's keys under the run's prefix and a suite's derived prefix are expected.
    await redis.set(`${scope.queuePrefix}:bull:analysis:id`, '1');
    await redis.set(`${scope.queuePrefix}_obs:workers`, '1');
    const leaked = mkdtempSync(join(scope.tmpRoot, 'tls-e2e-'));
    // A process of the run still running writes its key again after the sweep.
    const writer = setInterval(() => void redis.set(`${scope.queuePrefix}_proc:workers`, 'x'), 50);

    let leftovers: string[];
    try {
      leftovers = await sweepRun(scope, { dropDatabase: true, settleMs: 300 });
    } finally {
      clearInterval(writer);
    }

    expect(leftovers).toEqual([
      `database ${extra}`,
      `temporary ${leaked}`,
      `redis key ${scope.queuePrefix}_proc:workers (written again after the sweep)`,
    ]);
    await redis.del(`${scope.queuePrefix}_proc:workers`);
    expect(await databasesOf(scope.databaseName)).toEqual([]);
    expect(await keysOf(scope.queuePrefix)).toEqual([]);
    expect(existsSync(scope.tmpRoot)).toBe(false);
  });

  it('reports nothing for a run that cleaned up after itself', async () => {
    await admin(`CREATE DATABASE ${scope.databaseName}`);
    await redis.set(`${scope.queuePrefix}:bull:analysis:id`, '1');

    expect(await sweepRun(scope, { dropDatabase: true, settleMs: 50 })).toEqual([]);
    expect(await databasesOf(scope.databaseName)).toEqual([]);
    expect(await keysOf(scope.queuePrefix)).toEqual([]);
    expect(existsSync(scope.tmpRoot)).toBe(false);
  });
});
