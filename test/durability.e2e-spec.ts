import { randomUUID } from 'node:crypto';
import {
  closeDb,
  deliver,
  example,
  startOrchestrator,
  startWorker,
  taskRows,
  truncateAll,
  waitFor,
} from './support/harness';
import { ScratchRedis } from './support/redis-server';

/** A push to the default branch: a task that needs neither GitHub nor Codegen. */
function push(): Record<string, unknown> {
  const payload = example('push');
  payload.ref = `refs/heads/${payload.repository.default_branch}`;
  payload.deleted = false;
  payload.after = randomUUID().replace(/-/g, '').padEnd(40, '0');
  return payload;
}

async function allCompleted(taskIds: string[]): Promise<boolean> {
  const rows = await taskRows('task_id = ANY($1::uuid[])', [taskIds]);
  return rows.length === taskIds.length && rows.every((r) => r.status === 'completed');
}

describe('nothing is lost when Redis is away', () => {
  let redis: ScratchRedis;

  beforeAll(async () => {
    redis = await ScratchRedis.start();
  });
  afterAll(async () => {
    await redis.kill();
    await closeDb();
  });
  beforeEach(truncateAll);

  it('answers 200 while Redis is down, and every task completes once Redis is back, without restarts', async () => {
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: 'durability' };
    const orch = await startOrchestrator(env);
    const worker = await startWorker(env);
    try {
      const warm = await deliver(orch.url, 'push', push());
      await waitFor(() => allCompleted([warm.body.result.task_id]), { what: 'warm-up task' });

      await redis.kill();
      const during: string[] = [];
      for (let i = 0; i < 10; i++) {
        const started = Date.now();
        const res = await deliver(orch.url, 'push', push());
        expect(res.status).toBe(200);
        expect(Date.now() - started).toBeLessThan(1500);
        during.push(res.body.result.task_id as string);
      }
      const stuck = await taskRows('task_id = ANY($1::uuid[])', [during]);
      expect(stuck.every((t) => t.status === 'pending')).toBe(true);

      // Redis returns empty: the relay re-enqueues from PostgreSQL.
      await redis.up();
      await waitFor(() => allCompleted(during), {
        what: 'tasks accepted during the outage',
        timeoutMs: 30_000,
      });
    } finally {
      await worker.close();
      await orch.close();
    }
  });

  it('completes tasks whose enqueue never happened (orchestrator lost Redis right after commit)', async () => {
    // The orchestrator's Redis is a port where nothing listens: it commits, then cannot enqueue,
    // exactly as if it had died between commit and enqueue. The worker's relay must finish them.
    const orch = await startOrchestrator({
      REDIS_URL: 'redis://127.0.0.1:1/0',
      QUEUE_PREFIX: 'durability2',
    });
    const ids: string[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const res = await deliver(orch.url, 'push', push());
        expect(res.status).toBe(200);
        ids.push(res.body.result.task_id as string);
      }
    } finally {
      await orch.close();
    }
    const worker = await startWorker({ REDIS_URL: redis.url, QUEUE_PREFIX: 'durability2' });
    try {
      await waitFor(() => allCompleted(ids), { what: 'relayed tasks', timeoutMs: 20_000 });
    } finally {
      await worker.close();
    }
  });
});
