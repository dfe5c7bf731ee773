import { DataSource, QueryRunner } from 'typeorm';
import { AuditLogRepository } from '../audit/audit-log.repository';
import {
  detachEventPartition,
  dropRetiredEventPartition,
  EVENTS_TABLE,
  RETIRED_PARTITION_PREFIX,
  listEventPartitions,
  sql,
} from '../events/event-partitions';
import { WebhookEventRepository } from '../events/webhook-event.repository';
import { TaskRemovalRepository } from '../tasks/task-removal.repository';

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

/** The owners whose rows retention deletes; each delete is a method of its table's owner. */
interface Owners {
  events: WebhookEventRepository;
  tasks: TaskRemovalRepository;
  audit: AuditLogRepository;
}

/**
 * Retention: events older than the retention period whose tasks are all finished go with their
 * tasks, executions and delivery-id guard rows; so do finished tasks without an event (cleanup
 * tasks) older than it, audit records and payload replay guard rows older than it. A month of
 * `webhook_events` entirely before the cutoff is dropped whole (its tasks and guard rows deleted
 * first, in batches); rows of the month at the edge are deleted in batches, so no statement
 * holds locks for long. Counts are measured.
 *
 * Retention writes no table itself: it decides the order and the batches, and each delete is a
 * method of the table's owner (events and their guard rows: WebhookEventRepository; tasks:
 * TaskRemovalRepository; audit records: AuditLogRepository; detaching and dropping a month: the
 * partition DDL in event-partitions).
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
  const owners: Owners = {
    events: new WebhookEventRepository(),
    tasks: new TaskRemovalRepository(),
    audit: new AuditLogRepository(dataSource),
  };
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
  await dropExpiredPartitions(dataSource, owners, cutoff, batchSize, maxBatches, result);
  for (let i = 0; i < maxBatches; i++) {
    // One transaction per batch: the events chosen, their tasks and the events go together.
    const batch = await dataSource.transaction(async (m) => {
      const victims = await owners.events.lockEndedBefore(m, cutoff, batchSize);
      const removed = await owners.tasks.deleteOfEvents(
        m,
        victims.map((v) => v.id),
      );
      return { events: await owners.events.deleteEvents(m, victims), ...removed };
    });
    result.eventsDeleted += batch.events;
    result.tasksDeleted += batch.tasks;
    result.executionsDeleted += batch.executions;
    result.batches++;
    if (batch.events < batchSize) break;
  }
  for (let i = 0; i < maxBatches; i++) {
    const removed = await owners.tasks.deleteEndedWithoutEventBefore(dataSource, cutoff, batchSize);
    result.tasksDeleted += removed.tasks;
    result.executionsDeleted += removed.executions;
    result.batches++;
    if (removed.tasks < batchSize) break;
  }
  for (let i = 0; i < maxBatches; i++) {
    const deleted = await owners.audit.deleteBefore(cutoff, batchSize);
    result.auditRecordsDeleted += deleted;
    result.batches++;
    if (deleted < batchSize) break;
  }
  for (let i = 0; i < maxBatches; i++) {
    const deleted = await owners.events.deletePayloadDigestsBefore(dataSource, cutoff, batchSize);
    result.batches++;
    if (deleted < batchSize) break;
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
  owners: Owners,
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
      await finishRetired(runner, owners, name, batchSize, maxBatches, result);

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
        const ids = await owners.events.idsIn(runner, partition.name, last, batchSize);
        const removed = await owners.tasks.deleteOfEvents(runner, ids);
        result.tasksDeleted += removed.tasks;
        result.executionsDeleted += removed.executions;
        result.batches++;
        if (ids.length < batchSize) break;
        last = ids[ids.length - 1];
      }
      const retiredName =
        `${RETIRED_PARTITION_PREFIX}${partition.name.replace(`${EVENTS_TABLE}_`, '')}`.slice(0, 63);
      if (!(await detachEventPartition(runner, partition.name, retiredName))) continue;
      await finishRetired(runner, owners, retiredName, batchSize, maxBatches, result);
    }
  } finally {
    await runner.release();
  }
}

/** Deletes a detached month's guard rows in batches, then drops it; counts its events. */
async function finishRetired(
  runner: QueryRunner,
  owners: Owners,
  name: string,
  batchSize: number,
  maxBatches: number,
  result: RetentionResult,
): Promise<void> {
  const [{ n }] = await sql<Array<{ n: string }>>(runner, `SELECT count(*) AS n FROM ${name}`);
  let last = 0;
  for (let i = 0; i < maxBatches; i++) {
    const batch = await owners.events.deleteGuardsOfRetired(runner, name, last, batchSize);
    result.batches++;
    if (batch.events < batchSize) break;
    last = batch.last;
  }
  await dropRetiredEventPartition(runner, name);
  result.eventsDeleted += Number(n);
  result.partitionsDropped.push(name.replace(RETIRED_PARTITION_PREFIX, `${EVENTS_TABLE}_`));
}
