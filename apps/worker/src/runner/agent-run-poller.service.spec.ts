import { Job, Queue } from 'bull';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { TaskType } from '@app/domain';
import {
  AgentRunOutcomeRepository,
  AgentRunRepository,
  TaskLifecycleRepository,
  WebhookEventRepository,
} from '@app/persistence';
import { PollAgentRunJob, QueueName, TaskTelemetry } from '@app/runtime';
import { GithubClient } from '@app/github';
import { useWorkerTestBed } from '../../../../test/support/worker-test-bed';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { AgentOutcomeTelemetry } from '../agents/agent-outcome-telemetry';
import { AgentOutcomes } from '../agents/agent-outcomes.service';
import { PrCommenter } from '../handlers/pr-commenter';
import { AgentRunPoller } from './agent-run-poller.service';

const REPOSITORY = 'octo-org/app';
const bed = useWorkerTestBed({
  githubToken: 'ghp_unit_poller',
  codegenRepositories: [REPOSITORY],
  queuePrefix: 'unit_poller',
});
const { db } = bed;
const HEAD = 'a'.repeat(40);

let poller: AgentRunPoller;
let lifecycle: TaskLifecycleRepository;
let agentRuns: AgentRunRepository;
let github: GithubClient;

/** The poller as the worker builds it, with the real clients pointed at the fakes. */
function buildPoller(env: Record<string, string> = {}): AgentRunPoller {
  const config = bed.config({ WORKER_ID: 'unit-worker', CODEGEN_POLL_INTERVAL_MS: '1000', ...env });
  const events = new WebhookEventRepository();
  lifecycle = bed.lifecycle(events);
  agentRuns = new AgentRunRepository(db.dataSource, events);
  const registry = new Registry();
  github = bed.github();
  const codegen = bed.codegen();
  const commenter = new PrCommenter(github, config, bed.logger);
  return new AgentRunPoller(
    lifecycle,
    agentRuns,
    bed.queues[QueueName.AgentRunPoll] as unknown as Queue<PollAgentRunJob>,
    codegen,
    commenter,
    new AgentOutcomes(
      new AgentRunOutcomeRepository(db.dataSource),
      db.dataSource,
      commenter,
      github,
      new AgentOutcomeTelemetry(registry),
      config,
      bed.logger,
    ),
    github,
    config,
    bed.logger,
    new TaskTelemetry(registry, Object.values(TaskType)),
    bed.enqueuer(),
  );
}

beforeEach(() => {
  poller = buildPoller();
});

/** Asks the fake to make a run the way Codegen makes one for a create; returns its id. */
async function createRun(taskId: string): Promise<number> {
  const answer = await fetch(`${bed.codegenFake.url}/v1/organizations/${bed.codegenFake.orgId}/agent/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bed.codegenFake.token}`, 'content-type': 'application/json' },
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
  const found = bed.githubFake.comments.find((c) => c.id === id);
  if (!found) throw new Error(`no comment ${id}`);
  return found;
}

async function nextPoll(taskId: string, poll: number): Promise<Job | null> {
  return bed.queues[QueueName.AgentRunPoll].getJob(`${taskId}:poll:${poll}`);
}

describe('AgentRunPoller.poll', () => {
  it('completes the task when Codegen reports COMPLETE, with the run in its output and the comment edited in place', async () => {
    const w = await waitingTask();
    bed.codegenFake.completeRun(Number(w.runId), {
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
    expect(bed.githubFake.comments).toHaveLength(1);
    expect(comment(w.commentId)).toMatchObject({ edits: 1 });
    expect(comment(w.commentId).body).toContain(`agent run ${w.runId}`);
    expect(comment(w.commentId).body).toContain('finished');
    expect(await nextPoll(w.taskId, 2)).toBeNull();
  });

  it.each(['ERROR', 'FAILED', 'CANCELLED'])(
    'fails the task when Codegen reports %s, saying so on the PR comment',
    async (status) => {
      const w = await waitingTask();
      bed.codegenFake.completeRun(Number(w.runId), { status });
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
    bed.codegenFake.completeRun(Number(w.runId), { status: 'PAUSED' });
    expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('failed');
    const row = await task(w.taskId);
    expect(row.status).toBe('failed');
    expect(row.error_message).toMatch(/is PAUSED: it is waiting for input/);
    expect(comment(w.commentId).body).toContain('paused and waiting for input');
  });

  it('keeps following a running run: the task stays running with a fresh lease and the next poll is scheduled', async () => {
    const w = await waitingTask();
    bed.codegenFake.completeRun(Number(w.runId), { status: 'ACTIVE' });
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

  it('polls again at once when PostgreSQL cuts the poll off, instead of leaving the task to its lease', async () => {
    const w = await waitingTask();
    bed.codegenFake.completeRun(Number(w.runId), { status: 'ACTIVE' });
    // The poll's first statement waits behind a lock, and its session is then ended, as a
    // PostgreSQL restart ends every session: a real 57P01 in the middle of the poll.
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE workflow_tasks IN ACCESS EXCLUSIVE MODE');
      const polled = poller.poll({ taskId: w.taskId, poll: 3 });
      let blocked: number | undefined;
      for (let i = 0; i < 200 && blocked === undefined; i++) {
        const { rows } = await locker.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND datname = current_database() AND pid <> pg_backend_pid()`,
        );
        blocked = rows[0]?.pid;
        if (blocked === undefined) await new Promise((r) => setTimeout(r, 10));
      }
      expect(blocked).toBeDefined();
      await locker.query('SELECT pg_terminate_backend($1)', [blocked]);
      expect(await polled).toBe('retrying');
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    const next = await nextPoll(w.taskId, 4);
    expect(next?.data).toMatchObject({ taskId: w.taskId, poll: 4 });
    // The run is still followed: the task is untouched, still running.
    expect((await task(w.taskId)).status).toBe('running');
    // A failure that is not a moment's outage still fails the poll job.
    await expect(poller.poll({ taskId: 'not-a-uuid', poll: 1 })).rejects.toThrow();
  });

  it('stops a run past its deadline, asking Codegen to leave the pull request, and fails the task', async () => {
    const w = await waitingTask({ startedAt: new Date(Date.now() - 5 * 3_600_000) });
    bed.codegenFake.completeRun(Number(w.runId), { status: 'RUNNING' });
    expect(await poller.poll({ taskId: w.taskId, poll: 9 })).toBe('failed');
    const row = await task(w.taskId);
    expect(row.status).toBe('failed');
    expect(row.error_message).toMatch(
      new RegExp(`^agent run ${w.runId} did not finish within 240 min`),
    );
    expect(row.output_data.agent_removed_from_pr).toMatchObject({ ok: true, reason: 'deadline' });
    expect(bed.codegenFake.counters.remove_from_pr).toBe(1);
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
    bed.codegenFake.failNext(1, { status: 200, body: { id: 'not a number' }, route: 'get' });
    expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('waiting');
    const noted = await task(w.taskId);
    expect(noted.status).toBe('running');
    expect(noted.output_data.agent_run_anomaly).toMatchObject({
      what: expect.stringMatching(/^unreadable answers/),
    });
    bed.codegenFake.failNext(1, { status: 200, body: { id: 'not a number' }, route: 'get' });
    expect(await poller.poll({ taskId: w.taskId, poll: 2 })).toBe('failed');
    expect((await task(w.taskId)).error_message).toMatch(/reported unreadable answers/);
  });

  it('keeps polling a status Codegen does not publish, then fails naming it once it outlasts the grace', async () => {
    poller = buildPoller({ CODEGEN_UNKNOWN_STATUS_GRACE_MS: '0' });
    const w = await waitingTask();
    bed.codegenFake.completeRun(Number(w.runId), { status: 'HIBERNATING' });
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
    expect(bed.codegenFake.counters.get).toBe(0);
    expect((await task(unsaved.taskId)).status).toBe('running');
    expect(await poller.poll({ taskId: '00000000-0000-4000-8000-000000000000', poll: 1 })).toBe(
      'skipped',
    );
  });

  it('finishes a task once when two polls of it race', async () => {
    const w = await waitingTask();
    bed.codegenFake.completeRun(Number(w.runId), { status: 'COMPLETE' });
    const other = buildPoller({ WORKER_ID: 'other-worker' });
    const outcomes = await Promise.all([
      poller.poll({ taskId: w.taskId, poll: 1 }),
      other.poll({ taskId: w.taskId, poll: 1 }),
    ]);
    expect(outcomes.sort()).toEqual(['completed', 'skipped']);
    expect((await task(w.taskId)).status).toBe('completed');
    expect(await executionStatuses(w.taskId)).toEqual(['completed']);
    expect(bed.githubFake.comments).toHaveLength(1);
  });

  it("ends a task another worker took over under that worker's claim, once", async () => {
    const w = await waitingTask();
    bed.codegenFake.completeRun(Number(w.runId), { status: 'COMPLETE' });
    // The relay handed the task back to a handler, which claimed it afresh.
    const taken = await lifecycle.claimForRun(w.taskId, 'other-worker', QueueName.Codegen, 60_000);
    expect(taken).not.toBeNull();
    expect(await poller.poll({ taskId: w.taskId, poll: 1 })).toBe('completed');
    // The poll acts on the current claim, so the run's end is recorded once, under it.
    expect(await executionStatuses(w.taskId)).toEqual(['abandoned', 'completed']);
  });
});
