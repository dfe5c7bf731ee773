import { randomUUID } from 'node:crypto';
import { TaskType } from '@app/domain';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { WebhookEventRepository } from '../events/webhook-event.repository';
import { TaskCreationRepository, NewTask } from './task-creation.repository';
import { WorkflowTaskEntity } from './workflow-task.entity';

const db = useUnitDatabase();
const creation = new TaskCreationRepository();

function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return {
    taskId: randomUUID(),
    taskType: TaskType.PushAnalysis,
    repository: 'octo-org/app',
    prNumber: null,
    branch: 'main',
    commitSha: 'b'.repeat(40),
    inputData: { ref: 'refs/heads/main' },
    maxRetries: 3,
    ...overrides,
  };
}

async function count(table: string): Promise<number> {
  const [{ n }] = await db.rows<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(n);
}

async function taskById(taskId: string): Promise<Record<string, unknown>> {
  const [row] = await db.rows(
    `SELECT task_type, status, webhook_event_id, parent_task_id, repository, pr_number, branch,
            commit_sha, input_data, max_retries, dedupe_key
       FROM workflow_tasks WHERE task_id = $1`,
    [taskId],
  );
  return row;
}

describe('TaskCreationRepository', () => {
  it('createReprocessRound stores each task pending, as given, under the event', async () => {
    const { eventId } = await storeEvent(db.dataSource, { tasks: [] });
    const first = newTask();
    const second = newTask({ taskType: TaskType.PullRequestAnalysis, prNumber: 9, branch: null });
    await creation.createReprocessRound(db.dataSource, eventId, [first, second]);
    expect(await taskById(first.taskId)).toEqual({
      task_type: 'push_analysis',
      status: 'pending',
      webhook_event_id: String(eventId),
      parent_task_id: null,
      repository: 'octo-org/app',
      pr_number: null,
      branch: 'main',
      commit_sha: 'b'.repeat(40),
      input_data: { ref: 'refs/heads/main' },
      max_retries: 3,
      dedupe_key: null,
    });
    expect(await taskById(second.taskId)).toMatchObject({
      task_type: 'pull_request_analysis',
      pr_number: 9,
      branch: null,
    });
  });

  it('createReprocessRound stores nothing when one of its tasks is refused', async () => {
    const { eventId } = await storeEvent(db.dataSource, { tasks: [] });
    const taskId = randomUUID();
    await expect(
      creation.createReprocessRound(db.dataSource, eventId, [
        newTask({ taskId }),
        newTask({ taskId }),
      ]),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await count('workflow_tasks')).toBe(0);
  });

  it('createReprocessRound rolls back with the caller: nothing is left when a later write fails', async () => {
    const { eventId } = await storeEvent(db.dataSource, { tasks: [] });
    await expect(
      db.dataSource.transaction(async (m) => {
        await creation.createReprocessRound(m, eventId, [newTask()]);
        await m.query('SELECT 1/0');
      }),
    ).rejects.toThrow(/division by zero/);
    expect(await count('workflow_tasks')).toBe(0);
  });

  it('the intake statement stores no event, guard or task when one of its tasks is refused', async () => {
    const taskId = randomUUID();
    await expect(
      new WebhookEventRepository().insertWithTasks(
        db.dataSource,
        {
          deliveryId: randomUUID(),
          eventType: 'push',
          action: null,
          repository: 'octo-org/app',
          installationId: null,
          senderLogin: 'octocat',
          payloadJson: '{}',
          headers: {},
          processedAtIntake: false,
          receivedVia: 'webhook',
          payloadGuard: { sha256: Buffer.alloc(32, 7), windowHours: 72 },
        },
        [newTask({ taskId }), newTask({ taskId })],
      ),
    ).rejects.toMatchObject({ code: '23505' });
    for (const table of [
      'webhook_events',
      'webhook_deliveries',
      'webhook_payload_digests',
      'workflow_tasks',
    ]) {
      expect([table, await count(table)]).toEqual([table, 0]);
    }
  });

  it('createChild inherits the parent’s event, PR and commit unless it names its own; a live dedupe key joins instead', async () => {
    const { taskIds } = await storeEvent(db.dataSource);
    const parent = await db.dataSource
      .getRepository(WorkflowTaskEntity)
      .findOneByOrFail({ taskId: taskIds[0] });
    const draft = {
      taskType: TaskType.CodegenTrigger,
      inputData: { reason: 'checks failed' },
      dedupeKey: 'agent:octo-org/app:aaaa',
    };
    const result = await db.dataSource.transaction(async (m) => {
      const created = await creation.createChild(m, parent, draft);
      // The conflict is absorbed by a savepoint: the transaction goes on and commits.
      const joined = await creation.createChild(m, parent, draft);
      const other = await creation.createChild(m, parent, {
        ...draft,
        dedupeKey: null,
        prNumber: 11,
        branch: 'other',
        commitSha: 'c'.repeat(40),
      });
      return { created, joined, other };
    });
    expect(result.joined).toBeNull();
    expect(await taskById(result.created ?? '')).toMatchObject({
      task_type: 'codegen_trigger',
      status: 'pending',
      webhook_event_id: String(parent.webhookEventId),
      parent_task_id: String(parent.id),
      pr_number: 7,
      branch: 'feature',
      commit_sha: parent.commitSha,
      max_retries: parent.maxRetries,
      dedupe_key: 'agent:octo-org/app:aaaa',
    });
    expect(await taskById(result.other ?? '')).toMatchObject({
      pr_number: 11,
      branch: 'other',
      commit_sha: 'c'.repeat(40),
    });
    expect(await count('workflow_tasks')).toBe(3);
  });

  it('createChild rolls back with the caller’s transaction', async () => {
    const { taskIds } = await storeEvent(db.dataSource);
    const parent = await db.dataSource
      .getRepository(WorkflowTaskEntity)
      .findOneByOrFail({ taskId: taskIds[0] });
    await expect(
      db.dataSource.transaction(async (m) => {
        await creation.createChild(m, parent, {
          taskType: TaskType.CodegenTrigger,
          inputData: {},
          dedupeKey: null,
        });
        throw new Error('the parent’s ending was refused');
      }),
    ).rejects.toThrow('refused');
    expect(await count('workflow_tasks')).toBe(1);
  });

  it('createCleanup stores a pending cleanup task without an event, with its settings', async () => {
    const taskId = await creation.createCleanup(db.dataSource, {
      retentionDays: 30,
      batchSize: 500,
      requestedBy: 'alice',
    });
    expect(await taskById(taskId)).toMatchObject({
      task_type: 'cleanup',
      status: 'pending',
      webhook_event_id: null,
      input_data: { retention_days: 30, batch_size: 500, requested_by: 'alice' },
      max_retries: 1,
    });
  });

  it('createRecovery stores a pending delivery recovery task, requester cut to 255 characters', async () => {
    const taskId = await creation.createRecovery(db.dataSource, 'operator', 'x'.repeat(300));
    expect(await taskById(taskId)).toMatchObject({
      task_type: 'delivery_recovery',
      status: 'pending',
      webhook_event_id: null,
      input_data: { trigger: 'operator', requested_by: 'x'.repeat(255) },
      max_retries: 2,
    });
  });

  it('createScheduledRecoveryIfDue creates one task per interval, none while one is live', async () => {
    const first = await creation.createScheduledRecoveryIfDue(db.dataSource, 60_000);
    expect(first).not.toBeNull();
    expect(await taskById(first ?? '')).toMatchObject({
      input_data: { trigger: 'schedule', requested_by: 'scheduler' },
    });
    // Live: refused whatever the interval.
    expect(await creation.createScheduledRecoveryIfDue(db.dataSource, 0)).toBeNull();
    // Ended but recent: refused within the interval, created once it has passed.
    await db.rows(`UPDATE workflow_tasks SET status = 'completed'`);
    expect(await creation.createScheduledRecoveryIfDue(db.dataSource, 60_000)).toBeNull();
    await db.rows(`UPDATE workflow_tasks SET created_at = now() - interval '2 minutes'`);
    expect(await creation.createScheduledRecoveryIfDue(db.dataSource, 60_000)).not.toBeNull();
    expect(await count('workflow_tasks')).toBe(2);
  });
});
