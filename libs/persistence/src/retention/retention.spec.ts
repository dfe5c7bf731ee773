import { randomUUID } from 'node:crypto';
import { TaskType } from '@app/domain';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { TaskCreationRepository } from '../tasks/task-creation.repository';
import { runRetention } from './retention';

const db = useUnitDatabase();

async function ids(sql: string): Promise<string[]> {
  const rows = await db.rows<{ id: string }>(sql);
  return rows.map((r) => String(r.id));
}

async function age(table: string, column: string, where: string, days: number): Promise<void> {
  await db.rows(
    `UPDATE ${table} SET ${column} = now() - ($1::int * interval '1 day') WHERE ${where}`,
    [days],
  );
}

describe('runRetention', () => {
  it('deletes what ended before the cutoff, through each table’s owner, and keeps the rest', async () => {
    const ended = await storeEvent(db.dataSource, { tasks: [{}, {}] });
    const live = await storeEvent(db.dataSource, { tasks: [{}, {}] });
    const young = await storeEvent(db.dataSource, { tasks: [{}] });
    const creation = new TaskCreationRepository();
    await creation.createCleanup(db.dataSource, {
      retentionDays: 30,
      batchSize: 1,
      requestedBy: 'alice',
    });
    const liveRecovery = await creation.createRecovery(db.dataSource, 'operator', 'alice');
    await db.rows(
      `UPDATE workflow_tasks SET status = 'completed' WHERE task_id <> ALL($1::uuid[])`,
      [[live.taskIds[1], liveRecovery]],
    );
    await db.rows(
      `INSERT INTO task_executions (execution_id, task_id, attempt, status, started_at, worker_id,
         queue_name)
       SELECT gen_random_uuid(), id, 1, 'completed', now(), 'w1', 'analysis' FROM workflow_tasks`,
    );
    await age('webhook_events', 'created_at', `id <> ${young.eventId}`, 40);
    await age('workflow_tasks', 'created_at', `webhook_event_id IS NULL`, 40);
    await db.rows(
      `INSERT INTO audit_log (occurred_at, type, outcome) VALUES
         (now() - interval '40 days', 'auth_failure', 'refused'), (now(), 'auth_failure', 'refused')`,
    );
    await db.rows(
      `INSERT INTO webhook_payload_digests (digest, delivery_id, stored_at) VALUES
         ($1, 'old', now() - interval '40 days'), ($2, 'new', now())`,
      [Buffer.alloc(32, 1), Buffer.alloc(32, 2)],
    );

    // Batches of one: every loop runs more than once.
    const result = await runRetention(db.dataSource, 30, 1);

    expect(result).toMatchObject({
      eventsDeleted: 1,
      tasksDeleted: 3,
      executionsDeleted: 3,
      auditRecordsDeleted: 1,
      partitionsDropped: [],
    });
    expect(await ids('SELECT id FROM webhook_events ORDER BY id')).not.toContain(
      String(ended.eventId),
    );
    expect(await ids('SELECT id FROM webhook_events ORDER BY id')).toEqual([
      String(live.eventId),
      String(young.eventId),
    ]);
    expect(
      await ids('SELECT event_id AS id FROM webhook_deliveries g ORDER BY g.event_id'),
    ).toEqual([String(live.eventId), String(young.eventId)]);
    expect(await ids('SELECT task_id AS id FROM workflow_tasks t ORDER BY t.id')).toEqual([
      ...live.taskIds,
      ...young.taskIds,
      liveRecovery,
    ]);
    expect(await ids('SELECT delivery_id AS id FROM webhook_payload_digests')).toEqual(['new']);
    const [{ n }] = await db.rows<{ n: string }>('SELECT count(*) AS n FROM audit_log');
    expect(Number(n)).toBe(1);
  });

  it('keeps an event a reprocess made live again, even when it is old', async () => {
    const { eventId, taskIds } = await storeEvent(db.dataSource, { tasks: [{}] });
    await db.rows(`UPDATE workflow_tasks SET status = 'failed'`);
    await age('webhook_events', 'created_at', 'true', 40);
    await new TaskCreationRepository().createReprocessRound(db.dataSource, eventId, [
      {
        taskId: randomUUID(),
        taskType: TaskType.PullRequestAnalysis,
        repository: 'octo-org/app',
        prNumber: 7,
        branch: 'feature',
        commitSha: null,
        inputData: {},
        maxRetries: 3,
      },
    ]);
    const result = await runRetention(db.dataSource, 30, 10);
    expect(result).toMatchObject({ eventsDeleted: 0, tasksDeleted: 0 });
    expect(await ids('SELECT task_id AS id FROM workflow_tasks t ORDER BY t.id')).toHaveLength(2);
    expect(await ids('SELECT task_id AS id FROM workflow_tasks t ORDER BY t.id LIMIT 1')).toEqual(
      taskIds,
    );
  });

  it('refuses a period shorter than the redelivery window allows', async () => {
    await expect(runRetention(db.dataSource, 6, 10)).rejects.toThrow(/at least 7 days/);
  });
});
