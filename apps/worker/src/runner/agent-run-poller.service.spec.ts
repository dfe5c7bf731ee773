import Bull, { Queue } from 'bull';
import { Registry } from 'prom-client';
import { createLogger, transports } from 'winston';
import { TaskType } from '@app/domain';
import {
  AgentRunOutcomeRepository,
  AgentRunRepository,
  TaskCreationRepository,
  TaskExecutionRepository,
  TaskLifecycleRepository,
  TaskRelayRepository,
  WebhookEventRepository,
} from '@app/persistence';
import { PollAgentRunJob, QueueName, RunTaskJob, TaskEnqueuer, TaskTelemetry } from '@app/runtime';
import { CodegenClient } from '@app/codegen';
import { GithubClient } from '@app/github';
import { CodegenFake, GithubFake } from '../../../../test/fakes';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { AgentOutcomeTelemetry } from '../agents/agent-outcome-telemetry';
import { AgentOutcomes } from '../agents/agent-outcomes.service';
import { loadWorkerConfig } from '../config/worker.config';
import { PrCommenter } from '../handlers/pr-commenter';
import { AgentRunPoller } from './agent-run-poller.service';

const db = useUnitDatabase();
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const prefix = `unit_poller_${Date.now().toString(36)}_${process.pid}`;
const logger = createLogger({ transports: [new transports.Console({ silent: true })] });
const GITHUB_TOKEN = 'ghp_unit_poller';
const REPOSITORY = 'octo-org/app';
const HEAD = 'a'.repeat(40);

let codegenFake: CodegenFake;
let githubFake: GithubFake;
let queues: Record<QueueName, Queue<RunTaskJob>>;

beforeAll(async () => {
  [codegenFake, githubFake] = await Promise.all([
    CodegenFake.start({ repositories: [REPOSITORY] }),
    GithubFake.start({ token: GITHUB_TOKEN }),
  ]);
  queues = {
    [QueueName.Analysis]: new Bull<RunTaskJob>(QueueName.Analysis, redisUrl, { prefix }),
    [QueueName.Codegen]: new Bull<RunTaskJob>(QueueName.Codegen, redisUrl, { prefix }),
    [QueueName.AgentRunPoll]: new Bull<RunTaskJob>(QueueName.AgentRunPoll, redisUrl, { prefix }),
  };
  await Promise.all(Object.values(queues).map((q) => q.isReady()));
});

afterAll(async () => {
  for (const queue of Object.values(queues)) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
  await Promise.all([codegenFake.stop(), githubFake.stop()]);
});

let poller: AgentRunPoller;
let lifecycle: TaskLifecycleRepository;
let agentRuns: AgentRunRepository;
let github: GithubClient;

/** The poller as the worker builds it, with the real clients pointed at the fakes. */
function buildPoller(env: Record<string, string> = {}): AgentRunPoller {
  const config = loadWorkerConfig({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused',
    WORKER_ID: 'unit-worker',
    GITHUB_API_URL: githubFake.url,
    GITHUB_TOKEN,
    CODEGEN_BASE_URL: codegenFake.url,
    CODEGEN_TOKEN: codegenFake.token,
    CODEGEN_ORG_ID: String(codegenFake.orgId),
    CODEGEN_POLL_INTERVAL_MS: '1000',
    ...env,
  });
  const events = new WebhookEventRepository();
  lifecycle = new TaskLifecycleRepository(
    db.dataSource,
    events,
    new TaskExecutionRepository(db.dataSource),
    new TaskCreationRepository(),
  );
  agentRuns = new AgentRunRepository(db.dataSource, events);
  const registry = new Registry();
  github = new GithubClient({
    apiUrl: githubFake.url,
    token: GITHUB_TOKEN,
    timeoutMs: 5000,
  });
  const codegen = new CodegenClient({
    baseUrl: codegenFake.url,
    token: codegenFake.token,
    orgId: codegenFake.orgId,
    timeoutMs: 5000,
  });
  const commenter = new PrCommenter(github, config, logger);
  return new AgentRunPoller(
    lifecycle,
    agentRuns,
    queues[QueueName.AgentRunPoll] as unknown as Queue<PollAgentRunJob>,
    codegen,
    commenter,
    new AgentOutcomes(
      new AgentRunOutcomeRepository(db.dataSource),
      db.dataSource,
      commenter,
      github,
      new AgentOutcomeTelemetry(registry),
      config,
      logger,
    ),
    github,
    config,
    logger,
    new TaskTelemetry(registry, Object.values(TaskType)),
    new TaskEnqueuer(
      {
        [QueueName.Analysis]: queues[QueueName.Analysis],
        [QueueName.Codegen]: queues[QueueName.Codegen],
      },
      new TaskRelayRepository(db.dataSource),
      logger,
      5000,
    ),
  );
}

beforeEach(async () => {
  for (const queue of Object.values(queues)) await queue.obliterate({ force: true });
  codegenFake.reset();
  githubFake.reset();
  poller = buildPoller();
});

/** Asks the fake to make a run the way Codegen makes one for a create; returns its id. */
async function createRun(taskId: string): Promise<number> {
  const answer = await fetch(`${codegenFake.url}/v1/organizations/${codegenFake.orgId}/agent/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${codegenFake.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'fix the build', metadata: { task_id: taskId } }),
  });
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { id: number }).id;
}

interface Waiting {
  taskId: string;
  eventId: number;
  runId: string;
  commentId: number;
}

/**
 * A codegen_trigger task as the runner leaves it once its agent run started: running, the run id
 * saved, its PR comment posted, waiting for polls. `runId` overrides the run created.
 */
async function waitingTask(
  options: { runId?: string; startedAt?: Date; saveRun?: boolean } = {},
): Promise<Waiting> {
  const { eventId, taskIds } = await storeEvent(db.dataSource, {
    tasks: [
      { taskType: TaskType.CodegenTrigger, repository: REPOSITORY, prNumber: 7, commitSha: HEAD },
    ],
  });
  const taskId = taskIds[0];
  const claim = await lifecycle.claimForRun(taskId, 'unit-worker', QueueName.Codegen, 60_000);
  if (!claim) throw new Error('could not claim');
  const runId = options.runId ?? String(await createRun(taskId));
  const comment = await github.createIssueComment(REPOSITORY, 7, `agent run ${runId} started`);
  if (options.saveRun !== false) {
    expect(await agentRuns.recordAgentRun(claim, runId, null)).toBe(true);
  }
  const output = {
    pr_comment_id: comment.id,
    agent_run_started_at: (options.startedAt ?? new Date()).toISOString(),
  };
  expect(await lifecycle.markWaiting(claim, output, 60_000)).toBe(true);
  return { taskId, eventId, runId, commentId: comment.id };
}

interface TaskRow {
  status: string;
  error_message: string | null;
  output_data: Record<string, unknown>;
  lease_expires_at: Date | null;
}

async function task(taskId: string): Promise<TaskRow> {
  const [row] = await db.rows<TaskRow>(
    'SELECT status, error_message, output_data, lease_expires_at FROM workflow_tasks WHERE task_id = $1',
    [taskId],
  );
  return row;
}

async function executionStatuses(taskId: string): Promise<string[]> {
  const rows = await db.rows<{ status: string }>(
    `SELECT x.status FROM task_executions x JOIN workflow_tasks t ON t.id = x.task_id
      WHERE t.task_id = $1 ORDER BY x.id`,
    [taskId],
  );
  return rows.map((r) => r.status);
}

async function processed(eventId: number): Promise<boolean> {
  const [row] = await db.rows<{ processed: boolean }>(
    'SELECT processed FROM webhook_events WHERE id = $1',
    [eventId],
  );
  return row.processed;
}

/** The PR comment as GitHub holds it. */
function comment(id: number): { body: string; edits: number } {
  const found = githubFake.comments.find((c) => c.id === id);
  if (!found) throw new Error(`no comment ${id}`);
  return found;
}

async function nextPoll(taskId: string, poll: number): Promise<Bull.Job | null> {
  return queues[QueueName.AgentRunPoll].getJob(`${taskId}:poll:${poll}`);
}

describe('AgentRunPoller.poll', () => {
  it('completes the task when Codegen reports COMPLETE, with the run in its output and the comment edited in place', async () => {
    const w = await waitingTask();
    codegenFake.completeRun(Number(w.runId), {
      status: 'COMPLETE',
      summary: 'Fixed the failing import',
      pullRequests: [{ url: `https://github.com/${REPOSITORY}/pull/8`, title: 'Fix import' }],
    });
    expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('completed');
    const row = await task(w.taskId);
    expect(row.status).toBe('completed');
    expect(row.output_data).toMatchObject({
      agent_run_status: 'COMPLETE',
      summary: 'Fixed the failing import',
      pr_comment_id: w.commentId,
    });
    expect(row.output_data.pull_requests).toEqual([
      expect.objectContaining({ url: `https://github.com/${REPOSITORY}/pull/8` }),
    ]);
    expect(await executionStatuses(w.taskId)).toEqual(['completed']);
    expect(await processed(w.eventId)).toBe(true);
    expect(githubFake.comments).toHaveLength(1);
    expect(comment(w.commentId)).toMatchObject({ edits: 1 });
    expect(comment(w.commentId).body).toContain(`agent run ${w.runId}`);
    expect(comment(w.commentId).body).toContain('finished');
    expect(await nextPoll(w.taskId, 2)).toBeNull();
  });

  it.each(['ERROR', 'FAILED', 'CANCELLED'])(
    'fails the task when Codegen reports %s, saying so on the PR comment',
    async (status) => {
      const w = await waitingTask();
      codegenFake.completeRun(Number(w.runId), { status });
      expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('failed');
      expect(await task(w.taskId)).toMatchObject({
        status: 'failed',
        error_message: `agent run ${w.runId} ended ${status}`,
        output_data: expect.objectContaining({ agent_run_status: status }),
      });
      expect(await executionStatuses(w.taskId)).toEqual(['failed']);
      expect(comment(w.commentId).body).toContain(`ended \`${status}\``);
    },
  );

  it('fails a PAUSED run at once: it waits for input and never ends by itself', async () => {
    const w = await waitingTask();
    codegenFake.completeRun(Number(w.runId), { status: 'PAUSED' });
    expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('failed');
    const row = await task(w.taskId);
    expect(row.status).toBe('failed');
    expect(row.error_message).toMatch(/is PAUSED: it is waiting for input/);
    expect(comment(w.commentId).body).toContain('paused and waiting for input');
  });

  it('keeps following a running run: the task stays running with a fresh lease and the next poll is scheduled', async () => {
    const w = await waitingTask();
    codegenFake.completeRun(Number(w.runId), { status: 'ACTIVE' });
    const before = (await task(w.taskId)).lease_expires_at!.getTime();
    expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('waiting');
    const row = await task(w.taskId);
    expect(row.status).toBe('running');
    expect(row.lease_expires_at!.getTime()).toBeGreaterThan(before);
    const job = await nextPoll(w.taskId, 2);
    expect(job?.data).toMatchObject({ taskId: w.taskId, poll: 2 });
    // Backing off: 1.5 times the first interval.
    expect(job?.opts.delay).toBe(1500);
    expect(comment(w.commentId).edits).toBe(0);
  });

  it('stops a run past its deadline, asking Codegen to leave the pull request, and fails the task', async () => {
    const w = await waitingTask({ startedAt: new Date(Date.now() - 5 * 3_600_000) });
    codegenFake.completeRun(Number(w.runId), { status: 'RUNNING' });
    expect(await poller.poll({ taskId: w.taskId, poll: 9 })).toBe('failed');
    const row = await task(w.taskId);
    expect(row.status).toBe('failed');
    expect(row.error_message).toMatch(
      new RegExp(`^agent run ${w.runId} did not finish within 240 min`),
    );
    expect(row.output_data.agent_removed_from_pr).toMatchObject({ ok: true, reason: 'deadline' });
    expect(codegenFake.counters.remove_from_pr).toBe(1);
    expect(comment(w.commentId).body).toContain('did not finish within 240 min');
  });

  it('fails the task when Codegen has no such run (404), naming the run', async () => {
    const w = await waitingTask({ runId: '987654' });
    expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('failed');
    const row = await task(w.taskId);
    expect(row.status).toBe('failed');
    expect(row.error_message).toMatch(/^could not read agent run 987654: /);
    expect(comment(w.commentId).body).toContain('could not be followed');
  });

  it('keeps polling through an unreadable answer, noting it once, and fails once it outlasts the grace', async () => {
    poller = buildPoller({ CODEGEN_UNKNOWN_STATUS_GRACE_MS: '0' });
    const w = await waitingTask();
    codegenFake.failNext(1, { status: 200, body: { id: 'not a number' }, route: 'get' });
    expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('waiting');
    const noted = await task(w.taskId);
    expect(noted.status).toBe('running');
    expect(noted.output_data.agent_run_anomaly).toMatchObject({
      what: expect.stringMatching(/^unreadable answers/),
    });
    codegenFake.failNext(1, { status: 200, body: { id: 'not a number' }, route: 'get' });
    expect(await poller.poll({ taskId: w.taskId, poll: 2 })).toBe('failed');
    expect((await task(w.taskId)).error_message).toMatch(/reported unreadable answers/);
  });

  it('keeps polling a status Codegen does not publish, then fails naming it once it outlasts the grace', async () => {
    poller = buildPoller({ CODEGEN_UNKNOWN_STATUS_GRACE_MS: '0' });
    const w = await waitingTask();
    codegenFake.completeRun(Number(w.runId), { status: 'HIBERNATING' });
    expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('waiting');
    expect((await task(w.taskId)).output_data.agent_run_anomaly).toMatchObject({
      what: 'status "HIBERNATING", which is not one Codegen publishes',
    });
    expect(await poller.poll({ taskId: w.taskId, poll: 2 })).toBe('failed');
    expect((await task(w.taskId)).error_message).toContain('HIBERNATING');
  });

  it('does nothing for a task whose run id was never saved, or that is no longer running', async () => {
    const unsaved = await waitingTask({ saveRun: false });
    expect(await poller.poll({ taskId: unsaved.taskId, poll: 1 })).toBe('skipped');
    expect(codegenFake.counters.get).toBe(0);
    expect((await task(unsaved.taskId)).status).toBe('running');
    expect(await poller.poll({ taskId: '00000000-0000-4000-8000-000000000000', poll: 1 })).toBe(
      'skipped',
    );
  });

  it('finishes a task once when two polls of it race', async () => {
    const w = await waitingTask();
    codegenFake.completeRun(Number(w.runId), { status: 'COMPLETE' });
    const other = buildPoller({ WORKER_ID: 'other-worker' });
    const outcomes = await Promise.all([
      poller.poll({ taskId: w.taskId, poll: 1 }),
      other.poll({ taskId: w.taskId, poll: 1 }),
    ]);
    expect(outcomes.sort()).toEqual(['completed', 'skipped']);
    expect((await task(w.taskId)).status).toBe('completed');
    expect(await executionStatuses(w.taskId)).toEqual(['completed']);
    expect(githubFake.comments).toHaveLength(1);
  });

  it("ends a task another worker took over under that worker's claim, once", async () => {
    const w = await waitingTask();
    codegenFake.completeRun(Number(w.runId), { status: 'COMPLETE' });
    // The relay handed the task back to a handler, which claimed it afresh.
    const taken = await lifecycle.claimForRun(w.taskId, 'other-worker', QueueName.Codegen, 60_000);
    expect(taken).not.toBeNull();
    expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('completed');
    // The poll acts on the current claim, so the run's end is recorded once, under it.
    expect(await executionStatuses(w.taskId)).toEqual(['abandoned', 'completed']);
  });
});
