import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { TaskCreationRepository } from './task-creation.repository';
import { TaskRemovalRepository } from './task-removal.repository';

const db = useUnitDatabase();
const removal = new TaskRemovalRepository();
const creation = new TaskCreationRepository();

async function taskIds(): Promise<string[]> {
  const rows = await db.rows<{ task_id: string }>('SELECT task_id FROM workflow_tasks ORDER BY id');
  return rows.map((r) => r.task_id);
}

async function addExecution(taskId: string): Promise<void> {
  await db.rows(
    `INSERT INTO task_executions (execution_id, task_id, attempt, status, started_at, worker_id,
       queue_name)
     SELECT gen_random_uuid(), id, 1, 'completed', now(), 'w1', 'analysis'
       FROM workflow_tasks WHERE task_id = $1`,
    [taskId],
  );
}

describe('TaskRemovalRepository', () => {
  it('deleteOfEvents deletes every task of those events with their executions, no other', async () => {
    const a = await storeEvent(db.dataSource, { tasks: [{}, {}] });
    const b = await storeEvent(db.dataSource, { tasks: [{}] });
    await addExecution(a.taskIds[0]);
    await addExecution(a.taskIds[0]);
    await addExecution(b.taskIds[0]);
    expect(await removal.deleteOfEvents(db.dataSource, [a.eventId])).toEqual({
      tasks: 2,
      executions: 2,
    });
    expect(await taskIds()).toEqual(b.taskIds);
    const [{ n }] = await db.rows<{ n: string }>('SELECT count(*) AS n FROM task_executions');
    expect(Number(n)).toBe(1);
    expect(await removal.deleteOfEvents(db.dataSource, [])).toEqual({ tasks: 0, executions: 0 });
  });

  it('deleteOfEvents rolls back with the caller’s transaction', async () => {
    const a = await storeEvent(db.dataSource, { tasks: [{}] });
    await expect(
      db.dataSource.transaction(async (m) => {
        await removal.deleteOfEvents(m, [a.eventId]);
        throw new Error('the event delete failed');
      }),
    ).rejects.toThrow('failed');
    expect(await taskIds()).toEqual(a.taskIds);
  });

  it('deleteEndedWithoutEventBefore deletes old ended eventless tasks only, oldest first, up to the limit', async () => {
    const old = [];
    for (let i = 0; i < 3; i++) {
      old.push(
        await creation.createCleanup(db.dataSource, {
          retentionDays: 30,
          batchSize: 10,
          requestedBy: 'alice',
        }),
      );
    }
    const live = await creation.createRecovery(db.dataSource, 'operator', 'alice');
    const young = await creation.createRecovery(db.dataSource, 'operator', 'alice');
    const withEvent = await storeEvent(db.dataSource);
    await db.rows(`UPDATE workflow_tasks SET status = 'completed'`);
    await db.rows(`UPDATE workflow_tasks SET status = 'running' WHERE task_id = $1`, [live]);
    await db.rows(
      `UPDATE workflow_tasks SET created_at = now() - interval '40 days' WHERE task_id <> $1`,
      [young],
    );
    await addExecution(old[0]);
    const cutoff = new Date(Date.now() - 30 * 86_400_000);

    expect(await removal.deleteEndedWithoutEventBefore(db.dataSource, cutoff, 2)).toEqual({
      tasks: 2,
      executions: 1,
    });
    expect(await taskIds()).toEqual([old[2], live, young, withEvent.taskIds[0]]);
    expect(await removal.deleteEndedWithoutEventBefore(db.dataSource, cutoff, 2)).toEqual({
      tasks: 1,
      executions: 0,
    });
    expect(await taskIds()).toEqual([live, young, withEvent.taskIds[0]]);
  });
});
