import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import Redis from 'ioredis';
import { bullPrefix } from '@app/runtime';
import { CodegenFake, GithubFake } from './fakes';
import {
  closeDb,
  CODEGEN_TOKEN,
  db,
  deliver,
  drainAndTruncate,
  example,
  exampleRepositories,
  finished,
  RunningOrchestrator,
  RunningWorker,
  startOrchestrator,
  startWorker,
  testEnv,
  truncateAll,
  waitFor,
} from './support/harness';
import { Stack, startStack } from './support/stack';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_worker`;
/** GitHub's pull request files list: the read the injected failures below are meant for. */
const PR_FILES = 'GET /repos/{owner}/{repo}/pulls/{pull_number}/files';

/** A PR payload from GitHub's examples, on a repository of our choosing. */
function pullRequest(
  action: string,
  overrides: { number?: number; sha?: string; draft?: boolean } = {},
) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.action = action;
  payload.pull_request.number = overrides.number ?? 7;
  payload.number = payload.pull_request.number;
  payload.pull_request.head.sha = overrides.sha ?? 'a'.repeat(40);
  payload.pull_request.draft = overrides.draft ?? false;
  return payload;
}

function failedCheckRun(name: string, prNumber: number, sha: string) {
  const payload = example('check_run', (p) => p.action === 'completed');
  payload.check_run.name = name;
  payload.check_run.conclusion = 'failure';
  payload.check_run.head_sha = sha;
  payload.check_run.pull_requests = [
    {
      url: 'x',
      id: 1,
      number: prNumber,
      head: { ref: 'feature', sha, repo: payload.repository },
      base: { ref: 'main', sha: 'b'.repeat(40), repo: payload.repository },
    },
  ];
  return payload;
}

async function executions(taskPk: number) {
  const { rows } = await db().query(
    'SELECT * FROM task_executions WHERE task_id = $1 ORDER BY id',
    [taskPk],
  );
  return rows;
}

describe('worker: every task type, end to end', () => {
  let github: GithubFake;
  let codegen: CodegenFake;
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  let repo: string;
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      prefix: PREFIX,
      worker: {
        // The worker reads GitHub without a token here.
        GITHUB_TOKEN: undefined,
        GITHUB_TIMEOUT_MS: '2000',
        CODEGEN_POLL_MAX_INTERVAL_MS: '200',
      },
    });
    ({ github, codegen, orch, worker } = stack);
    repo = example('pull_request').repository.full_name;
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    // Let work started by the previous test (agent-run children) end before wiping its rows.
    await drainAndTruncate();
    github.reset();
    codegen.reset();
    // Runs finish on their first poll; the PRs the tests use are open with the head they name.
    codegen.setAutoComplete(1);
    for (const [n, sha] of [
      [7, 'a'],
      [21, 'e'],
    ] as const)
      github.setPullRequest(repo, n, { headSha: sha.repeat(40) });
  });

  it('analyses a new PR with code changes and starts one agent run with a full prompt', async () => {
    github.setPullRequestFiles(repo, 7, [
      { filename: 'src/main.py' },
      { filename: 'tests/test_main.py' },
      { filename: 'package.json' },
    ]);
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened'));
    const analysis = await finished(res.body.result.task_id);
    expect(analysis.status).toBe('completed');
    expect(analysis.output_data.counts).toMatchObject({ code: 1, test: 1, config: 1 });
    expect(analysis.output_data.shouldTriggerAgent).toBe(true);
    expect(analysis.output_data.child_task_ids).toHaveLength(1);

    const trigger = await finished(analysis.output_data.child_task_ids[0]);
    expect(trigger).toMatchObject({
      task_type: 'codegen_trigger',
      status: 'completed',
      parent_task_id: analysis.id,
      webhook_event_id: analysis.webhook_event_id,
      codegen_task_id: '1',
      codegen_task_url: `${codegen.url}/agent/trace/1`,
    });
    expect(codegen.createdRuns).toHaveLength(1);
    const run = codegen.createdRuns[0];
    expect(run.authorization).toBe(`Bearer ${CODEGEN_TOKEN}`);
    expect(run.orgId).toBe(42);
    // Codegen's id of the repository, from its repository list.
    expect(run.repoId).toBe(codegen.repositoryId(repo));
    expect(run.prompt).toContain(repo);
    expect(run.prompt).toContain('#7');
    expect(run.prompt).toContain('a'.repeat(40));
    expect(run.metadata).toEqual({
      task_id: trigger.task_id,
      repository: repo,
      pr_number: 7,
      head_sha: 'a'.repeat(40),
      trigger_kind: 'pull_request',
    });
    expect(codegen.violations).toEqual([]);

    // Each attempt is recorded with real timing, and the event is marked processed.
    const [exec] = await executions(analysis.id);
    expect(exec).toMatchObject({ status: 'completed', attempt: 1, queue_name: 'analysis' });
    expect(exec.duration_ms).toBeGreaterThanOrEqual(0);
    expect(new Date(exec.completed_at).getTime()).toBeGreaterThanOrEqual(
      new Date(exec.started_at).getTime(),
    );
    const event = await waitFor(async () => {
      const { rows } = await db().query('SELECT * FROM webhook_events WHERE id = $1', [
        analysis.webhook_event_id,
      ]);
      return rows[0]?.processed ? rows[0] : null;
    });
    expect(event.error_message).toBeNull();
    expect(event.processing_completed_at).not.toBeNull();
  });

  it('skips a draft PR without calling GitHub, and triggers on ready_for_review', async () => {
    const draft = await deliver(orch.url, 'pull_request', pullRequest('opened', { draft: true }));
    const skipped = await finished(draft.body.result.task_id);
    expect(skipped.output_data).toMatchObject({ skipped: true });
    expect(github.requests).toHaveLength(0);

    github.setPullRequestFiles(repo, 7, [{ filename: 'README.md' }]);
    const ready = await deliver(
      orch.url,
      'pull_request',
      pullRequest('ready_for_review', { draft: false }),
    );
    const analysed = await finished(ready.body.result.task_id);
    expect(analysed.output_data.shouldTriggerAgent).toBe(true);
  });

  it('triggers on synchronize only above the code-file threshold (3)', async () => {
    github.setPullRequestFiles(
      repo,
      7,
      ['a.ts', 'b.ts', 'c.ts'].map((f) => ({ filename: `src/${f}` })),
    );
    const three = await deliver(
      orch.url,
      'pull_request',
      pullRequest('synchronize', { sha: 'c'.repeat(40) }),
    );
    expect((await finished(three.body.result.task_id)).output_data.shouldTriggerAgent).toBe(false);

    github.setPullRequestFiles(
      repo,
      7,
      ['a.ts', 'b.ts', 'c.ts', 'd.ts'].map((f) => ({ filename: `src/${f}` })),
    );
    github.setPullRequest(repo, 7, { headSha: 'd'.repeat(40) });
    const four = await deliver(
      orch.url,
      'pull_request',
      pullRequest('synchronize', { sha: 'd'.repeat(40) }),
    );
    const task = await finished(four.body.result.task_id);
    expect(task.output_data.shouldTriggerAgent).toBe(true);
    const trigger = await finished(task.output_data.child_task_ids[0]);
    expect({ status: trigger.status, error: trigger.error_message }).toEqual({
      status: 'completed',
      error: null,
    });
    expect(codegen.createdRuns).toHaveLength(1);
  });

  it('classifies a failed check run for its own PR and starts one run per failing commit', async () => {
    const sha = 'e'.repeat(40);
    const first = await deliver(
      orch.url,
      'check_run',
      failedCheckRun('unit tests (jest)', 21, sha),
    );
    const [firstId] = first.body.result.task_ids;
    const analysis = await finished(firstId);
    expect(analysis).toMatchObject({ status: 'completed', pr_number: 21 });
    expect(analysis.output_data.categories).toEqual(['test']);
    await finished(analysis.output_data.child_task_ids[0]);

    // A second failed check on the same commit, and the suite failure, join the first run.
    const second = await deliver(orch.url, 'check_run', failedCheckRun('eslint', 21, sha));
    const joined = await finished(second.body.result.task_ids[0]);
    expect(joined.output_data.joined_existing).toHaveLength(1);
    expect(joined.output_data.child_task_ids).toBeUndefined();

    const suite = example('check_suite', (p) => p.action === 'completed');
    suite.check_suite.conclusion = 'failure';
    suite.check_suite.head_sha = sha;
    suite.check_suite.pull_requests = [
      { number: 21, head: { ref: 'feature', sha }, base: { ref: 'main', sha: 'b' } },
    ];
    github.setCheckRuns(suite.repository.full_name, suite.check_suite.id, [
      { name: 'build (tsc)', conclusion: 'failure' },
      { name: 'docs', conclusion: 'success' },
    ]);
    const suiteRes = await deliver(orch.url, 'check_suite', suite);
    const suiteTask = await finished(suiteRes.body.result.task_ids[0]);
    expect(suiteTask.output_data).toMatchObject({
      failed_runs: 1,
      runs_total: 2,
      categories: ['build'],
    });
    expect(codegen.createdRuns).toHaveLength(1);
    expect(codegen.createdRuns[0].prompt).toMatch(/unit tests \(jest\)/);
  });

  it('summarises a push to the default branch', async () => {
    const payload = example('push');
    payload.ref = `refs/heads/${payload.repository.default_branch}`;
    payload.deleted = false;
    const res = await deliver(orch.url, 'push', payload);
    const task = await finished(res.body.result.task_id);
    expect(task.status).toBe('completed');
    expect(task.output_data.commitCount).toBe(payload.commits.length);
    expect(task.output_data.branch).toBe(payload.repository.default_branch);
  });

  it('retries transient GitHub failures with backoff and records every attempt', async () => {
    github.setPullRequestFiles(repo, 7, [{ filename: 'docs/guide.md' }]);
    // 3 in-call tries per attempt; 4 failures make the first attempt fail, the second succeed.
    github.failNext(4, { status: 502, route: PR_FILES });
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened'));
    const task = await finished(res.body.result.task_id);
    expect(task.status).toBe('completed');
    expect(task.retry_count).toBe(1);
    const attempts = await executions(task.id);
    expect(attempts.map((e) => [e.attempt, e.status])).toEqual([
      [1, 'retrying'],
      [2, 'completed'],
    ]);
    expect(attempts[0].error_message).toMatch(/github.*502/i);
  });

  it('fails at once on a permanent GitHub error (404), without retrying', async () => {
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened', { number: 404 }));
    const task = await finished(res.body.result.task_id);
    expect(task.status).toBe('failed');
    expect(task.retry_count).toBe(0);
    expect(task.error_message).toMatch(/404/);
    expect(await executions(task.id)).toHaveLength(1);
    const { rows } = await db().query('SELECT processed, error_message FROM webhook_events');
    expect(rows[0]).toMatchObject({
      processed: true,
      error_message: expect.stringContaining('pull_request_analysis'),
    });
  });

  it('does the work once when a job is delivered twice', async () => {
    github.setPullRequestFiles(repo, 7, [{ filename: 'README.md' }]);
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened'));
    const taskId = res.body.result.task_id;
    const task = await finished(taskId);
    const before = await executions(task.id);
    const queue = worker.app.get<Queue>(getQueueToken('analysis'), { strict: false });
    // The same task id under another job id: Bull would run it, our claim must not.
    const dup = await queue.add(
      'run-task',
      { taskId },
      { jobId: `${taskId}-dup`, removeOnComplete: false },
    );
    await waitFor(async () => (await dup.getState()) === 'completed', { what: 'duplicate job' });
    expect(await dup.finished()).toBe('skipped');
    expect(await executions(task.id)).toEqual(before);
    expect(github.requests.filter((r) => r.path.includes('/files'))).toHaveLength(1);
  });

  it('retries Codegen 5xx and honours 429 Retry-After, starting exactly one run', async () => {
    github.setPullRequestFiles(repo, 7, [{ filename: 'src/app.ts' }]);
    codegen.failNext(1, { status: 429, retryAfterSeconds: 1, route: 'create' });
    github.setPullRequest(repo, 7, { headSha: 'f'.repeat(40) });
    const res = await deliver(
      orch.url,
      'pull_request',
      pullRequest('opened', { sha: 'f'.repeat(40) }),
    );
    const analysis = await finished(res.body.result.task_id);
    const started = Date.now();
    const trigger = await finished(analysis.output_data.child_task_ids[0]);
    expect(trigger.status).toBe('completed');
    expect(codegen.createdRuns).toHaveLength(1);
    const creates = codegen.requests.filter((r) => r.method === 'POST');
    expect(creates).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  // Last in this suite: it leaves GitHub's circuit open for a moment.
  it('fails a task once its retries are spent', async () => {
    github.failNext(100, { status: 503, route: PR_FILES });
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened'));
    const task = await finished(res.body.result.task_id);
    expect(task.status).toBe('failed');
    expect(task.retry_count).toBe(3);
    expect(task.output_data).toMatchObject({ error_kind: 'retries_exhausted', attempts: 4 });
    expect(await executions(task.id)).toHaveLength(4);
  });
});

describe('worker: dry-run mode without CODEGEN_TOKEN', () => {
  it('records the prompt it would have sent and calls nobody', async () => {
    const prefix = `${PREFIX}_dry`;
    const github = await GithubFake.start();
    const codegen = await CodegenFake.start({
      token: CODEGEN_TOKEN,
      repositories: exampleRepositories(),
    });
    const orch = await startOrchestrator({ QUEUE_PREFIX: prefix });
    const worker = await startWorker({
      QUEUE_PREFIX: prefix,
      GITHUB_API_URL: github.url,
      CODEGEN_BASE_URL: codegen.url,
      CODEGEN_TOKEN: '',
    });
    try {
      await truncateAll();
      const repo = example('pull_request').repository.full_name;
      github.setPullRequestFiles(repo, 7, [{ filename: 'src/main.go' }]);
      github.setPullRequest(repo, 7, { headSha: 'a'.repeat(40) });
      const res = await deliver(orch.url, 'pull_request', pullRequest('opened'));
      const analysis = await finished(res.body.result.task_id);
      const trigger = await finished(analysis.output_data.child_task_ids[0]);
      expect(trigger.status).toBe('completed');
      expect(trigger.output_data.dry_run).toBe(true);
      expect(trigger.output_data.prompt).toContain(repo);
      expect(trigger.codegen_task_id).toBeNull();
      expect(codegen.requests).toHaveLength(0);
    } finally {
      await worker.close();
      await orch.close();
      await github.stop();
      await codegen.stop();
      await closeDb();
    }
  });
});

describe('worker: GitHub unreachable', () => {
  it('names the cause (code, address) in the failed task and every execution, also once the circuit is open', async () => {
    const prefix = `${PREFIX}_unreachable`;
    // A port nothing listens on: every call is refused, as with no network or a wrong URL.
    const gone = await GithubFake.start();
    const host = new URL(gone.url).host;
    await gone.stop();
    const orch = await startOrchestrator({ QUEUE_PREFIX: prefix });
    const worker = await startWorker({
      QUEUE_PREFIX: prefix,
      GITHUB_API_URL: gone.url,
      CODEGEN_TOKEN: '',
      CIRCUIT_BREAKER_THRESHOLD: '2',
      CIRCUIT_BREAKER_RECOVERY_MS: '60000',
    });
    try {
      await truncateAll();
      const res = await deliver(orch.url, 'pull_request', pullRequest('opened'));
      const task = await finished(res.body.result.task_id);

      expect(task.status).toBe('failed');
      const cause = `network error (ECONNREFUSED ${host})`;
      // The first attempt opens the circuit; the later ones fail fast on it, and still say why.
      expect(task.error_message).toBe(`github: circuit open; last error: ${cause}`);
      const attempts = await executions(task.id);
      expect(attempts).toHaveLength(4);
      for (const attempt of attempts) expect(attempt.error_message).toContain(cause);
    } finally {
      await worker.close();
      await orch.close();
      await closeDb();
    }
  });
});

describe('worker: stopped right after its start', () => {
  it('closes cleanly however early the stop comes, and leaves no heartbeat behind', async () => {
    // Bull names its connections while it starts and drops that promise: a stop before Redis
    // answered used to reject it with no handler, which ends the process (and fails this test).
    const prefix = `${process.env.TEST_QUEUE_PREFIX}_early_stop`;
    const redis = new Redis(testEnv().REDIS_URL as string);
    try {
      const env = { QUEUE_PREFIX: prefix, CODEGEN_TOKEN: '' };
      for (let i = 0; i < 20; i++) {
        const worker = await startWorker(env);
        await worker.close();
      }
      expect(await redis.hlen(`${prefix}:workers`)).toBe(0);
      // No connection of theirs is left open (one would keep the process from exiting).
      const clients = (await redis.client('LIST')) as string;
      expect(
        clients.split('\n').filter((line) => line.includes(` name=${bullPrefix(prefix)}:`)),
      ).toEqual([]);
      // The key is the one a running worker writes.
      const worker = await startWorker(env);
      await waitFor(async () => (await redis.hlen(`${prefix}:workers`)) === 1, {
        what: 'the heartbeat',
      });
      await worker.close();
      expect(await redis.hlen(`${prefix}:workers`)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});
