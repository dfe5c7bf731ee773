import { DataSource } from 'typeorm';

/** Never below 7 days: the replay guard must outlive GitHub's redelivery window (3 days). */
export const MIN_RETENTION_DAYS = 7;

export interface RetentionResult {
  retentionDays: number;
  cutoff: string;
  eventsDeleted: number;
  tasksDeleted: number;
  executionsDeleted: number;
  /** `audit_log` rows that occurred before the cutoff (audit records follow the same period). */
  auditRecordsDeleted: number;
  batches: number;
}

/**
 * Deletes events older than the retention period whose tasks are all finished, and finished
 * tasks without an event (cleanup tasks) older than it, and audit records older than it, in
 * batches so no statement holds locks for long. Tasks and executions go with their event
 * (ON DELETE CASCADE); counts are measured.
 */
export async function runRetention(
  dataSource: DataSource,
  retentionDays: number,
  batchSize: number,
  maxBatches = 10_000,
): Promise<RetentionResult> {
  if (!Number.isInteger(retentionDays) || retentionDays < MIN_RETENTION_DAYS) {
    throw new Error(`retention must be at least ${MIN_RETENTION_DAYS} days`);
  }
  const [{ cutoff }] = await dataSource.query<Array<{ cutoff: Date }>>(
    `SELECT now() - ($1::int * interval '1 day') AS cutoff`,
    [retentionDays],
  );
  const result: RetentionResult = {
    retentionDays,
    cutoff: cutoff.toISOString(),
    eventsDeleted: 0,
    tasksDeleted: 0,
    executionsDeleted: 0,
    auditRecordsDeleted: 0,
    batches: 0,
  };
  for (let i = 0; i < maxBatches; i++) {
    const rows = await dataSource.query<
      Array<{ events: string; tasks: string; executions: string }>
    >(
      `WITH victims AS (
         SELECT e.id FROM webhook_events e
         WHERE e.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM workflow_tasks t
                           WHERE t.webhook_event_id = e.id AND t.status IN ('pending', 'queued', 'running'))
         ORDER BY e.id LIMIT $2
       ), task_ids AS (
         SELECT t.id FROM workflow_tasks t WHERE t.webhook_event_id IN (SELECT id FROM victims)
       ), counted AS (
         SELECT (SELECT count(*) FROM task_ids) AS tasks,
                (SELECT count(*) FROM task_executions x WHERE x.task_id IN (SELECT id FROM task_ids)) AS executions
       ), deleted AS (
         DELETE FROM webhook_events WHERE id IN (SELECT id FROM victims) RETURNING id
       )
       SELECT (SELECT count(*) FROM deleted) AS events, counted.tasks, counted.executions FROM counted`,
      [cutoff, batchSize],
    );
    const events = Number(rows[0].events);
    result.eventsDeleted += events;
    result.tasksDeleted += Number(rows[0].tasks);
    result.executionsDeleted += Number(rows[0].executions);
    result.batches++;
    if (events < batchSize) break;
  }
  for (let i = 0; i < maxBatches; i++) {
    const rows = await dataSource.query<Array<{ tasks: string; executions: string }>>(
      `WITH victims AS (
         SELECT id FROM workflow_tasks
         WHERE webhook_event_id IS NULL AND created_at < $1
           AND status IN ('completed', 'failed', 'cancelled')
         ORDER BY id LIMIT $2
       ), counted AS (
         SELECT count(*) AS executions FROM task_executions WHERE task_id IN (SELECT id FROM victims)
       ), deleted AS (
         DELETE FROM workflow_tasks WHERE id IN (SELECT id FROM victims) RETURNING id
       )
       SELECT (SELECT count(*) FROM deleted) AS tasks, counted.executions FROM counted`,
      [cutoff, batchSize],
    );
    const tasks = Number(rows[0].tasks);
    result.tasksDeleted += tasks;
    result.executionsDeleted += Number(rows[0].executions);
    result.batches++;
    if (tasks < batchSize) break;
  }
  for (let i = 0; i < maxBatches; i++) {
    const rows = await dataSource.query<Array<{ deleted: string }>>(
      `WITH victims AS (
         SELECT id FROM audit_log WHERE occurred_at < $1 ORDER BY occurred_at, id LIMIT $2
       ), deleted AS (
         DELETE FROM audit_log WHERE id IN (SELECT id FROM victims) RETURNING id
       )
       SELECT count(*) AS deleted FROM deleted`,
      [cutoff, batchSize],
    );
    const deleted = Number(rows[0].deleted);
    result.auditRecordsDeleted += deleted;
    result.batches++;
    if (deleted < batchSize) break;
  }
  return result;
}
