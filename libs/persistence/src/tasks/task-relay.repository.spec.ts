import { TaskType } from '@app/domain';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { TaskRelayRepository } from './task-relay.repository';

const db = useUnitDatabase();
let relay: TaskRelayRepository;

beforeAll(() => {
  relay = new TaskRelayRepository(db.dataSource);
});

async function age(taskIds: string[], status: string, ms: number): Promise<void> {
  await db.rows(
    `UPDATE workflow_tasks SET status = $2, updated_at = now() - ($3::int * interval '1 millisecond')
     WHERE task_id = ANY($1::uuid[])`,
    [taskIds, status, ms],
  );
}

async function statusOf(taskId: string): Promise<string> {
  const [row] = await db.rows<{ status: string }>(
    'SELECT status FROM workflow_tasks WHERE task_id = $1',
    [taskId],
  );
  return row.status;
}

describe('TaskRelayRepository', () => {
  it('markQueued moves only pending tasks to queued', async () => {
    const { taskIds } = await storeEvent(db.dataSource, { tasks: [{}, {}] });
    await age([taskIds[1]], 'running', 0);
    await relay.markQueued(taskIds);
    expect(await statusOf(taskIds[0])).toBe('queued');
    expect(await statusOf(taskIds[1])).toBe('running');
    await relay.markQueued([]); // nothing to do, no statement
  });

  it('listStalePending names pending tasks older than the age, oldest first, with attempts left', async () => {
    const { taskIds } = await storeEvent(db.dataSource, {
      tasks: [{ maxRetries: 2 }, { taskType: TaskType.CodegenTrigger }, {}],
    });
    await age([taskIds[0]], 'pending', 60_000);
    await age([taskIds[1]], 'pending', 120_000);
    const stale = await relay.listStalePending(30_000, 10);
    expect(stale).toEqual([
      { taskId: taskIds[1], taskType: TaskType.CodegenTrigger, attemptsLeft: 4 },
      { taskId: taskIds[0], taskType: TaskType.PullRequestAnalysis, attemptsLeft: 3 },
    ]);
    expect(await relay.listStalePending(30_000, 1)).toHaveLength(1);
  });

  it('listQuietQueued names queued tasks not touched for a while; touch moves them to the back', async () => {
    const { taskIds } = await storeEvent(db.dataSource, { tasks: [{}, {}] });
    await age(taskIds, 'queued', 60_000);
    expect((await relay.listQuietQueued(30_000, 10)).map((c) => c.taskId).sort()).toEqual(
      [...taskIds].sort(),
    );
    await relay.touch([taskIds[0]]);
    expect((await relay.listQuietQueued(30_000, 10)).map((c) => c.taskId)).toEqual([taskIds[1]]);
  });

  it('listExpiredLeases names running tasks whose lease passed; attempts left is never below 1', async () => {
    const { taskIds } = await storeEvent(db.dataSource, { tasks: [{ maxRetries: 1 }, {}] });
    await db.rows(
      `UPDATE workflow_tasks SET status = 'running', retry_count = 5,
         lease_expires_at = now() - interval '1 second' WHERE task_id = $1`,
      [taskIds[0]],
    );
    await db.rows(
      `UPDATE workflow_tasks SET status = 'running', lease_expires_at = now() + interval '1 hour'
       WHERE task_id = $1`,
      [taskIds[1]],
    );
    expect(await relay.listExpiredLeases(10)).toEqual([
      { taskId: taskIds[0], taskType: TaskType.PullRequestAnalysis, attemptsLeft: 1 },
    ]);
  });

  it('githubScopeOf names the task type and its event installation', async () => {
    const { taskIds } = await storeEvent(db.dataSource, { installationId: 99 });
    expect(await relay.githubScopeOf(taskIds[0])).toEqual({
      taskType: TaskType.PullRequestAnalysis,
      installationId: 99,
    });
    const none = await storeEvent(db.dataSource, { installationId: null });
    expect((await relay.githubScopeOf(none.taskIds[0]))?.installationId).toBeNull();
    expect(await relay.githubScopeOf('00000000-0000-4000-8000-000000000000')).toBeNull();
  });
});
