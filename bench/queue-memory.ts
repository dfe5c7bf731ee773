/**
 * Redis memory per queued job: adds QUEUE_MEMORY_JOBS jobs (default 10,000) to a Bull queue of a
 * prefix of its own exactly as the orchestrator enqueues a task (job id = task id, the job
 * telemetry fields, attempts, the custom backoff, remove on complete/fail), then reports
 * `MEMORY USAGE` of one job's hash and of the wait list, and `used_memory` before and after
 * divided by the jobs. Deletes its keys at the end. Run with
 * `npx ts-node --transpile-only -r tsconfig-paths/register bench/queue-memory.ts`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import Queue from 'bull';
import Redis from 'ioredis';
import { bullPrefix, QueueName } from '@app/runtime';
import { localUrl } from './settings';

const JOBS = Number(process.env.QUEUE_MEMORY_JOBS ?? 10_000);
const REDIS_URL = localUrl(
  'BENCH_REDIS_URL',
  process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
);

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const prefix = bullPrefix(`queue_memory_${randomBytes(4).toString('hex')}`);
  const redis = new Redis(REDIS_URL);
  const queue = new Queue(QueueName.Analysis, REDIS_URL, { prefix });
  try {
    await queue.isReady();
    const before = await usedMemory(redis);
    let first = '';
    for (let i = 0; i < JOBS; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, JOBS - i) }, () => {
          const taskId = randomUUID();
          first ||= taskId;
          return queue.add(
            'run-task',
            {
              taskId,
              correlationId: randomUUID(),
              deliveryId: randomUUID(),
              traceContext: {
                traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
              },
            },
            {
              jobId: taskId,
              attempts: 4,
              backoff: { type: 'task' },
              removeOnComplete: true,
              removeOnFail: true,
            },
          );
        }),
      );
    }
    const after = await usedMemory(redis);
    const jobKey = `${prefix}:${QueueName.Analysis}:${first}`;
    const waitKey = `${prefix}:${QueueName.Analysis}:wait`;
    const jobBytes = Number(await redis.call('MEMORY', 'USAGE', jobKey));
    const waitBytes = Number(await redis.call('MEMORY', 'USAGE', waitKey, 'SAMPLES', '0'));
    console.log(`| Redis memory per queued job (${JOBS.toLocaleString('en')} jobs) | bytes |`);
    console.log('| --- | --- |');
    console.log(
      `| one job's hash (\`MEMORY USAGE ${jobKey.replace(prefix, '{prefix}')}\`) | ${jobBytes} |`,
    );
    console.log(`| wait list, per job | ${(waitBytes / JOBS).toFixed(1)} |`);
    console.log(
      `| used_memory after − before, per job | ${((after - before) / JOBS).toFixed(1)} |`,
    );
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    const left = await redis.keys(`${prefix}*`);
    if (left.length > 0) await redis.del(...left);
    redis.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
