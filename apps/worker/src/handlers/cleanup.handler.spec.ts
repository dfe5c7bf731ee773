import { TaskType } from '@app/domain';
import { DomainError } from '@app/platform';
import { ExclusiveRunRepository, WorkflowTaskEntity } from '@app/persistence';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { loadWorkerConfig } from '../config/worker.config';
import { CleanupHandler } from './cleanup.handler';
import { TaskContext } from './task-handler';

const db = useUnitDatabase();

function handler(): CleanupHandler {
  const config = loadWorkerConfig({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused',
    WORKER_ID: 'unit-worker',
  });
  return new CleanupHandler(db.dataSource, new ExclusiveRunRepository(db.dataSource), config);
}

/** The cleanup request as an operator's command stores it (only its input is read). */
function cleanup(input: Record<string, unknown>): TaskContext {
  const task = Object.assign(new WorkflowTaskEntity(), {
    taskType: TaskType.Cleanup,
    inputData: input,
  });
  return {
    task,
    event: null,
    signal: new AbortController().signal,
    attempt: 1,
    sendBy: Date.now() + 60_000,
    checkpoint: () => Promise.resolve(true),
    markAgentRunRequested: () => Promise.resolve(true),
  };
}

/** An event received `daysAgo` days ago whose one task ended (or is still pending). */
async function eventAged(daysAgo: number, ended = true): Promise<number> {
  const { eventId, taskIds } = await storeEvent(db.dataSource);
  await db.rows(
    `UPDATE webhook_events SET created_at = now() - ($2::int * interval '1 day'),
            processed = $3 WHERE id = $1`,
    [eventId, daysAgo, ended],
  );
  if (ended)
    await db.rows(
      `UPDATE workflow_tasks SET status = 'completed',
              completed_at = now() - ($2::int * interval '1 day') WHERE task_id = $1`,
      [taskIds[0], daysAgo],
    );
  return eventId;
}

async function eventIds(): Promise<number[]> {
  const rows = await db.rows<{ id: string }>('SELECT id FROM webhook_events ORDER BY id');
  return rows.map((r) => Number(r.id));
}

describe('CleanupHandler', () => {
  it('deletes ended events older than the retention period with their tasks, and keeps the rest', async () => {
    const old = await eventAged(40);
    const recent = await eventAged(2);
    const oldButLive = await eventAged(40, false);
    const result = await handler().handle(cleanup({ retention_days: 30 }));
    expect(result.outputData).toMatchObject({
      retention_days: 30,
      events_deleted: 1,
      tasks_deleted: 1,
    });
    expect(await eventIds()).toEqual([recent, oldButLive].sort((a, b) => a - b));
    expect(await eventIds()).not.toContain(old);
    const [tasks] = await db.rows<{ n: number }>('SELECT count(*)::int AS n FROM workflow_tasks');
    expect(tasks.n).toBe(2);
  });

  it('refuses a retention period shorter than the minimum', async () => {
    await expect(handler().handle(cleanup({ retention_days: 3 }))).rejects.toBeInstanceOf(
      DomainError,
    );
    await expect(handler().handle(cleanup({}))).rejects.toBeInstanceOf(DomainError);
  });

  it('skips while another retention pass runs, deleting nothing', async () => {
    await eventAged(40);
    let release: () => void = () => undefined;
    const other = new ExclusiveRunRepository(db.dataSource).run(
      'retention',
      'other-worker',
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    while ((await db.rows('SELECT 1 FROM exclusive_runs')).length === 0)
      await new Promise((r) => setTimeout(r, 10));
    const result = await handler().handle(cleanup({ retention_days: 30 }));
    release();
    await other;
    expect(result.outputData).toEqual({
      retention_days: 30,
      skipped: true,
      reason: 'another retention pass was running; it deletes the same rows',
    });
    expect(await eventIds()).toHaveLength(1);
  });
});
