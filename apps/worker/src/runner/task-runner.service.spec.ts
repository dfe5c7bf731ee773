import { Queue } from 'bull';
import { Registry } from 'prom-client';
import { TaskType } from '@app/domain';
import { ExternalServiceError } from '@app/platform';
import {
  AgentRunOutcomeRepository,
  AgentRunRepository,
  CodegenCreateLogRepository,
  TaskLifecycleRepository,
  TaskRelayRepository,
  WebhookEventRepository,
} from '@app/persistence';
import { PollAgentRunJob, QueueName, TaskTelemetry } from '@app/runtime';
import { GithubClient } from '@app/github';
import { useWorkerTestBed } from '../../../../test/support/worker-test-bed';
import { storeEvent, TaskSeed } from '../../../../test/support/task-fixtures';
import { AgentOutcomeTelemetry } from '../agents/agent-outcome-telemetry';
import { AgentOutcomes } from '../agents/agent-outcomes.service';
import { WorkerConfig } from '../config/worker.config';
import { HandlerRegistry } from '../handlers/handler-registry';
import { PrCommenter } from '../handlers/pr-commenter';
import {
  HandlerResult,
  HoldAttemptError,
  TaskContext,
  TaskHandler,
} from '../handlers/task-handler';
import { AgentRunPoller } from './agent-run-poller.service';
import { GithubBudgetGate } from './github-budget-gate';
import { RetryLaterError, TaskHoldError, TaskRunner } from './task-runner.service';

const bed = useWorkerTestBed({ queuePrefix: 'unit_runner' });
const { db } = bed;

/** What the test's handler does with the attempt it is given; set per test. */
type Behaviour = (ctx: TaskContext) => Promise<HandlerResult>;
let behaviour: Behaviour;
const seen: TaskContext[] = [];

/** The trivial handler of every task type: records its context and does what the test says. */
class TestHandler implements TaskHandler {
  constructor(readonly taskType: TaskType) {}
  handle(ctx: TaskContext): Promise<HandlerResult> {
    seen.push(ctx);
    return behaviour(ctx);
  }
}

let runner: TaskRunner;
let lifecycle: TaskLifecycleRepository;

/** The runner as the worker builds it, over the unit database and real Bull bed.queues. */
function buildRunner(env: Record<string, string> = {}): TaskRunner {
  const config: WorkerConfig = bed.config({
    WORKER_ID: 'unit-worker',
    TASK_MAX_RETRIES: '2',
    ...env,
  });
  const events = new WebhookEventRepository();
  lifecycle = bed.lifecycle(events);
  const agentRuns = new AgentRunRepository(db.dataSource, events);
  const relay = new TaskRelayRepository(db.dataSource);
  const registry = new Registry();
  const telemetry = new TaskTelemetry(registry, Object.values(TaskType));
  // No call reaches GitHub here: the budget gate asks it nothing while no budget is low.
  const github = new GithubClient({ apiUrl: 'http://127.0.0.1:9', timeoutMs: 1000 });
  const commenter = new PrCommenter(github, config, bed.logger);
  const enqueuer = bed.enqueuer(relay);
  const poller = new AgentRunPoller(
    lifecycle,
    agentRuns,
    bed.queues[QueueName.AgentRunPoll] as unknown as Queue<PollAgentRunJob>,
    // No Codegen: the runner only schedules polls; what a poll does is the poller's spec.
    null,
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
    telemetry,
    enqueuer,
  );
  return new TaskRunner(
    lifecycle,
    agentRuns,
    enqueuer,
    new HandlerRegistry(Object.values(TaskType).map((t) => new TestHandler(t))),
    db.dataSource,
    config,
    bed.logger,
    telemetry,
    poller,
    new GithubBudgetGate(github, relay),
    new CodegenCreateLogRepository(db.dataSource),
  );
}

beforeEach(() => {
  seen.length = 0;
  behaviour = () => Promise.resolve({ outputData: { summary: 'looked fine' } });
  runner = buildRunner();
});

interface TaskRow {
  status: string;
  retry_count: number;
  error_message: string | null;
  output_data: Record<string, unknown> | null;
  claim_token: string | null;
  lease_expires_at: Date | null;
  codegen_task_id: string | null;
}

async function task(taskId: string): Promise<TaskRow> {
  const [row] = await db.rows<TaskRow>(
    `SELECT status, retry_count, error_message, output_data, claim_token, lease_expires_at,
            codegen_task_id FROM workflow_tasks WHERE task_id = $1`,
    [taskId],
  );
  return row;
}

async function executions(
  taskId: string,
): Promise<Array<{ attempt: number; status: string; error_message: string | null }>> {
  return db.rows(
    `SELECT x.attempt, x.status, x.error_message FROM task_executions x
       JOIN workflow_tasks t ON t.id = x.task_id WHERE t.task_id = $1 ORDER BY x.id`,
    [taskId],
  );
}

async function processed(eventId: number): Promise<boolean> {
  const [row] = await db.rows<{ processed: boolean }>(
    'SELECT processed FROM webhook_events WHERE id = $1',
    [eventId],
  );
  return row.processed;
}

async function oneTask(seed: TaskSeed = {}): Promise<{ eventId: number; taskId: string }> {
  const { eventId, taskIds } = await storeEvent(db.dataSource, { tasks: [seed] });
  return { eventId, taskId: taskIds[0] };
}

/** What the runner throws to Bull, or its outcome. */
async function outcomeOf(run: Promise<unknown>): Promise<unknown> {
  try {
    return await run;
  } catch (error) {
    return error;
  }
}

const transient = (message: string, retryAfterMs?: number): ExternalServiceError =>
  new ExternalServiceError('github', message, true, 503, retryAfterMs);

describe('TaskRunner: finishing', () => {
  it('completes a task with its handler output, one completed execution, and the event processed', async () => {
    const { eventId, taskId } = await oneTask();
    expect(await runner.run(taskId, QueueName.Analysis)).toBe('completed');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ attempt: 1, task: { taskId } });
    expect(seen[0].event).toMatchObject({ id: eventId, eventType: 'pull_request' });
    expect(await task(taskId)).toMatchObject({
      status: 'completed',
      error_message: null,
      output_data: { summary: 'looked fine' },
      claim_token: null,
    });
    expect(await executions(taskId)).toEqual([
      { attempt: 1, status: 'completed', error_message: null },
    ]);
    expect(await processed(eventId)).toBe(true);
  });

  it('marks the event processed only when its last task ends, whatever the ending', async () => {
    const { eventId, taskIds } = await storeEvent(db.dataSource, { tasks: [{}, {}] });
    expect(await runner.run(taskIds[0], QueueName.Analysis)).toBe('completed');
    expect(await processed(eventId)).toBe(false);
    behaviour = () => Promise.reject(new Error('the payload names no repository'));
    expect(await runner.run(taskIds[1], QueueName.Analysis)).toBe('failed');
    expect(await processed(eventId)).toBe(true);
  });

  it('fails a permanent error at once, naming it, with the attempt spent', async () => {
    const { eventId, taskId } = await oneTask();
    behaviour = () =>
      Promise.reject(new ExternalServiceError('github', 'Validation Failed', false, 422));
    expect(await runner.run(taskId, QueueName.Analysis)).toBe('failed');
    expect(await task(taskId)).toMatchObject({
      status: 'failed',
      retry_count: 0,
      error_message: 'github: Validation Failed (HTTP 422)',
      output_data: { error_kind: 'permanent', attempts: 1 },
    });
    expect(await executions(taskId)).toEqual([
      { attempt: 1, status: 'failed', error_message: 'github: Validation Failed (HTTP 422)' },
    ]);
    expect(await processed(eventId)).toBe(true);
  });

  it('treats an error that is not an outside service failure as permanent', async () => {
    const { taskId } = await oneTask();
    behaviour = () => Promise.reject(new TypeError('cannot read the diff'));
    expect(await runner.run(taskId, QueueName.Analysis)).toBe('failed');
    expect(await task(taskId)).toMatchObject({
      status: 'failed',
      error_message: 'cannot read the diff',
    });
  });

  it('cancels a task its handler skips by policy, keeping the reason and output', async () => {
    const { eventId, taskId } = await oneTask();
    behaviour = () =>
      Promise.resolve({
        cancel: 'agent runs are off for this repository',
        outputData: { policy: 'off' },
      });
    expect(await runner.run(taskId, QueueName.Analysis)).toBe('cancelled');
    expect(await task(taskId)).toMatchObject({
      status: 'cancelled',
      error_message: 'agent runs are off for this repository',
      output_data: { policy: 'off' },
    });
    // The attempt itself ran to its end: its execution is completed, naming the reason.
    expect(await executions(taskId)).toEqual([
      { attempt: 1, status: 'completed', error_message: 'agent runs are off for this repository' },
    ]);
    expect(await processed(eventId)).toBe(true);
  });

  it('stores and bed.queues the children a completed task asks for, keeping the event open for them', async () => {
    const { eventId, taskId } = await oneTask({ taskType: TaskType.CheckFailureAnalysis });
    behaviour = () =>
      Promise.resolve({
        outputData: { failing: ['build'] },
        children: [
          { taskType: TaskType.CodegenTrigger, inputData: { reason: 'fix' }, dedupeKey: 'agent:1' },
        ],
      });
    expect(await runner.run(taskId, QueueName.Analysis)).toBe('completed');
    const { output_data } = await task(taskId);
    const [childId] = output_data!.child_task_ids as string[];
    expect((await task(childId)).status).toMatch(/^(pending|queued)$/);
    const job = await bed.queues[QueueName.Codegen].getJob(childId);
    expect(job?.data.taskId).toBe(childId);
    // A child has its parent's retries: three more than the first attempt.
    expect(job?.opts.attempts).toBe(4);
    expect(await processed(eventId)).toBe(false);
  });

  it('leaves a terminal or unknown task alone: a redelivered job runs nothing', async () => {
    const { taskId } = await oneTask();
    await runner.run(taskId, QueueName.Analysis);
    expect(await runner.run(taskId, QueueName.Analysis)).toBe('skipped');
    expect(await runner.run('00000000-0000-4000-8000-000000000000', QueueName.Analysis)).toBe(
      'skipped',
    );
    expect(seen).toHaveLength(1);
    expect(await executions(taskId)).toHaveLength(1);
  });

  it('keeps an agent run id the handler checkpoints, and follows a started run with a poll job', async () => {
    const { taskId } = await oneTask({ taskType: TaskType.CodegenTrigger });
    behaviour = async (ctx) => {
      expect(await ctx.checkpoint({ codegenTaskId: '4242', codegenTaskUrl: null })).toBe(true);
      return {
        outputData: { agent: 'started' },
        codegen: { id: '4242', url: null },
        waitForAgentRun: true,
      };
    };
    expect(await runner.run(taskId, QueueName.Codegen)).toBe('waiting');
    const row = await task(taskId);
    expect(row).toMatchObject({ status: 'running', codegen_task_id: '4242' });
    expect(row.lease_expires_at!.getTime()).toBeGreaterThan(Date.now());
    expect(await bed.queues[QueueName.AgentRunPoll].getJob(`${taskId}:poll:1`)).not.toBeNull();
  });
});

describe('TaskRunner: claims', () => {
  it('lets the later of two attempts on one task finish it; the earlier one is dropped without writing', async () => {
    const { taskId } = await oneTask();
    const releases: Array<() => void> = [];
    behaviour = (ctx) =>
      new Promise((resolve) =>
        releases.push(() => resolve({ outputData: { attempt: ctx.attempt } })),
      );
    const first = runner.run(taskId, QueueName.Analysis);
    while (releases.length < 1) await new Promise((r) => setTimeout(r, 10));
    // Bull hands a job out again only when its worker stopped renewing its lock.
    const second = runner.run(taskId, QueueName.Analysis);
    while (releases.length < 2) await new Promise((r) => setTimeout(r, 10));
    releases[0]();
    expect(await first).toBe('lost');
    releases[1]();
    expect(await second).toBe('completed');
    expect(await task(taskId)).toMatchObject({
      status: 'completed',
      retry_count: 1,
      output_data: { attempt: 2 },
    });
    expect(await executions(taskId)).toEqual([
      {
        attempt: 1,
        status: 'abandoned',
        error_message: 'worker stopped before finishing this attempt',
      },
      { attempt: 2, status: 'completed', error_message: null },
    ]);
  });

  it('takes over a task whose worker died with its lease expired, spending that attempt', async () => {
    const { taskId } = await oneTask();
    await lifecycle.claimForRun(taskId, 'dead-worker', QueueName.Analysis, 60_000);
    await db.rows(
      `UPDATE workflow_tasks SET lease_expires_at = now() - interval '1 minute' WHERE task_id = $1`,
      [taskId],
    );
    expect(await runner.run(taskId, QueueName.Analysis)).toBe('completed');
    expect(seen[0].attempt).toBe(2);
    expect((await executions(taskId)).map((e) => e.status)).toEqual(['abandoned', 'completed']);
  });
});

describe('TaskRunner: retries and holds', () => {
  it('retries a transient failure with backoff until the retries are spent, then fails naming them', async () => {
    const { eventId, taskId } = await oneTask({ maxRetries: 2 });
    behaviour = () => Promise.reject(transient('Service Unavailable'));
    for (const attempt of [1, 2]) {
      const thrown = await outcomeOf(runner.run(taskId, QueueName.Analysis));
      expect(thrown).toBeInstanceOf(RetryLaterError);
      expect(thrown).not.toBeInstanceOf(TaskHoldError);
      expect(await task(taskId)).toMatchObject({
        status: 'queued',
        retry_count: attempt,
        error_message: 'github: Service Unavailable (HTTP 503)',
      });
      expect(await processed(eventId)).toBe(false);
    }
    expect(await runner.run(taskId, QueueName.Analysis)).toBe('failed');
    expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(await task(taskId)).toMatchObject({
      status: 'failed',
      retry_count: 2,
      output_data: { error_kind: 'retries_exhausted', attempts: 3 },
    });
    expect((await executions(taskId)).map((e) => [e.attempt, e.status])).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'failed'],
    ]);
    expect(await processed(eventId)).toBe(true);
  });

  it('retries a statement PostgreSQL cut off (a terminated backend, a restart), but not one it refused', async () => {
    // Real errors from the server: a session ended under a running statement, and a statement
    // that breaks a constraint. The first is a moment's outage, the second would fail again.
    const cutOff = await db.dataSource
      .transaction(async (manager) => {
        const [{ pid }] = await manager.query<Array<{ pid: number }>>(
          'SELECT pg_backend_pid() AS pid',
        );
        await Promise.all([
          manager.query('SELECT pg_sleep(5)'),
          db.rows('SELECT pg_terminate_backend($1)', [pid]),
        ]);
      })
      .then(
        () => new Error('the statement was not cut off'),
        (error: Error) => error,
      );
    expect(cutOff).toMatchObject({ code: '57P01' });
    const refusedByServer = await db
      .rows(
        "INSERT INTO workflow_tasks (task_id, task_type, status) VALUES ('not-a-uuid', 'x', 'y')",
      )
      .then(
        () => new Error('the statement was not refused'),
        (error: Error) => error,
      );
    expect(refusedByServer).toMatchObject({ code: '22P02' });

    // A transaction whose session ended between two statements: TypeORM has already given the
    // connection back, so the second statement throws its own error, not PostgreSQL's.
    const endedBetween = await db.dataSource
      .transaction(async (manager) => {
        const [{ pid }] = await manager.query<Array<{ pid: number }>>(
          'SELECT pg_backend_pid() AS pid',
        );
        await db.rows('SELECT pg_terminate_backend($1)', [pid]);
        await new Promise((r) => setTimeout(r, 200));
        await manager.query('SELECT 1');
      })
      .then(
        () => new Error('the transaction was not cut off'),
        (error: Error) => error,
      );
    expect(endedBetween.name).toBe('QueryRunnerProviderAlreadyReleasedError');

    for (const [error, message] of [
      [cutOff, 'terminating connection'],
      [endedBetween, 'already released'],
    ] as const) {
      const cut = await oneTask({ maxRetries: 2 });
      behaviour = () => Promise.reject(error);
      expect(await outcomeOf(runner.run(cut.taskId, QueueName.Analysis))).toBeInstanceOf(
        RetryLaterError,
      );
      expect(await task(cut.taskId)).toMatchObject({
        status: 'queued',
        retry_count: 1,
        error_message: expect.stringContaining(message),
      });
    }

    const refused = await oneTask({ maxRetries: 2 });
    behaviour = () => Promise.reject(refusedByServer);
    expect(await runner.run(refused.taskId, QueueName.Analysis)).toBe('failed');
    expect(await task(refused.taskId)).toMatchObject({
      status: 'failed',
      output_data: { error_kind: 'permanent', attempts: 1 },
    });
  });

  it('passes the wait the service asked for (Retry-After) on to the backoff', async () => {
    const { taskId } = await oneTask();
    behaviour = () => Promise.reject(transient('Too Many Requests', 42_000));
    const thrown = await outcomeOf(runner.run(taskId, QueueName.Analysis));
    expect(thrown).toBeInstanceOf(RetryLaterError);
    expect((thrown as RetryLaterError).retryAfterMs).toBe(42_000);
  });

  it('fails a task with no retries at the first transient failure', async () => {
    const { taskId } = await oneTask({ maxRetries: 0 });
    behaviour = () => Promise.reject(transient('Bad Gateway'));
    expect(await runner.run(taskId, QueueName.Analysis)).toBe('failed');
    expect((await task(taskId)).output_data).toEqual({
      error_kind: 'retries_exhausted',
      attempts: 1,
    });
  });

  it('holds a task that must wait without spending an attempt', async () => {
    const { taskId } = await oneTask();
    behaviour = () => Promise.reject(new HoldAttemptError('waiting for the rules file', 7_000));
    const thrown = await outcomeOf(runner.run(taskId, QueueName.Analysis));
    expect(thrown).toBeInstanceOf(TaskHoldError);
    expect((thrown as TaskHoldError).retryAfterMs).toBe(7_000);
    expect(await task(taskId)).toMatchObject({
      status: 'queued',
      retry_count: 0,
      error_message: 'waiting for the rules file',
    });
    behaviour = () => Promise.resolve({ outputData: {} });
    expect(await runner.run(taskId, QueueName.Analysis)).toBe('completed');
    expect(seen.map((c) => c.attempt)).toEqual([1, 1]);
    expect((await executions(taskId)).map((e) => e.status)).toEqual(['held', 'completed']);
  });

  it('aborts an attempt at its deadline and retries it', async () => {
    runner = buildRunner({ TASK_TIMEOUT_MS: '300' });
    const { taskId } = await oneTask();
    let aborted = false;
    // Like the real handlers: an async function whose pending call stops on the signal.
    behaviour = async (ctx) => {
      await new Promise((_, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted = true;
          reject(new Error('attempt aborted'));
        });
      });
      return { outputData: {} };
    };
    const thrown = await outcomeOf(runner.run(taskId, QueueName.Analysis));
    expect(thrown).toBeInstanceOf(RetryLaterError);
    expect(aborted).toBe(true);
    expect(await task(taskId)).toMatchObject({
      status: 'queued',
      retry_count: 1,
      error_message: 'worker: attempt exceeded its deadline of 300 ms',
    });
  });

  it('retries at the deadline even when the handler gives up in the same instant it sees the abort', async () => {
    runner = buildRunner({ TASK_TIMEOUT_MS: '300' });
    const { taskId } = await oneTask();
    // Not an async function: its promise rejects inside the abort itself, with no await between.
    behaviour = (ctx) =>
      new Promise((_, reject) => {
        ctx.signal.addEventListener('abort', () => reject(new Error('attempt aborted')));
      });
    const thrown = await outcomeOf(runner.run(taskId, QueueName.Analysis));
    expect(thrown).toBeInstanceOf(RetryLaterError);
    expect(await task(taskId)).toMatchObject({
      status: 'queued',
      retry_count: 1,
      error_message: 'worker: attempt exceeded its deadline of 300 ms',
    });
  });

  it("holds an agent run request once Codegen's creations per minute are spent across workers", async () => {
    runner = buildRunner({ CODEGEN_CREATE_LIMIT_PER_MINUTE: '1' });
    const { taskIds } = await storeEvent(db.dataSource, {
      tasks: [{ taskType: TaskType.CodegenTrigger }, { taskType: TaskType.CodegenTrigger }],
    });
    behaviour = async (ctx) => {
      expect(await ctx.markAgentRunRequested(true)).toBe(true);
      return { outputData: { requested: true } };
    };
    expect(await runner.run(taskIds[0], QueueName.Codegen)).toBe('completed');
    const other = buildRunner({ CODEGEN_CREATE_LIMIT_PER_MINUTE: '1', WORKER_ID: 'other-worker' });
    const thrown = await outcomeOf(other.run(taskIds[1], QueueName.Codegen));
    expect(thrown).toBeInstanceOf(TaskHoldError);
    expect((thrown as TaskHoldError).retryAfterMs).toBeGreaterThan(0);
    expect(await task(taskIds[1])).toMatchObject({ status: 'queued', retry_count: 0 });
    expect((await task(taskIds[1])).error_message).toMatch(
      /limit of agent-run creations per minute is spent/,
    );
  });
});
