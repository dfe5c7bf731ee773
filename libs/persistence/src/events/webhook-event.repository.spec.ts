import { randomUUID } from 'node:crypto';
import { TaskType } from '@app/domain';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { InstallationRepository } from '../installations/installation.repository';
import { TaskExecutionRepository } from '../executions/task-execution.repository';
import { OperatorCommands } from '../queries/operator-commands';
import { TaskLifecycleRepository } from '../tasks/task-lifecycle.repository';
import { IntakeStore } from './intake-store';
import {
  InvalidStoredJsonError,
  NewEvent,
  UnstorableJsonError,
  WebhookEventRepository,
} from './webhook-event.repository';

const db = useUnitDatabase();
const events = new WebhookEventRepository();

function newEvent(over: Partial<NewEvent> = {}): NewEvent {
  return {
    deliveryId: randomUUID(),
    eventType: 'installation',
    action: 'suspend',
    repository: null,
    installationId: 42,
    senderLogin: 'octocat',
    payloadJson: '{"action":"suspend"}',
    headers: { 'x-github-event': 'installation' },
    processedAtIntake: true,
    receivedVia: 'webhook',
    ...over,
  };
}

async function eventRow(eventId: number): Promise<Record<string, unknown>> {
  const [row] = await db.rows(
    `SELECT processed, error_message, retry_count, processing_completed_at FROM webhook_events WHERE id = $1`,
    [eventId],
  );
  return row;
}

async function count(table: string): Promise<number> {
  const [{ n }] = await db.rows<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(n);
}

describe('WebhookEventRepository', () => {
  it('stores an event with its tasks in one statement; a replayed delivery id stores nothing', async () => {
    const deliveryId = randomUUID();
    const first = await storeEvent(db.dataSource, { deliveryId, tasks: [{}, {}] });
    expect(first.eventId).toBeGreaterThan(0);
    await expect(storeEvent(db.dataSource, { deliveryId, tasks: [{}] })).rejects.toThrow(
      'already stored',
    );
    expect(await count('webhook_events')).toBe(1);
    expect(await count('workflow_tasks')).toBe(2);
    expect((await eventRow(first.eventId)).processed).toBe(false);
  });

  it('refuses text jsonb cannot hold with InvalidStoredJsonError, and numbers it cannot hold with UnstorableJsonError', async () => {
    await expect(
      events.insertWithTasks(db.dataSource, newEvent({ payloadJson: '{"a":"\\u0000"}' }), []),
    ).rejects.toBeInstanceOf(InvalidStoredJsonError);
    await expect(
      events.insertWithTasks(db.dataSource, newEvent({ payloadJson: '{"a":1e131072}' }), []),
    ).rejects.toBeInstanceOf(UnstorableJsonError);
    expect(await count('webhook_events')).toBe(0);
  });

  it('markProcessedIfDone settles only events without a live task, naming only this round’s failures', async () => {
    const live = await storeEvent(db.dataSource);
    const done = await storeEvent(db.dataSource, {
      tasks: [{}, { taskType: TaskType.CheckFailureAnalysis }, {}],
    });
    await db.rows(`UPDATE workflow_tasks SET status = 'failed' WHERE webhook_event_id = $1`, [
      done.eventId,
    ]);
    // A task from before a reprocess is history: not named.
    await db.rows(
      `UPDATE workflow_tasks SET created_at = now() - interval '1 hour' WHERE task_id = $1`,
      [done.taskIds[2]],
    );
    await events.markProcessedIfDone(db.dataSource, [live.eventId, done.eventId]);
    expect((await eventRow(live.eventId)).processed).toBe(false);
    expect(await eventRow(done.eventId)).toMatchObject({
      processed: true,
      error_message: '2 task(s) failed: pull_request_analysis, check_failure_analysis',
    });
  });

  it('reopen makes a processed event live again; startNewRound counts a reprocess', async () => {
    const { eventId } = await storeEvent(db.dataSource, { tasks: [] });
    expect((await eventRow(eventId)).processed).toBe(true);
    await events.reopen(db.dataSource, eventId);
    expect(await eventRow(eventId)).toMatchObject({
      processed: false,
      processing_completed_at: null,
    });
    await events.startNewRound(db.dataSource, eventId, false);
    expect(await eventRow(eventId)).toMatchObject({ processed: true, retry_count: 1 });
    await events.startNewRound(db.dataSource, eventId, true);
    expect(await eventRow(eventId)).toMatchObject({ processed: false, retry_count: 2 });
  });
});

describe('IntakeStore', () => {
  let store: IntakeStore;
  beforeAll(() => {
    store = new IntakeStore(
      db.dataSource,
      events,
      new InstallationRepository(),
      new TaskLifecycleRepository(
        db.dataSource,
        events,
        new TaskExecutionRepository(db.dataSource),
      ),
    );
  });
  const suspend = {
    installationId: 42,
    action: 'suspend',
    accountLogin: 'octo-org',
    accountType: 'Organization',
    repositorySelection: 'all',
    repositoriesAdded: [],
    repositoriesRemoved: [],
  };

  it('stores an installation event, the installation and the cancelled tasks together', async () => {
    const earlier = await storeEvent(db.dataSource, { installationId: 42 });
    expect(await store.storeDelivery(newEvent(), [], suspend)).toBe(true);
    const [installation] = await db.rows(
      'SELECT account_login, suspended, last_action FROM github_installations WHERE id = 42',
    );
    expect(installation).toEqual({
      account_login: 'octo-org',
      suspended: true,
      last_action: 'suspend',
    });
    const [task] = await db.rows<{ status: string }>(
      'SELECT status FROM workflow_tasks WHERE task_id = $1',
      [earlier.taskIds[0]],
    );
    expect(task.status).toBe('cancelled');
  });

  it('a replayed installation delivery changes nothing', async () => {
    const event = newEvent();
    expect(await store.storeDelivery(event, [], { ...suspend, action: 'unsuspend' })).toBe(true);
    const earlier = await storeEvent(db.dataSource, { installationId: 42 });
    expect(await store.storeDelivery(event, [], suspend)).toBe(false);
    const [installation] = await db.rows<{ suspended: boolean }>(
      'SELECT suspended FROM github_installations WHERE id = 42',
    );
    expect(installation.suspended).toBe(false);
    const [task] = await db.rows<{ status: string }>(
      'SELECT status FROM workflow_tasks WHERE task_id = $1',
      [earlier.taskIds[0]],
    );
    expect(task.status).toBe('pending');
  });

  it('stores a delivery with its tasks through the prepared statement', async () => {
    const taskId = randomUUID();
    const ok = await store.storeDelivery(
      newEvent({ eventType: 'pull_request', processedAtIntake: false }),
      [
        {
          taskId,
          taskType: TaskType.PullRequestAnalysis,
          repository: 'octo-org/app',
          prNumber: 1,
          branch: 'main',
          commitSha: null,
          inputData: {},
          maxRetries: 3,
        },
      ],
    );
    expect(ok).toBe(true);
    expect(await count('workflow_tasks')).toBe(1);
  });
});

describe('OperatorCommands', () => {
  let commands: OperatorCommands;
  beforeAll(() => {
    commands = new OperatorCommands(db.dataSource, events);
  });

  it('retryTask puts a failed task back to pending and its event live; refuses the rest with a reason', async () => {
    const { eventId, taskIds } = await storeEvent(db.dataSource, {
      tasks: [{ maxRetries: 1 }, {}],
    });
    await db.rows(
      `UPDATE workflow_tasks SET status = 'failed', retry_count = 1 WHERE task_id = $1`,
      [taskIds[0]],
    );
    await db.rows(`UPDATE webhook_events SET processed = true`);
    expect(await commands.retryTask(taskIds[1], false)).toEqual({
      ok: false,
      reason: 'not_retryable',
      status: 'pending',
    });
    expect(await commands.retryTask(taskIds[0], false)).toEqual({
      ok: false,
      reason: 'exhausted',
      status: 'failed',
    });
    expect(await commands.retryTask(taskIds[0], true)).toEqual({
      ok: true,
      taskType: TaskType.PullRequestAnalysis,
      attemptsLeft: 1,
    });
    expect((await eventRow(eventId)).processed).toBe(false);
    expect(await commands.retryTask(randomUUID(), false)).toEqual({
      ok: false,
      reason: 'not_found',
    });
  });

  it('retryTask refuses a cancelled trigger whose commit already has a live one', async () => {
    const { taskIds } = await storeEvent(db.dataSource, {
      tasks: [{ taskType: TaskType.CodegenTrigger }, { taskType: TaskType.CodegenTrigger }],
    });
    await db.rows(`UPDATE workflow_tasks SET status = 'cancelled' WHERE task_id = $1`, [
      taskIds[0],
    ]);
    await db.rows(`UPDATE workflow_tasks SET dedupe_key = 'agent:x'`);
    expect(await commands.retryTask(taskIds[0], false)).toEqual({
      ok: false,
      reason: 'duplicate',
      status: 'cancelled',
    });
  });

  it('addTasksToEvent stores the new tasks and starts a new round of the event', async () => {
    const { eventId } = await storeEvent(db.dataSource, { tasks: [] });
    await commands.addTasksToEvent(eventId, [
      {
        taskId: randomUUID(),
        taskType: TaskType.PushAnalysis,
        repository: 'octo-org/app',
        prNumber: null,
        branch: 'main',
        commitSha: null,
        inputData: {},
        maxRetries: 3,
      },
    ]);
    expect(await eventRow(eventId)).toMatchObject({ processed: false, retry_count: 1 });
    expect(await count('workflow_tasks')).toBe(1);
  });

  it('createCleanupTask stores a pending cleanup task with its settings', async () => {
    const taskId = await commands.createCleanupTask(30, 500, 'alice');
    const [row] = await db.rows(
      'SELECT task_type, status, input_data, max_retries FROM workflow_tasks WHERE task_id = $1',
      [taskId],
    );
    expect(row).toEqual({
      task_type: 'cleanup',
      status: 'pending',
      input_data: { retention_days: 30, batch_size: 500, requested_by: 'alice' },
      max_retries: 1,
    });
  });
});
