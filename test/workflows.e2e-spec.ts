import { randomUUID } from 'node:crypto';
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
  startOrchestrator,
  startWorker,
  taskRows,
  truncateAll,
  waitFor,
} from './support/harness';
import { Stack, startStack } from './support/stack';

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- rows are asserted field by field

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
/** GitHub's pull request files list: the read the injected failures below are meant for. */
const PR_FILES = 'GET /repos/{owner}/{repo}/pulls/{pull_number}/files';

function pullRequest(
  action: string,
  opts: { number?: number; sha?: string; senderType?: string; senderLogin?: string } = {},
) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.action = action;
  payload.pull_request.number = opts.number ?? 7;
  payload.number = payload.pull_request.number;
  payload.pull_request.head.sha = opts.sha ?? SHA_A;
  payload.pull_request.draft = false;
  if (opts.senderType)
    payload.sender = {
      ...payload.sender,
      type: opts.senderType,
      login: opts.senderLogin ?? 'some-bot[bot]',
    };
  return payload;
}

function failedCheckRun(opts: { sha: string; prs: number[]; name?: string; id?: number }) {
  const payload = example('check_run', (p) => p.action === 'completed');
  payload.check_run.name = opts.name ?? 'unit tests';
  payload.check_run.id = opts.id ?? 4242;
  payload.check_run.conclusion = 'failure';
  payload.check_run.head_sha = opts.sha;
  payload.check_run.pull_requests = opts.prs.map((n) => ({
    url: 'x',
    id: n,
    number: n,
    head: { ref: `branch-${n}`, sha: opts.sha, repo: payload.repository },
    base: { ref: 'main', sha: 'c'.repeat(40), repo: payload.repository },
  }));
  return payload;
}

/** A worker on its own queue prefix, polling the given Codegen fake quickly. */
function startCrashRecoveryWorker(prefix: string, codegen: CodegenFake) {
  return startWorker({
    QUEUE_PREFIX: prefix,
    CODEGEN_BASE_URL: codegen.url,
    CODEGEN_TOKEN,
    CODEGEN_POLL_INTERVAL_MS: '100',
  });
}

async function triggers(): Promise<Row[]> {
  return taskRows("task_type = 'codegen_trigger'");
}

describe('workflows: agent runs and their safety rules', () => {
  let github: GithubFake;
  let codegen: CodegenFake;
  let orch: RunningOrchestrator;
  let repo: string;
  let stack: Stack;
  const prefix = `${process.env.TEST_QUEUE_PREFIX}_wf`;

  beforeAll(async () => {
    stack = await startStack({
      prefix,
      worker: {
        CODEGEN_RUN_DEADLINE_MS: '3000',
        AGENT_BOT_ALLOWLIST: 'friendly-bot[bot]',
        AGENT_MAX_RUNS_PER_PR_PER_DAY: '2',
        // This suite starts more runs than Codegen's default 10 per minute.
        CODEGEN_CREATE_LIMIT_PER_MINUTE: '1000',
      },
    });
    ({ github, codegen, orch } = stack);
    repo = example('pull_request').repository.full_name;
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    await drainAndTruncate(20_000);
    github.reset();
    codegen.reset();
    github.setPullRequest(repo, 7, { headSha: SHA_A });
    github.setPullRequestFiles(repo, 7, [{ filename: 'src/app.ts' }]);
  });

  it('keeps the trigger running while the agent works, then records the run’s outcome', async () => {
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened'));
    const analysis = await finished(res.body.result.task_id);
    const triggerId = analysis.output_data.child_task_ids[0];
    await waitFor(async () => codegen.createdRuns.length === 1, { what: 'agent run creation' });
    // Several polls later the run is still going: the task is running, not completed.
    await waitFor(async () => codegen.createdRuns[0].gets >= 3, { what: 'polls' });
    const [waiting] = await taskRows('task_id = $1', [triggerId]);
    expect(waiting).toMatchObject({ status: 'running', codegen_task_id: '1' });

    codegen.completeRun(1, {
      status: 'COMPLETE',
      result: 'Fixed the bug',
      summary: 'Changed src/app.ts',
      pullRequests: [{ url: 'https://github.com/o/r/pull/99' }],
    });
    const done = await finished(triggerId);
    expect(done.status).toBe('completed');
    expect(done.output_data).toMatchObject({
      agent_run_id: '1',
      agent_run_status: 'COMPLETE',
      result: 'Fixed the bug',
      summary: 'Changed src/app.ts',
      web_url: `${codegen.url}/agent/trace/1`,
      pull_requests: [expect.objectContaining({ url: 'https://github.com/o/r/pull/99' })],
    });
    const execs = (
      await db().query('SELECT status, duration_ms FROM task_executions WHERE task_id = $1', [
        done.id,
      ])
    ).rows;
    expect(execs).toEqual([{ status: 'completed', duration_ms: expect.any(Number) }]);
    // One PR comment: posted at the start, edited at the end.
    expect(github.comments).toHaveLength(1);
    expect(github.comments[0]).toMatchObject({ issue: 7, edits: 1 });
    expect(github.comments[0].body).toContain('finished');
    expect(github.comments[0].body).toContain(`${codegen.url}/agent/trace/1`);
  });

  it('fails the trigger when the agent run fails', async () => {
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened'));
    const analysis = await finished(res.body.result.task_id);
    await waitFor(async () => codegen.createdRuns.length === 1);
    codegen.completeRun(1, { status: 'FAILED', result: 'could not reproduce' });
    const done = await finished(analysis.output_data.child_task_ids[0]);
    expect(done).toMatchObject({ status: 'failed', error_message: 'agent run 1 ended FAILED' });
    expect(done.output_data.result).toBe('could not reproduce');
  });

  it('fails the trigger when the run outlives its deadline, and tells Codegen to stop', async () => {
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened'));
    const analysis = await finished(res.body.result.task_id);
    const done = await finished(analysis.output_data.child_task_ids[0], 20_000);
    expect(done.status).toBe('failed');
    expect(done.error_message).toMatch(/did not finish within/);
    expect(codegen.createdRuns).toHaveLength(1);
    // Codegen was asked to stop working on the pull request, and the task and comment say so.
    expect(codegen.createdRuns[0].removedFromPr).toBe(1);
    expect(done.output_data.agent_removed_from_pr).toMatchObject({ ok: true, reason: 'deadline' });
    expect(github.comments[0].body).toMatch(/did not finish within/);
    expect(github.comments[0].body).toContain(
      'Codegen was told to stop working on this pull request',
    );
  });

  it('does not start a run for a stale head SHA', async () => {
    github.setPullRequest(repo, 7, { headSha: SHA_B });
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened', { sha: SHA_A }));
    const analysis = await finished(res.body.result.task_id);
    const trigger = await finished(analysis.output_data.child_task_ids[0]);
    expect(trigger).toMatchObject({
      status: 'cancelled',
      error_message: `stale: head is now ${SHA_B}`,
    });
    expect(codegen.createdRuns).toHaveLength(0);
  });

  it('skips PRs labelled no-agent, and closed PRs', async () => {
    github.setPullRequest(repo, 7, { headSha: SHA_A, labels: ['No-Agent'] });
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened'));
    const trigger = await finished(
      (await finished(res.body.result.task_id)).output_data.child_task_ids[0],
    );
    expect(trigger.status).toBe('cancelled');
    expect(trigger.error_message).toMatch(/label "no-agent"/);

    github.setPullRequest(repo, 8, { headSha: SHA_A, state: 'closed' });
    github.setPullRequestFiles(repo, 8, [{ filename: 'src/x.ts' }]);
    const closed = await deliver(orch.url, 'pull_request', pullRequest('reopened', { number: 8 }));
    const t2 = await finished(
      (await finished(closed.body.result.task_id)).output_data.child_task_ids[0],
    );
    expect(t2.error_message).toBe('pull request is closed');
    expect(codegen.createdRuns).toHaveLength(0);
  });

  it('ignores events from bots unless they are allow-listed', async () => {
    const bot = await deliver(
      orch.url,
      'pull_request',
      pullRequest('opened', { senderType: 'Bot', senderLogin: 'codegen-sh[bot]' }),
    );
    const t1 = await finished(
      (await finished(bot.body.result.task_id)).output_data.child_task_ids[0],
    );
    expect(t1.status).toBe('cancelled');
    expect(t1.error_message).toMatch(/event sent by bot codegen-sh\[bot\]/);
    expect(codegen.createdRuns).toHaveLength(0);

    github.setPullRequest(repo, 9, { headSha: SHA_A });
    github.setPullRequestFiles(repo, 9, [{ filename: 'src/y.ts' }]);
    const friendly = await deliver(
      orch.url,
      'pull_request',
      pullRequest('opened', { number: 9, senderType: 'Bot', senderLogin: 'friendly-bot[bot]' }),
    );
    await finished(friendly.body.result.task_id);
    await waitFor(async () => codegen.createdRuns.length === 1, { what: 'allow-listed bot run' });
    codegen.completeRun(1, { status: 'COMPLETE' });
  });

  it('does not react to check failures on commits the agent itself made', async () => {
    github.setCommit(repo, SHA_A, { authorLogin: 'codegen-sh[bot]', authorType: 'Bot' });
    const res = await deliver(orch.url, 'check_run', failedCheckRun({ sha: SHA_A, prs: [7] }));
    const analysis = await finished(res.body.result.task_ids[0]);
    const trigger = await finished(analysis.output_data.child_task_ids[0]);
    expect(trigger.status).toBe('cancelled');
    expect(trigger.error_message).toMatch(/failing commit was made by bot codegen-sh\[bot\]/);
    expect(codegen.createdRuns).toHaveLength(0);
  });

  it('puts the check’s output and annotations in the prompt', async () => {
    github.setCheckRunDetails(repo, 4242, {
      title: '2 failing tests',
      summary: 'sum() is off by one',
      annotations: [
        {
          path: 'src/sum.test.ts',
          start_line: 12,
          annotation_level: 'failure',
          message: 'expected 3, received 4',
        },
      ],
    });
    const res = await deliver(
      orch.url,
      'check_run',
      failedCheckRun({ sha: SHA_A, prs: [7], name: 'jest' }),
    );
    const analysis = await finished(res.body.result.task_ids[0]);
    await waitFor(async () => codegen.createdRuns.length === 1);
    const prompt = codegen.createdRuns[0].prompt;
    expect(prompt).toContain('2 failing tests: sum() is off by one');
    expect(prompt).toContain('src/sum.test.ts:12 [failure]: expected 3, received 4');
    expect(prompt).toContain('branch-7');
    expect(prompt).toContain(SHA_A);
    codegen.completeRun(1, { status: 'COMPLETE' });
    await finished(analysis.output_data.child_task_ids[0]);
  });

  it('finds the PRs of a fork’s failed check by head SHA', async () => {
    github.setPullRequestsForCommit(repo, SHA_A, [7]);
    const res = await deliver(orch.url, 'check_run', failedCheckRun({ sha: SHA_A, prs: [] }));
    expect(res.body.result).toMatchObject({ status: 'queued', tasks_created: 1 });
    const analysis = await finished(res.body.result.task_ids[0]);
    expect(analysis.output_data.pull_requests_found_by_sha).toEqual([7]);
    const [trigger] = await triggers();
    expect(trigger).toMatchObject({ pr_number: 7, commit_sha: SHA_A });
    await waitFor(async () => codegen.createdRuns.length === 1);
    codegen.completeRun(1, { status: 'COMPLETE' });
    await finished(trigger.task_id);

    // A failed build with no PR at all is analysed and ends quietly.
    const lonely = await deliver(
      orch.url,
      'check_run',
      failedCheckRun({ sha: SHA_B, prs: [], id: 77 }),
    );
    const quiet = await finished(lonely.body.result.task_ids[0]);
    expect(quiet.output_data.pull_requests_found_by_sha).toEqual([]);
    expect(quiet.output_data.child_task_ids).toBeUndefined();
  });

  it('caps agent runs per PR per day (runaway guard)', async () => {
    for (const sha of ['1', '2', '3'].map((c) => c.repeat(40))) {
      github.setPullRequest(repo, 7, { headSha: sha });
      const res = await deliver(orch.url, 'pull_request', pullRequest('synchronize', { sha }));
      github.setPullRequestFiles(
        repo,
        7,
        ['a', 'b', 'c', 'd'].map((f) => ({ filename: `src/${f}.ts` })),
      );
      const analysis = await finished(res.body.result.task_id);
      const childId = analysis.output_data.child_task_ids?.[0];
      if (!childId) continue;
      const trigger = await waitFor(async () => {
        const [t] = await taskRows('task_id = $1', [childId]);
        return t && (t.status === 'cancelled' || t.codegen_task_id) ? t : null;
      });
      if (trigger.codegen_task_id) {
        codegen.completeRun(Number(trigger.codegen_task_id), { status: 'COMPLETE' });
        await finished(childId);
      } else {
        expect(trigger.error_message).toMatch(
          /^budget: pull request \(2 agent run\(s\).*runaway guard/,
        );
      }
    }
    expect(codegen.createdRuns).toHaveLength(2);
  });
});

describe('workflows: superseded work', () => {
  it('a newer head SHA cancels the PR’s older live work', async () => {
    const github = await GithubFake.start();
    const prefix = `${process.env.TEST_QUEUE_PREFIX}_sup_${randomUUID().slice(0, 6)}`;
    const orch = await startOrchestrator({ QUEUE_PREFIX: prefix });
    const repo = example('pull_request').repository.full_name;
    try {
      await truncateAll();
      // Both deliveries are stored before any worker runs.
      const older = await deliver(
        orch.url,
        'pull_request',
        pullRequest('synchronize', { sha: SHA_A }),
      );
      const newer = await deliver(
        orch.url,
        'pull_request',
        pullRequest('synchronize', { sha: SHA_B }),
      );
      github.setPullRequestFiles(repo, 7, [{ filename: 'README.md' }]);
      // The older analysis's first attempt fails and waits out a long backoff; the newer one
      // runs meanwhile and cancels it.
      github.failNext(3, { status: 502, route: PR_FILES });
      const worker = await startWorker({
        QUEUE_PREFIX: prefix,
        GITHUB_API_URL: github.url,
        CODEGEN_TOKEN: '',
        WORKER_CONCURRENCY: '1',
        TASK_BACKOFF_BASE_MS: '3000',
        TASK_BACKOFF_MAX_MS: '3000',
      });
      try {
        const newerTask = await finished(newer.body.result.task_id);
        expect(newerTask.status).toBe('completed');
        expect(newerTask.output_data.superseded_task_ids).toEqual([older.body.result.task_id]);
        const olderTask = await finished(older.body.result.task_id);
        expect(olderTask).toMatchObject({
          status: 'cancelled',
          error_message: `superseded by ${SHA_B}`,
        });
        // Its retry job, when it fires, finds the task cancelled and does nothing.
        await new Promise((r) => setTimeout(r, 3500));
        const [after] = await taskRows('task_id = $1', [older.body.result.task_id]);
        expect(after.status).toBe('cancelled');
      } finally {
        await worker.close();
      }
    } finally {
      await orch.close();
      await github.stop();
      await closeDb();
    }
  });
});

describe('workflows: stuck work is reconciled', () => {
  it('requeues a running task whose worker vanished, and fails one that used up its attempts', async () => {
    const prefix = `${process.env.TEST_QUEUE_PREFIX}_stuck_${randomUUID().slice(0, 6)}`;
    await truncateAll();
    const insert = async (retryCount: number): Promise<string> => {
      const taskId = randomUUID();
      await db().query(
        `INSERT INTO workflow_tasks (task_id, task_type, status, input_data, retry_count, max_retries,
           claim_token, lease_expires_at, started_at)
         VALUES ($1, 'push_analysis', 'running', '{}'::jsonb, $2, 3, $3, now() - interval '1 minute', now() - interval '5 minutes')`,
        [taskId, retryCount, randomUUID()],
      );
      return taskId;
    };
    const revivable = await insert(0);
    const exhausted = await insert(3);
    const worker = await startWorker({ QUEUE_PREFIX: prefix, CODEGEN_TOKEN: '' });
    try {
      const done = await finished(revivable);
      expect(done).toMatchObject({ status: 'completed', retry_count: 1 });
      const dead = await finished(exhausted);
      expect(dead.status).toBe('failed');
      expect(dead.error_message).toMatch(/no worker finished this task/);
    } finally {
      await worker.close();
      await closeDb();
    }
  });

  it('resumes following an agent run after a crash instead of starting another', async () => {
    const prefix = `${process.env.TEST_QUEUE_PREFIX}_resume_${randomUUID().slice(0, 6)}`;
    const codegen = await CodegenFake.start({
      token: CODEGEN_TOKEN,
      repositories: exampleRepositories(),
    });
    await truncateAll();
    // A run exists (created by a worker that then died); its task is running with a stale lease.
    const created = await fetch(`${codegen.url}/v1/organizations/42/agent/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CODEGEN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'fix it' }),
    });
    const run = (await created.json()) as { id: number };
    const taskId = randomUUID();
    await db().query(
      `INSERT INTO workflow_tasks (task_id, task_type, status, input_data, claim_token, lease_expires_at,
         started_at, codegen_task_id, output_data)
       VALUES ($1, 'codegen_trigger', 'running', '{"prompt":"fix it"}'::jsonb, $2, now() - interval '1 minute',
         now(), $3, jsonb_build_object('agent_run_started_at', now()))`,
      [taskId, randomUUID(), String(run.id)],
    );
    codegen.setAutoComplete(2);
    const worker = await startCrashRecoveryWorker(prefix, codegen);
    try {
      const done = await finished(taskId);
      expect(done).toMatchObject({ status: 'completed', codegen_task_id: String(run.id) });
      expect(done.output_data).toMatchObject({ resumed: true, agent_run_status: 'COMPLETE' });
      expect(codegen.createdRuns).toHaveLength(1);
    } finally {
      await worker.close();
      await codegen.stop();
      await closeDb();
    }
  });
});

describe('workflows: a worker that died with an agent-run request in flight', () => {
  const insertRequested = async (requestedAgo: string): Promise<string> => {
    // Its worker wrote the request mark, sent the POST and died before saving the answer.
    const taskId = randomUUID();
    await db().query(
      `INSERT INTO workflow_tasks (task_id, task_type, status, input_data, claim_token, lease_expires_at,
         started_at, agent_run_requested_at, repository)
       VALUES ($1, 'codegen_trigger', 'running', '{"prompt":"fix it"}'::jsonb, $2,
         now() - interval '1 minute', now() - $3::interval, now() - $3::interval, $4)`,
      [taskId, randomUUID(), requestedAgo, example('pull_request').repository.full_name],
    );
    return taskId;
  };

  it('finds the run Codegen made and follows it, without asking again', async () => {
    const prefix = `${process.env.TEST_QUEUE_PREFIX}_inflight_${randomUUID().slice(0, 6)}`;
    const codegen = await CodegenFake.start({
      token: CODEGEN_TOKEN,
      autoCompleteAfterGets: 1,
      repositories: exampleRepositories(),
    });
    await truncateAll();
    const taskId = await insertRequested('2 minutes');
    // The run that request made, named by its metadata, among other API runs.
    for (const id of [randomUUID(), taskId, randomUUID()]) {
      await fetch(`${codegen.url}/v1/organizations/42/agent/run`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CODEGEN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'fix it', metadata: { task_id: id } }),
      });
    }
    const worker = await startCrashRecoveryWorker(prefix, codegen);
    try {
      const done = await finished(taskId);
      expect(done).toMatchObject({ status: 'completed', codegen_task_id: '2' });
      expect(done.output_data).toMatchObject({ adopted: true, agent_run_status: 'COMPLETE' });
      expect(codegen.createdRuns).toHaveLength(3);
      expect(codegen.counters.list).toBeGreaterThanOrEqual(1);
    } finally {
      await worker.close();
      await codegen.stop();
      await closeDb();
    }
  });

  it('asks once more when no run shows up within the grace: exactly one run, no operator step', async () => {
    const prefix = `${process.env.TEST_QUEUE_PREFIX}_inflight2_${randomUUID().slice(0, 6)}`;
    const codegen = await CodegenFake.start({
      token: CODEGEN_TOKEN,
      autoCompleteAfterGets: 1,
      repositories: exampleRepositories(),
    });
    await truncateAll();
    const taskId = await insertRequested('1 second');
    const worker = await startWorker({
      QUEUE_PREFIX: prefix,
      CODEGEN_BASE_URL: codegen.url,
      CODEGEN_TOKEN,
      CODEGEN_POLL_INTERVAL_MS: '100',
      CODEGEN_RECONCILE_GRACE_MS: '2000',
      // It asks again only once the attempt that asked first could no longer send (its
      // deadline, TASK_TIMEOUT_MS, plus 5 s): about 6 s after this request mark.
      TASK_TIMEOUT_MS: '2000',
    });
    try {
      const done = await finished(taskId);
      expect(done.status).toBe('completed');
      expect(codegen.createdRuns).toHaveLength(1);
      expect(done.codegen_task_id).toBe(String(codegen.createdRuns[0].id));
      // It looked before the grace ended and again after, then asked.
      expect(codegen.counters.list).toBeGreaterThanOrEqual(2);
      const creates = codegen.requests.filter((r) => r.method === 'POST');
      const lists = codegen.requests.filter((r) => r.path.includes('/agent/runs'));
      expect(codegen.requests.indexOf(lists[0])).toBeLessThan(codegen.requests.indexOf(creates[0]));
    } finally {
      await worker.close();
      await codegen.stop();
      await closeDb();
    }
  });
});

describe('workflows: Codegen creation limit', () => {
  it('queues a burst beyond the limit instead of failing it', async () => {
    const github = await GithubFake.start();
    const codegen = await CodegenFake.start({
      token: CODEGEN_TOKEN,
      repositories: exampleRepositories(),
    });
    const prefix = `${process.env.TEST_QUEUE_PREFIX}_limit_${randomUUID().slice(0, 6)}`;
    const orch = await startOrchestrator({ QUEUE_PREFIX: prefix });
    const worker = await startWorker({
      QUEUE_PREFIX: prefix,
      GITHUB_API_URL: github.url,
      CODEGEN_BASE_URL: codegen.url,
      CODEGEN_TOKEN,
      CODEGEN_CREATE_LIMIT_PER_MINUTE: '2',
      CODEGEN_POLL_INTERVAL_MS: '100',
    });
    const repo = example('pull_request').repository.full_name;
    try {
      await truncateAll();
      codegen.setAutoComplete(1);
      for (const n of [11, 12, 13, 14]) {
        github.setPullRequest(repo, n, { headSha: SHA_A });
        github.setPullRequestFiles(repo, n, [{ filename: 'src/a.ts' }]);
        await deliver(orch.url, 'pull_request', pullRequest('opened', { number: n }));
      }
      await waitFor(async () => (await triggers()).length === 4, { what: 'four triggers' });
      await waitFor(async () => codegen.createdRuns.length === 2, { what: 'two runs' });
      await new Promise((r) => setTimeout(r, 2000));
      // Two more are waiting their turn: queued, not failed.
      expect(codegen.createdRuns).toHaveLength(2);
      const waiting = (await triggers()).filter((t) => t.codegen_task_id === null);
      expect(waiting).toHaveLength(2);
      expect(waiting.every((t) => t.status === 'queued')).toBe(true);
    } finally {
      await worker.close();
      await orch.close();
      await github.stop();
      await codegen.stop();
      await closeDb();
    }
  });
});
