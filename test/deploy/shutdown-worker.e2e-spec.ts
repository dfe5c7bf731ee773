import Redis from 'ioredis';
import { bullPrefix } from '@app/runtime';
import { GithubFake } from '../fakes';
import {
  closeDb,
  db,
  deliver,
  example,
  RunningOrchestrator,
  startOrchestrator,
  taskRows,
  testEnv,
  truncateAll,
  waitFor,
} from '../support/harness';
import { AppProcess, assertBuilt, killAll, startApp, WORKER_MAIN } from '../support/app-process';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_shutdown_worker`;
const GITHUB_LATENCY_MS = 2500;
const GRACE_MS = 20_000;

function openedPullRequest(number: number) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.pull_request.number = number;
  payload.number = number;
  payload.pull_request.draft = false;
  payload.pull_request.head.sha = String(number).padStart(40, 'c');
  return payload;
}

async function executionsBy(workerId: string) {
  const { rows } = await db().query<{ task_id: string; status: string; completed_at: Date | null }>(
    'SELECT task_id, status, completed_at FROM task_executions WHERE worker_id = $1 ORDER BY id',
    [workerId],
  );
  return rows;
}

describe('worker graceful shutdown (the built app as a process)', () => {
  let github: GithubFake;
  let orchestrator: RunningOrchestrator;
  let redis: Redis;
  let first: AppProcess | undefined;
  let second: AppProcess | undefined;

  beforeAll(async () => {
    assertBuilt();
    github = await GithubFake.start();
    orchestrator = await startOrchestrator({ QUEUE_PREFIX: PREFIX });
    redis = new Redis(process.env.TEST_REDIS_URL as string);
  });
  afterAll(async () => {
    await killAll([first, second]);
    await orchestrator.close();
    await github.stop();
    redis.disconnect();
    await closeDb();
  });

  const workerEnv = (id: string) =>
    testEnv({
      QUEUE_PREFIX: PREFIX,
      LOG_LEVEL: 'info',
      WORKER_ID: id,
      WORKER_CONCURRENCY: '1',
      GITHUB_API_URL: github.url,
      GITHUB_TIMEOUT_MS: String(GITHUB_LATENCY_MS * 4),
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });

  it('on SIGTERM takes no new job, finishes the running one, leaves nothing stalled, exits 0; a new worker takes the rest', async () => {
    await truncateAll();
    const repo = example('pull_request').repository.full_name as string;
    for (const n of [101, 102, 103]) {
      // Documentation only: the analysis completes without asking for an agent run.
      github.setPullRequest(repo, n);
      github.setPullRequestFiles(repo, n, [{ filename: `docs/guide-${n}.md` }]);
    }
    github.setLatency(GITHUB_LATENCY_MS);

    first = startApp(WORKER_MAIN, workerEnv('worker-first'));
    await first.waitForLog('worker started');
    const taskIds: string[] = [];
    for (const n of [101, 102, 103]) {
      const res = await deliver(orchestrator.url, 'pull_request', openedPullRequest(n));
      expect(res.status).toBe(200);
      taskIds.push(res.body.result.task_id as string);
    }

    // One job runs (concurrency 1, GitHub answers slowly); the other two wait in Redis.
    const running = await waitFor(async () => (await taskRows("status = 'running'"))[0] ?? null, {
      what: 'a task to be running',
    });
    const signalledAt = first.terminate();

    const exit = await first.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(GRACE_MS);
    expect(first.lines().map((l) => l.message)).toContain('shutdown complete');

    // The running task finished; no other job was started by the stopping worker.
    const [finished] = await taskRows('task_id = $1', [running.task_id]);
    expect(finished.status).toBe('completed');
    const firstRuns = await executionsBy('worker-first');
    expect(firstRuns).toHaveLength(1);
    expect(firstRuns[0].completed_at).not.toBeNull();
    const waiting = await taskRows("task_id = ANY($1) AND status <> 'completed'", [taskIds]);
    expect(waiting.map((t) => t.status)).toEqual(['queued', 'queued']);

    // Nothing is left active (stalled) in Redis: both jobs are waiting for the next worker.
    const key = (list: string) => `${bullPrefix(PREFIX)}:analysis:${list}`;
    expect(await redis.llen(key('active'))).toBe(0);
    expect((await redis.lrange(key('wait'), 0, -1)).sort()).toEqual(
      waiting.map((t) => t.task_id as string).sort(),
    );

    github.setLatency(0);
    second = startApp(WORKER_MAIN, workerEnv('worker-second'));
    await waitFor(
      async () =>
        (await taskRows("task_id = ANY($1) AND status = 'completed'", [taskIds])).length === 3,
      { what: 'the waiting tasks to complete on the new worker' },
    );
    const secondRuns = await executionsBy('worker-second');
    expect(secondRuns.map((r) => r.task_id).sort()).toEqual(
      waiting.map((t) => String(t.id)).sort(),
    );
    second.terminate();
    expect((await second.exited).code).toBe(0);
  });
});
