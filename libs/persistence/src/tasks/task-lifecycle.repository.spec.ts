import { InstallationChange, TaskStatus, TaskType } from '@app/domain';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { WebhookEventRepository } from '../events/webhook-event.repository';
import { TaskExecutionRepository } from '../executions/task-execution.repository';
import { ClaimedTask } from './claimed-task';
import { TaskLifecycleRepository } from './task-lifecycle.repository';
import { TaskCreationRepository } from './task-creation.repository';

const db = useUnitDatabase();
let lifecycle: TaskLifecycleRepository;

beforeAll(() => {
  lifecycle = new TaskLifecycleRepository(
    db.dataSource,
    new WebhookEventRepository(),
    new TaskExecutionRepository(db.dataSource),
    new TaskCreationRepository(),
  );
});

interface TaskRow {
  status: string;
  retry_count: number;
  error_message: string | null;
  claim_token: string | null;
  lease_expires_at: Date | null;
  completed_at: Date | null;
  output_data: Record<string, unknown> | null;
  codegen_task_id: string | null;
}

async function taskRow(taskId: string): Promise<TaskRow> {
  const [row] = await db.rows<TaskRow>('SELECT * FROM workflow_tasks WHERE task_id = $1', [taskId]);
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

async function event(
  eventId: number,
): Promise<{ processed: boolean; error_message: string | null }> {
  const [row] = await db.rows<{ processed: boolean; error_message: string | null }>(
    'SELECT processed, error_message FROM webhook_events WHERE id = $1',
    [eventId],
  );
  return row;
}

async function claim(taskId: string): Promise<ClaimedTask> {
  const claimed = await lifecycle.claimForRun(taskId, 'worker-1', 'analysis', 60_000);
  if (!claimed) throw new Error(`could not claim ${taskId}`);
  return claimed;
}

describe('TaskLifecycleRepository', () => {
  describe('claimForRun', () => {
    it('takes a pending task: running, a claim token and lease, attempt 1 opened', async () => {
      const { taskIds } = await storeEvent(db.dataSource);
      const claimed = await claim(taskIds[0]);
      expect(claimed).toMatchObject({ attempt: 1, abandonedExecutions: 0 });
      const row = await taskRow(taskIds[0]);
      expect(row.status).toBe('running');
      expect(row.claim_token).toBe(claimed.claimToken);
      expect(row.lease_expires_at!.getTime()).toBeGreaterThan(Date.now());
      expect(await executions(taskIds[0])).toEqual([
        { attempt: 1, status: 'running', error_message: null },
      ]);
    });

    it('takes over a running task from a dead worker, spending an attempt and abandoning its execution', async () => {
      const { taskIds } = await storeEvent(db.dataSource);
      const first = await claim(taskIds[0]);
      const second = await claim(taskIds[0]);
      expect(second.claimToken).not.toBe(first.claimToken);
      expect(second).toMatchObject({ attempt: 2, abandonedExecutions: 1 });
      expect((await taskRow(taskIds[0])).retry_count).toBe(1);
      expect(await executions(taskIds[0])).toEqual([
        {
          attempt: 1,
          status: 'abandoned',
          error_message: 'worker stopped before finishing this attempt',
        },
        { attempt: 2, status: 'running', error_message: null },
      ]);
    });

    it('leaves an ended task alone (a redelivered job runs nothing)', async () => {
      const { taskIds } = await storeEvent(db.dataSource);
      await lifecycle.finish(await claim(taskIds[0]), { kind: 'completed', outputData: {} });
      expect(await lifecycle.claimForRun(taskIds[0], 'worker-2', 'analysis', 60_000)).toBeNull();
      expect(
        await lifecycle.claimForRun('00000000-0000-4000-8000-000000000000', 'w', 'analysis', 1),
      ).toBeNull();
    });
  });

  describe('finish', () => {
    it('completes the task, stores its output and children, and marks the event processed', async () => {
      const { eventId, taskIds } = await storeEvent(db.dataSource);
      const claimed = await claim(taskIds[0]);
      const result = await lifecycle.finish(
        claimed,
        { kind: 'completed', outputData: { summary: 'two checks failed' } },
        [{ taskType: TaskType.CodegenTrigger, inputData: { reason: 'fix' }, dedupeKey: 'agent:1' }],
      );
      expect(result?.children).toHaveLength(1);
      expect(result?.joined).toEqual([]);
      const row = await taskRow(taskIds[0]);
      expect(row.status).toBe('completed');
      expect(row.claim_token).toBeNull();
      expect(row.output_data).toEqual({
        summary: 'two checks failed',
        child_task_ids: [result!.children[0].taskId],
      });
      const [child] = await db.rows<Record<string, unknown>>(
        'SELECT status, task_type, repository, pr_number, commit_sha, webhook_event_id, max_retries FROM workflow_tasks WHERE task_id = $1',
        [result!.children[0].taskId],
      );
      expect(child).toMatchObject({
        status: 'pending',
        task_type: 'codegen_trigger',
        repository: 'octo-org/app',
        pr_number: 7,
        commit_sha: 'a'.repeat(40),
        webhook_event_id: String(eventId),
        max_retries: 3,
      });
      // The child is live, so the event is not processed yet.
      expect((await event(eventId)).processed).toBe(false);
      expect(await executions(taskIds[0])).toEqual([
        { attempt: 1, status: 'completed', error_message: null },
      ]);
    });

    it('joins a child whose dedupe key is already live instead of creating a second one', async () => {
      const { taskIds } = await storeEvent(db.dataSource, { tasks: [{}, {}] });
      const child = { taskType: TaskType.CodegenTrigger, inputData: {}, dedupeKey: 'agent:same' };
      const first = await lifecycle.finish(
        await claim(taskIds[0]),
        { kind: 'completed', outputData: {} },
        [child],
      );
      const second = await lifecycle.finish(
        await claim(taskIds[1]),
        { kind: 'completed', outputData: {} },
        [child],
      );
      expect(first?.children).toHaveLength(1);
      expect(second).toEqual({ children: [], joined: ['agent:same'] });
      expect((await taskRow(taskIds[1])).output_data).toEqual({ joined_existing: ['agent:same'] });
      const [{ n }] = await db.rows<{ n: string }>(
        "SELECT count(*) AS n FROM workflow_tasks WHERE task_type = 'codegen_trigger'",
      );
      expect(Number(n)).toBe(1);
    });

    it('a failed last task makes the event processed with an error naming it; cancelled is no failure', async () => {
      const { eventId, taskIds } = await storeEvent(db.dataSource, {
        tasks: [{}, { taskType: TaskType.CheckFailureAnalysis }],
      });
      await lifecycle.finish(await claim(taskIds[0]), { kind: 'cancelled', reason: 'not needed' });
      expect((await event(eventId)).processed).toBe(false);
      await lifecycle.finish(await claim(taskIds[1]), { kind: 'failed', error: 'x'.repeat(5000) });
      expect(await event(eventId)).toEqual({
        processed: true,
        error_message: '1 task(s) failed: check_failure_analysis',
      });
      expect((await taskRow(taskIds[0])).error_message).toBe('not needed');
      expect((await taskRow(taskIds[1])).error_message).toHaveLength(4000);
      expect((await executions(taskIds[1]))[0].status).toBe('failed');
    });

    it('keeps the agent run it was given when completing', async () => {
      const { taskIds } = await storeEvent(db.dataSource);
      await lifecycle.finish(await claim(taskIds[0]), {
        kind: 'completed',
        outputData: {},
        codegen: { id: 'run-9', url: 'https://codegen.example/run/9' },
      });
      expect((await taskRow(taskIds[0])).codegen_task_id).toBe('run-9');
    });

    it('returns null for a lost claim: nothing changes, no child is made, the stale attempt is abandoned', async () => {
      const { taskIds } = await storeEvent(db.dataSource);
      const stale = await claim(taskIds[0]);
      const current = await claim(taskIds[0]);
      const result = await lifecycle.finish(stale, { kind: 'completed', outputData: {} }, [
        { taskType: TaskType.CodegenTrigger, inputData: {}, dedupeKey: 'agent:lost' },
      ]);
      expect(result).toBeNull();
      const row = await taskRow(taskIds[0]);
      expect(row.status).toBe('running');
      expect(row.claim_token).toBe(current.claimToken);
      const [{ n }] = await db.rows<{ n: string }>('SELECT count(*) AS n FROM workflow_tasks');
      expect(Number(n)).toBe(1);
    });
  });

  describe('retry, hold, wait', () => {
    it('scheduleRetry queues the task again, spends an attempt and closes the execution as retrying', async () => {
      const { taskIds } = await storeEvent(db.dataSource);
      const claimed = await claim(taskIds[0]);
      expect(await lifecycle.scheduleRetry(claimed, 'GitHub answered 502')).toBe(true);
      expect(await taskRow(taskIds[0])).toMatchObject({
        status: 'queued',
        retry_count: 1,
        error_message: 'GitHub answered 502',
        claim_token: null,
      });
      expect((await executions(taskIds[0]))[0]).toMatchObject({
        status: 'retrying',
        error_message: 'GitHub answered 502',
      });
      // The claim is spent: a second retry with it changes nothing.
      expect(await lifecycle.scheduleRetry(claimed, 'again')).toBe(false);
      expect((await taskRow(taskIds[0])).retry_count).toBe(1);
    });

    it('holdForRateLimit queues the task without spending the attempt; the next claim has the same number', async () => {
      const { taskIds } = await storeEvent(db.dataSource);
      expect(
        await lifecycle.holdForRateLimit(await claim(taskIds[0]), 'rate limited until 12:00'),
      ).toBe(true);
      expect(await taskRow(taskIds[0])).toMatchObject({
        status: 'queued',
        retry_count: 0,
        error_message: 'rate limited until 12:00',
      });
      expect((await claim(taskIds[0])).attempt).toBe(1);
      expect((await executions(taskIds[0]))[0].status).toBe('held');
    });

    it('markWaiting and extendLease keep a running task alive under its claim; currentClaim finds it again', async () => {
      const { taskIds } = await storeEvent(db.dataSource);
      const claimed = await claim(taskIds[0]);
      expect(await lifecycle.markWaiting(claimed, { agent_run: 'run-1' }, 3_600_000)).toBe(true);
      const row = await taskRow(taskIds[0]);
      expect(row.output_data).toEqual({ agent_run: 'run-1' });
      expect(row.lease_expires_at!.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
      const again = await lifecycle.currentClaim(taskIds[0]);
      expect(again).toMatchObject({
        claimToken: claimed.claimToken,
        executionId: claimed.executionId,
        attempt: 1,
      });
      expect(await lifecycle.extendLease(again!, 1000)).toBe(true);
      const stale = { ...claimed, claimToken: '00000000-0000-4000-8000-000000000000' };
      expect(await lifecycle.markWaiting(stale, {}, 1)).toBe(false);
      expect(await lifecycle.extendLease(stale, 1)).toBe(false);
    });

    it('currentClaim is null for a task that is not running', async () => {
      const { taskIds } = await storeEvent(db.dataSource);
      expect(await lifecycle.currentClaim(taskIds[0])).toBeNull();
    });
  });

  describe('requeueExpired', () => {
    async function expireLease(taskId: string): Promise<void> {
      await db.rows(
        "UPDATE workflow_tasks SET lease_expires_at = now() - interval '1 minute' WHERE task_id = $1",
        [taskId],
      );
    }

    it('queues a task whose lease passed again, spending an attempt and abandoning its execution', async () => {
      const { taskIds } = await storeEvent(db.dataSource);
      await claim(taskIds[0]);
      expect(await lifecycle.requeueExpired(taskIds[0])).toBeNull(); // lease still running
      await expireLease(taskIds[0]);
      expect(await lifecycle.requeueExpired(taskIds[0])).toBe('queued');
      expect(await taskRow(taskIds[0])).toMatchObject({
        status: 'queued',
        retry_count: 1,
        claim_token: null,
      });
      expect((await executions(taskIds[0]))[0]).toMatchObject({
        status: 'abandoned',
        error_message: 'lease expired: the worker running this attempt stopped',
      });
    });

    it('fails the task once its attempts are spent, and settles its event', async () => {
      const { eventId, taskIds } = await storeEvent(db.dataSource, { tasks: [{ maxRetries: 0 }] });
      await claim(taskIds[0]);
      await expireLease(taskIds[0]);
      expect(await lifecycle.requeueExpired(taskIds[0])).toBe('failed');
      expect((await taskRow(taskIds[0])).error_message).toBe(
        'no worker finished this task: every attempt stopped or timed out',
      );
      expect(await event(eventId)).toEqual({
        processed: true,
        error_message: '1 task(s) failed: pull_request_analysis',
      });
    });
  });

  describe('cancelSuperseded', () => {
    it('cancels older analyses and not-yet-started triggers of the PR, leaves a running agent run and other PRs', async () => {
      const old = 'b'.repeat(40);
      const first = await storeEvent(db.dataSource, {
        tasks: [
          { commitSha: old },
          { commitSha: old, taskType: TaskType.CodegenTrigger },
          { commitSha: old, taskType: TaskType.CodegenTrigger },
          { commitSha: old, prNumber: 8 },
        ],
      });
      const [analysis, pendingTrigger, runningTrigger, otherPr] = first.taskIds;
      await claim(runningTrigger);
      const newer = await storeEvent(db.dataSource, { tasks: [{ commitSha: 'c'.repeat(40) }] });
      const current = await lifecycle.findByTaskId(newer.taskIds[0]);
      const cancelled = await lifecycle.cancelSuperseded(current!);
      expect(cancelled.sort()).toEqual([analysis, pendingTrigger].sort());
      expect(await taskRow(analysis)).toMatchObject({
        status: 'cancelled',
        error_message: `superseded by ${'c'.repeat(40)}`,
      });
      expect((await taskRow(runningTrigger)).status).toBe('running');
      expect((await taskRow(otherPr)).status).toBe('pending');
      expect((await event(first.eventId)).processed).toBe(false);
    });

    it('settles an event left with no live task', async () => {
      const first = await storeEvent(db.dataSource, { tasks: [{ commitSha: 'b'.repeat(40) }] });
      const newer = await storeEvent(db.dataSource, { tasks: [{ commitSha: 'c'.repeat(40) }] });
      await lifecycle.cancelSuperseded((await lifecycle.findByTaskId(newer.taskIds[0]))!);
      expect(await event(first.eventId)).toEqual({ processed: true, error_message: null });
    });
  });

  describe('cancelForLostAccess', () => {
    const change = (over: Partial<InstallationChange>): InstallationChange => ({
      installationId: 42,
      action: 'suspend',
      accountLogin: 'octo-org',
      accountType: 'Organization',
      repositorySelection: 'selected',
      repositoriesAdded: [],
      repositoriesRemoved: [],
      ...over,
    });

    it('a suspended installation cancels its tasks not yet started; running ones and other installations stay', async () => {
      const mine = await storeEvent(db.dataSource, { installationId: 42, tasks: [{}, {}] });
      const other = await storeEvent(db.dataSource, { installationId: 43 });
      await claim(mine.taskIds[1]);
      const n = await db.dataSource.transaction((m) =>
        lifecycle.cancelForLostAccess(m, change({})),
      );
      expect(n).toBe(1);
      expect(await taskRow(mine.taskIds[0])).toMatchObject({
        status: 'cancelled',
        error_message: 'repository access removed (installation 42 suspended)',
      });
      expect((await taskRow(mine.taskIds[1])).status).toBe('running');
      expect((await taskRow(other.taskIds[0])).status).toBe('pending');
    });

    it('removed repositories cancel only their tasks (case-insensitively) and settle the emptied event', async () => {
      const a = await storeEvent(db.dataSource, { installationId: 42, repository: 'octo-org/App' });
      const b = await storeEvent(db.dataSource, {
        installationId: 42,
        repository: 'octo-org/other',
      });
      const n = await db.dataSource.transaction((m) =>
        lifecycle.cancelForLostAccess(
          m,
          change({ action: 'removed', repositoriesRemoved: ['octo-org/app'] }),
        ),
      );
      expect(n).toBe(1);
      expect((await taskRow(a.taskIds[0])).status).toBe('cancelled');
      expect((await taskRow(b.taskIds[0])).status).toBe('pending');
      expect(await event(a.eventId)).toEqual({ processed: true, error_message: null });
    });

    it('an installation change that withdraws nothing cancels nothing', async () => {
      const mine = await storeEvent(db.dataSource, { installationId: 42 });
      const n = await db.dataSource.transaction((m) =>
        lifecycle.cancelForLostAccess(m, change({ action: 'unsuspend' })),
      );
      expect(n).toBe(0);
      expect((await taskRow(mine.taskIds[0])).status).toBe(TaskStatus.Pending);
    });
  });
});
