import type { DataSource, QueryRunner } from 'typeorm';
import type { Queryable } from '../database/sql-results';

/**
 * `webhook_events` is partitioned by month on `created_at` (UTC months), so retention drops a
 * month with one statement instead of deleting it row by row (docs/partitioning.md).
 *
 * - `webhook_events_pYYYY_MM`: one month, created ahead by the worker's partition job.
 * - `webhook_events_legacy`: the table as it was before partitioning, attached for everything
 *   before the first month boundary after the migration.
 * - `webhook_events_default`: a safety net, so intake never fails for want of a partition; the
 *   partition job moves its rows into their month's partition.
 */
export const EVENTS_TABLE = 'webhook_events';
export const EVENTS_DEFAULT_PARTITION = 'webhook_events_default';
export const EVENTS_LEGACY_PARTITION = 'webhook_events_legacy';
/** Months created ahead of the current one (the current month is always created too). */
export const EVENT_PARTITION_MONTHS_AHEAD = 3;
/** Prefix of a partition that retention detached and has not finished dropping. */
export const RETIRED_PARTITION_PREFIX = 'webhook_events_retired_';
/** A partition job waits this long for its locks, then leaves the work for its next run. */
export const PARTITION_LOCK_TIMEOUT = '5s';

export interface EventPartition {
  name: string;
  /** Inclusive lower bound; null for MINVALUE. */
  from: Date | null;
  /** Exclusive upper bound; null for MAXVALUE. */
  to: Date | null;
  isDefault: boolean;
}

/** The partitions of `webhook_events` with their bounds, oldest first, the default last. */
export async function listEventPartitions(db: Queryable): Promise<EventPartition[]> {
  const rows = await db.query<
    Array<{ name: string; bound: string; from: Date | null; to: Date | null }>
  >(
    `SELECT c.relname AS name, b.bound,
            CASE WHEN b.lower = 'MINVALUE' THEN NULL ELSE b.lower::timestamptz END AS "from",
            CASE WHEN b.upper = 'MAXVALUE' THEN NULL ELSE b.upper::timestamptz END AS "to"
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) e
       CROSS JOIN LATERAL (SELECT e.bound,
              trim(both '''' from (regexp_match(e.bound, 'FROM \\(([^)]*)\\)'))[1]) AS lower,
              trim(both '''' from (regexp_match(e.bound, 'TO \\(([^)]*)\\)'))[1]) AS upper) b
      WHERE i.inhparent = to_regclass($1)
      ORDER BY b.bound = 'DEFAULT', "from" NULLS FIRST`,
    [EVENTS_TABLE],
  );
  return rows.map((r) => ({
    name: r.name,
    from: r.bound === 'DEFAULT' ? null : r.from,
    to: r.bound === 'DEFAULT' ? null : r.to,
    isDefault: r.bound === 'DEFAULT',
  }));
}

/** The first instant of the UTC month `offset` months after the one holding `at`. */
export function monthStart(at: Date, offset = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
}

/** `webhook_events_p2026_12` for the month starting at `start`. */
export function monthPartitionName(start: Date): string {
  const month = String(start.getUTCMonth() + 1).padStart(2, '0');
  return `${EVENTS_TABLE}_p${start.getUTCFullYear()}_${month}`;
}

function overlaps(p: EventPartition, from: Date, to: Date): boolean {
  if (p.isDefault) return false;
  return (p.from === null || p.from < to) && (p.to === null || from < p.to);
}

export interface PartitionMaintenanceResult {
  /** Partitions created by this run, oldest first. */
  created: string[];
  /** Rows moved out of the default partition into the month they belong to. */
  rowsMoved: number;
}

/**
 * Creates the partitions of the current month and the next `monthsAhead`, and of every month
 * that has rows in the default partition (moving them in). `run` must be a single connection
 * (each month is one transaction on it). Months already covered (by the legacy partition, or
 * created earlier) are left alone, so running it again, or from two workers at once, is safe:
 * the loser of a race gets 42P07 or 42P17 for that month and leaves it.
 */
export async function ensureEventPartitions(
  run: Queryable,
  monthsAhead = EVENT_PARTITION_MONTHS_AHEAD,
  now: Date = new Date(),
): Promise<PartitionMaintenanceResult> {
  const result: PartitionMaintenanceResult = { created: [], rowsMoved: 0 };
  const months = new Map<number, Date>();
  for (let i = 0; i <= monthsAhead; i++) {
    const start = monthStart(now, i);
    months.set(start.getTime(), start);
  }
  const stray = await run.query<Array<{ month: Date }>>(
    `SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month
       FROM ${EVENTS_DEFAULT_PARTITION}`,
  );
  for (const { month } of stray) months.set(month.getTime(), month);

  for (const start of [...months.values()].sort((a, b) => a.getTime() - b.getTime())) {
    const end = monthStart(start, 1);
    const existing = await listEventPartitions(run);
    if (existing.some((p) => overlaps(p, start, end))) continue;
    const name = monthPartitionName(start);
    try {
      const moved = await createMonthPartition(run, name, start, end);
      result.created.push(name);
      result.rowsMoved += moved;
    } catch (error) {
      // Another worker created it (or a table of that name) first: nothing left to do here.
      const code = (error as { code?: string }).code;
      if (code !== '42P07' && code !== '42P17') throw error;
    }
  }
  return result;
}

async function createMonthPartition(
  run: Queryable,
  name: string,
  from: Date,
  to: Date,
): Promise<number> {
  const lower = `'${from.toISOString()}'`;
  const upper = `'${to.toISOString()}'`;
  await run.query('BEGIN');
  try {
    // A partition job queues behind long reads for a few seconds at most, never holds intake.
    await run.query(`SET LOCAL lock_timeout = '${PARTITION_LOCK_TIMEOUT}'`);
    await run.query(`LOCK TABLE ${EVENTS_DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE`);
    const [{ n }] = await run.query<Array<{ n: string }>>(
      `SELECT count(*) AS n FROM ${EVENTS_DEFAULT_PARTITION}
        WHERE created_at >= ${lower} AND created_at < ${upper}`,
    );
    const stray = Number(n);
    if (stray === 0) {
      await run.query(
        `CREATE TABLE ${name} PARTITION OF ${EVENTS_TABLE} FOR VALUES FROM (${lower}) TO (${upper})`,
      );
    } else {
      // Rows that landed in the default partition move to their month in the same transaction.
      await run.query(
        `CREATE TABLE ${name} (LIKE ${EVENTS_TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS
           INCLUDING COMPRESSION INCLUDING STORAGE)`,
      );
      await run.query(
        `WITH moved AS (
           DELETE FROM ${EVENTS_DEFAULT_PARTITION}
            WHERE created_at >= ${lower} AND created_at < ${upper} RETURNING *)
         INSERT INTO ${name} SELECT * FROM moved`,
      );
      await run.query(
        `ALTER TABLE ${name} ADD CONSTRAINT ${name}_range
           CHECK (created_at >= ${lower} AND created_at < ${upper})`,
      );
      await run.query(
        `ALTER TABLE ${EVENTS_TABLE} ATTACH PARTITION ${name}
           FOR VALUES FROM (${lower}) TO (${upper})`,
      );
      await run.query(`ALTER TABLE ${name} DROP CONSTRAINT ${name}_range`);
    }
    await run.query('COMMIT');
    return stray;
  } catch (error) {
    await run.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Retention's DDL on a month that ended: detaches it and renames it `webhook_events_retired_*`
 * in a short transaction, once no task points into it (checked under its lock, so a reprocess
 * that raced retention's task deletes keeps the month). False when it must stay for now (a task
 * points into it, or the lock wait timed out: its rows are still served).
 */
export async function detachEventPartition(
  runner: QueryRunner,
  name: string,
  retiredName: string,
): Promise<boolean> {
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
    // 55P03: a lock wait timed out; the month stays for the next run.
    if ((error as { code?: string }).code === '55P03') return false;
    throw error;
  }
}

/** Drops a month retention detached (its guard rows already deleted). */
export async function dropRetiredEventPartition(
  run: Queryable,
  retiredName: string,
): Promise<void> {
  if (!retiredName.startsWith(RETIRED_PARTITION_PREFIX)) {
    throw new Error(`${retiredName} is not a retired partition of ${EVENTS_TABLE}`);
  }
  await run.query(`DROP TABLE ${retiredName}`);
}

/** A typed query on a runner whose `query` is untyped (TypeORM's QueryRunner). */
export function sql<T>(
  runner: { query(text: string, parameters?: unknown[]): Promise<unknown> },
  text: string,
  parameters?: unknown[],
): Promise<T> {
  return runner.query(text, parameters) as Promise<T>;
}

/** Advisory lock a partition job holds, so one worker at a time creates partitions. */
export const PARTITION_JOB_LOCK_KEY = '8122019431770004412';

/**
 * One run of the partition job on a connection of its own: creates the partitions ahead (see
 * {@link ensureEventPartitions}) unless another worker's run holds the job's lock, in which case
 * it returns null and leaves the work to that run.
 */
export async function maintainEventPartitions(
  dataSource: DataSource,
  monthsAhead = EVENT_PARTITION_MONTHS_AHEAD,
): Promise<PartitionMaintenanceResult | null> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const [{ locked }] = await sql<Array<{ locked: boolean }>>(
      runner,
      'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      [PARTITION_JOB_LOCK_KEY],
    );
    if (!locked) return null;
    try {
      return await ensureEventPartitions(runner, monthsAhead);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1::bigint)', [PARTITION_JOB_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
