import { createHash, randomUUID } from 'node:crypto';
import { TaskType } from '@app/domain';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { AgentRunOutcomeRepository } from '../agent-runs/agent-run-outcome.repository';
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
import { TaskCreationRepository } from '../tasks/task-creation.repository';

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
        new TaskCreationRepository(),
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
    expect(await store.storeDelivery(newEvent(), [], suspend)).toBe('stored');
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
    expect(await store.storeDelivery(event, [], { ...suspend, action: 'unsuspend' })).toBe(
      'stored',
    );
    const earlier = await storeEvent(db.dataSource, { installationId: 42 });
    expect(await store.storeDelivery(event, [], suspend)).toBe('duplicate_delivery');
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
    expect(ok).toBe('stored');
    expect(await count('workflow_tasks')).toBe(1);
  });

  it('stores the judging task only when a pending agent-run outcome matches, in the same statement', async () => {
    const trigger = await storeEvent(db.dataSource, { tasks: [{}] });
    await new AgentRunOutcomeRepository(db.dataSource).createPending({
      taskId: trigger.taskIds[0],
      repository: 'octo-org/app',
      prNumber: 7,
      triggerKind: 'check_failure',
      checkScope: 'check_run',
      failingChecks: ['ci / test'],
      failingCheckCompletedAt: null,
      headSha: 'a'.repeat(40),
      codegenRunId: null,
      codegenStatus: null,
      webUrl: null,
      followUpOf: null,
      followUpCount: 0,
    });
    const judging = (
      prNumbers: number[],
      sha: string | null,
      repository = 'Octo-Org/App',
      check: { scope: string; name: string } | null = null,
    ) => ({
      repository,
      prNumbers,
      sha,
      check,
      task: {
        taskId: randomUUID(),
        taskType: TaskType.AgentOutcome,
        repository,
        prNumber: prNumbers[0] ?? null,
        branch: null,
        commitSha: sha,
        inputData: { kind: 'check_completed' },
        maxRetries: 3,
      },
    });
    const check = (): NewEvent => newEvent({ eventType: 'check_run', processedAtIntake: true });
    const tasksOf = async (eventId: number): Promise<string[]> =>
      (
        await db.rows<{ task_type: string }>(
          'SELECT task_type FROM workflow_tasks WHERE webhook_event_id = $1',
          [eventId],
        )
      ).map((r) => r.task_type);

    // The outcome's pull request (the repository in any case): stored, the event is live.
    const byPr = judging([7], 'b'.repeat(40));
    const matched = await store.store(check(), [], null, byPr);
    expect(matched).toMatchObject({ kind: 'stored', judged: true });
    const matchedId = matched.kind === 'stored' ? matched.eventId : 0;
    expect(await tasksOf(matchedId)).toEqual([TaskType.AgentOutcome]);
    expect((await eventRow(matchedId)).processed).toBe(false);

    // Nothing pending about that pull request, commit or repository: no task, event processed.
    for (const miss of [
      judging([8], 'c'.repeat(40)),
      judging([7], 'a'.repeat(40), 'octo-org/other'),
    ]) {
      const result = await store.store(check(), [], null, miss);
      expect(result).toMatchObject({ kind: 'stored', judged: false });
      const id = result.kind === 'stored' ? result.eventId : 0;
      expect(await tasksOf(id)).toEqual([]);
      expect((await eventRow(id)).processed).toBe(true);
    }

    // A completed check of another pull request that the still-working run failed (the agent's
    // pull request Codegen has not reported yet); not when the run failed another check.
    const failedCheck = await store.store(
      check(),
      [],
      null,
      judging([9], 'e'.repeat(40), 'octo-org/app', { scope: 'check_run', name: 'ci / test' }),
    );
    expect(failedCheck).toMatchObject({ kind: 'stored', judged: true });
    const otherCheck = await store.store(
      check(),
      [],
      null,
      judging([9], 'e'.repeat(40), 'octo-org/app', { scope: 'check_run', name: 'ci / lint' }),
    );
    expect(otherCheck).toMatchObject({ kind: 'stored', judged: false });

    // Found by the agent's head commit, next to the routed tasks.
    await db.rows(`UPDATE agent_run_outcomes SET agent_head_sha = $1`, ['d'.repeat(40)]);
    const withRouted = await store.store(
      newEvent({ eventType: 'check_run', processedAtIntake: false }),
      [{ ...byPr.task, taskId: randomUUID(), taskType: TaskType.CheckFailureAnalysis }],
      null,
      judging([], 'd'.repeat(40)),
    );
    expect(withRouted).toMatchObject({ kind: 'stored', judged: true });
    const routedId = withRouted.kind === 'stored' ? withRouted.eventId : 0;
    expect((await tasksOf(routedId)).sort()).toEqual(
      [TaskType.AgentOutcome, TaskType.CheckFailureAnalysis].sort(),
    );

    // A replayed delivery id stores neither.
    const event = check();
    expect(await store.store(event, [], null, judging([7], null))).toMatchObject({ judged: true });
    expect(await store.store(event, [], null, judging([7], null))).toEqual({
      kind: 'duplicate_delivery',
    });
  });

  describe('payload replay guard', () => {
    const task = () => ({
      taskId: randomUUID(),
      taskType: TaskType.PullRequestAnalysis,
      repository: 'octo-org/app',
      prNumber: 1,
      branch: 'main',
      commitSha: null,
      inputData: {},
      maxRetries: 3,
    });
    const guarded = (sha256: Buffer, over: Partial<NewEvent> = {}): NewEvent =>
      newEvent({
        eventType: 'pull_request',
        processedAtIntake: false,
        payloadGuard: { sha256, windowHours: 72 },
        ...over,
      });
    const digest = (): Buffer => createHash('sha256').update(randomUUID()).digest();

    it('refuses the same body under a new delivery id and writes nothing for it', async () => {
      const sha = digest();
      expect(await store.storeDelivery(guarded(sha), [task()])).toBe('stored');
      const events0 = await count('webhook_events');
      const tasks0 = await count('workflow_tasks');
      const guards0 = await count('webhook_deliveries');
      const replay = guarded(sha);
      expect(await store.storeDelivery(replay, [task()])).toBe('duplicate_payload');
      expect(await count('webhook_events')).toBe(events0);
      expect(await count('workflow_tasks')).toBe(tasks0);
      expect(await count('webhook_deliveries')).toBe(guards0);
      const [row] = await db.rows<{ delivery_id: string }>(
        'SELECT delivery_id FROM webhook_payload_digests WHERE digest = $1',
        [sha],
      );
      expect(row.delivery_id).not.toBe(replay.deliveryId);
    });

    it('a redelivery under the same delivery id is still refused as a duplicate delivery', async () => {
      const event = guarded(digest());
      expect(await store.storeDelivery(event, [task()])).toBe('stored');
      expect(await store.storeDelivery(event, [task()])).toBe('duplicate_delivery');
    });

    it('a new body under a stored delivery id leaves no digest row behind', async () => {
      const event = guarded(digest());
      expect(await store.storeDelivery(event, [task()])).toBe('stored');
      const other = digest();
      expect(
        await store.storeDelivery(
          { ...event, payloadGuard: { sha256: other, windowHours: 72 } },
          [],
        ),
      ).toBe('duplicate_delivery');
      const rows = await db.rows('SELECT 1 FROM webhook_payload_digests WHERE digest = $1', [
        other,
      ]);
      expect(rows).toHaveLength(0);
      // So that body is still accepted under a delivery id of its own.
      expect(await store.storeDelivery(guarded(other), [task()])).toBe('stored');
    });

    it('of identical bodies stored at once under different delivery ids exactly one is stored', async () => {
      const sha = digest();
      const before = await count('webhook_events');
      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.storeDelivery(guarded(sha), [task()])),
      );
      expect(results.filter((r) => r === 'stored')).toHaveLength(1);
      expect(results.filter((r) => r === 'duplicate_payload')).toHaveLength(7);
      expect(await count('webhook_events')).toBe(before + 1);
    });

    it('accepts the same body again once its digest is older than the window', async () => {
      const sha = digest();
      expect(await store.storeDelivery(guarded(sha), [task()])).toBe('stored');
      await db.rows(
        `UPDATE webhook_payload_digests SET stored_at = now() - interval '73 hours' WHERE digest = $1`,
        [sha],
      );
      const later = guarded(sha);
      expect(await store.storeDelivery(later, [task()])).toBe('stored');
      const [row] = await db.rows<{ delivery_id: string }>(
        'SELECT delivery_id FROM webhook_payload_digests WHERE digest = $1',
        [sha],
      );
      expect(row.delivery_id).toBe(later.deliveryId);
      expect(await store.storeDelivery(guarded(sha), [task()])).toBe('duplicate_payload');
    });

    it('stores deliveries without a payload guard (pings) whatever their body', async () => {
      const a = await store.storeDelivery(newEvent({ eventType: 'ping' }), []);
      const b = await store.storeDelivery(newEvent({ eventType: 'ping' }), []);
      expect([a, b]).toEqual(['stored', 'stored']);
    });
  });
});

describe('OperatorCommands', () => {
  let commands: OperatorCommands;
  beforeAll(() => {
    commands = new OperatorCommands(
      db.dataSource,
      events,
      new TaskLifecycleRepository(
        db.dataSource,
        events,
        new TaskExecutionRepository(db.dataSource),
        new TaskCreationRepository(),
      ),
      new TaskCreationRepository(),
    );
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
