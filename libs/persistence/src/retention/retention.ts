import { DataSource, QueryRunner } from 'typeorm';
import {
  EVENTS_TABLE,
  PARTITION_LOCK_TIMEOUT,
  RETIRED_PARTITION_PREFIX,
  listEventPartitions,
  sql,
} from '../events/event-partitions';

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
  /** Monthly partitions of `webhook_events` dropped whole (their events count in eventsDeleted). */
  partitionsDropped: string[];
  batches: number;
}

/**
 * Retention: events older than the retention period whose tasks are all finished go with their
 * tasks, executions and delivery-id guard rows; so do finished tasks without an event (cleanup
 * tasks) older than it, audit records and payload replay guard rows older than it. A month of `webhook_events` entirely
 * before the cutoff is dropped whole (its tasks and guard rows deleted first, in batches); rows
 * of the month at the edge are deleted in batches, so no statement holds locks for long. Counts
 * are measured.
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
    partitionsDropped: [],
    batches: 0,
  };
  await dropExpiredPartitions(dataSource, cutoff, batchSize, maxBatches, result);
  for (let i = 0; i < maxBatches; i++) {
    const rows = await dataSource.query<
      Array<{ events: string; tasks: string; executions: string }>
    >(
      `WITH victims AS (
         SELECT e.id, e.delivery_id FROM webhook_events e
         WHERE e.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM workflow_tasks t
                           WHERE t.webhook_event_id = e.id AND t.status IN ('pending', 'queued', 'running'))
         ORDER BY e.id LIMIT $2
       ), task_ids AS (
         SELECT t.id FROM workflow_tasks t WHERE t.webhook_event_id IN (SELECT id FROM victims)
       ), counted AS (
         SELECT (SELECT count(*) FROM task_ids) AS tasks,
                (SELECT count(*) FROM task_executions x WHERE x.task_id IN (SELECT id FROM task_ids)) AS executions
       ), tasks_deleted AS (
         DELETE FROM workflow_tasks WHERE id IN (SELECT id FROM task_ids)
       ), guards_deleted AS (
         DELETE FROM webhook_deliveries g USING victims v
          WHERE g.delivery_id = v.delivery_id AND g.event_id = v.id
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
  // Payload replay guard rows: the window is at most MIN_RETENTION_DAYS, so any row older than
  // the cutoff guards nothing any more.
  for (let i = 0; i < maxBatches; i++) {
    const rows = await dataSource.query<Array<{ deleted: string }>>(
      `WITH victims AS (
         SELECT digest FROM webhook_payload_digests WHERE stored_at < $1 LIMIT $2
       ), deleted AS (
         DELETE FROM webhook_payload_digests d USING victims v
          WHERE d.digest = v.digest AND d.stored_at < $1 RETURNING 1
       )
       SELECT count(*) AS deleted FROM deleted`,
      [cutoff, batchSize],
    );
    result.batches++;
    if (Number(rows[0].deleted) < batchSize) break;
  }
  return result;
}

/**
 * Drops every month of `webhook_events` that ends before the cutoff and has no live task:
 * deletes its tasks in batches, detaches it in a short transaction (re-checking under the lock
 * that no task points into it any more), deletes its guard rows in batches and drops it. A
 * partition detached by an interrupted run is renamed `webhook_events_retired_*` and finished
 * first. A month with a live task is left to the row deletes, which keep that event.
 */
async function dropExpiredPartitions(
  dataSource: DataSource,
  cutoff: Date,
  batchSize: number,
  maxBatches: number,
  result: RetentionResult,
): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const retired = await sql<Array<{ name: string }>>(
      runner,
      `SELECT relname AS name FROM pg_class WHERE relkind = 'r' AND relname LIKE $1 ORDER BY relname`,
      [`${RETIRED_PARTITION_PREFIX.replace(/_/g, '\\_')}%`],
    );
    for (const { name } of retired)
      await finishRetired(runner, name, batchSize, maxBatches, result);

    for (const partition of await listEventPartitions(runner)) {
      if (partition.isDefault || partition.to === null || partition.to > cutoff) continue;
      const [{ live }] = await sql<Array<{ live: boolean }>>(
        runner,
        `SELECT EXISTS (SELECT 1 FROM ${partition.name} e JOIN workflow_tasks t ON t.webhook_event_id = e.id
                         WHERE t.status IN ('pending', 'queued', 'running')) AS live`,
      );
      if (live) continue;
      let last = 0;
      for (let i = 0; i < maxBatches; i++) {
        const rows = await sql<
          Array<{ last: string | null; events: string; tasks: string; executions: string }>
        >(
          runner,
          `WITH events AS (
             SELECT id FROM ${partition.name} WHERE id > $1 ORDER BY id LIMIT $2
           ), victims AS (
             SELECT id FROM workflow_tasks WHERE webhook_event_id IN (SELECT id FROM events)
           ), counted AS (
             SELECT count(*) AS executions FROM task_executions WHERE task_id IN (SELECT id FROM victims)
           ), deleted AS (
             DELETE FROM workflow_tasks WHERE id IN (SELECT id FROM victims) RETURNING id
           )
           SELECT (SELECT max(id) FROM events) AS last, (SELECT count(*) FROM events) AS events,
                  (SELECT count(*) FROM deleted) AS tasks, counted.executions FROM counted`,
          [last, batchSize],
        );
        result.tasksDeleted += Number(rows[0].tasks);
        result.executionsDeleted += Number(rows[0].executions);
        result.batches++;
        if (Number(rows[0].events) < batchSize) break;
        last = Number(rows[0].last);
      }
      const retiredName =
        `${RETIRED_PARTITION_PREFIX}${partition.name.replace(`${EVENTS_TABLE}_`, '')}`.slice(0, 63);
      if (!(await detach(runner, partition.name, retiredName))) continue;
      await finishRetired(runner, retiredName, batchSize, maxBatches, result);
    }
  } finally {
    await runner.release();
  }
}

/**
 * Detaches a partition once no task points into it (checked under its lock, so a reprocess that
 * raced the task deletes keeps the month); false when it must stay for now.
 */
async function detach(runner: QueryRunner, name: string, retiredName: string): Promise<boolean> {
  await runner.startTransaction();
  try {
    await runner.query(`SET LOCAL lock_timeout = '${PARTITION_LOCK_TIMEOUT}'`);
    await runner.query(`LOCK TABLE ${name} IN ACCESS EXCLUSIVE MODE`);
    const [{ referenced }] = await sql<Array<{ referenced: boolean }>>(
      runner,
      `SELECT EXISTS (SELECT 1 FROM ${name} e JOIN workflow_tasks t ON t.webhook_event_id = e.id)
         AS referenced`,
    );
    if (referenced) {
      await runner.rollbackTransaction();
      return false;
    }
    await runner.query(`ALTER TABLE ${EVENTS_TABLE} DETACH PARTITION ${name}`);
    await runner.query(`ALTER TABLE ${name} RENAME TO ${retiredName}`);
    await runner.commitTransaction();
    return true;
  } catch (error) {
    await runner.rollbackTransaction();
    // 55P03: a lock wait timed out; the month stays for the next run (its rows are still served).
    if ((error as { code?: string }).code === '55P03') return false;
    throw error;
  }
}

/** Deletes a detached month's guard rows in batches, then drops it; counts its events. */
async function finishRetired(
  runner: QueryRunner,
  name: string,
  batchSize: number,
  maxBatches: number,
  result: RetentionResult,
): Promise<void> {
  const [{ n }] = await sql<Array<{ n: string }>>(runner, `SELECT count(*) AS n FROM ${name}`);
  let last = 0;
  for (let i = 0; i < maxBatches; i++) {
    const rows = await sql<Array<{ last: string | null; n: string }>>(
      runner,
      `WITH events AS (
         SELECT id, delivery_id FROM ${name} WHERE id > $1 ORDER BY id LIMIT $2
       ), deleted AS (
         DELETE FROM webhook_deliveries g USING events e
          WHERE g.delivery_id = e.delivery_id AND g.event_id = e.id
       )
       SELECT max(id) AS last, count(*) AS n FROM events`,
      [last, batchSize],
    );
    result.batches++;
    if (Number(rows[0].n) < batchSize) break;
    last = Number(rows[0].last);
  }
  await runner.query(`DROP TABLE ${name}`);
  result.eventsDeleted += Number(n);
  result.partitionsDropped.push(name.replace(RETIRED_PARTITION_PREFIX, `${EVENTS_TABLE}_`));
}
