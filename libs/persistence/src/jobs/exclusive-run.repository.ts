import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returnedRows } from '../database/sql-results';

/** Work that runs on one replica at a time, whichever replicas are up. */
export type ExclusiveJob = 'relay' | 'delivery_recovery' | 'retention';

/** The advisory lock of each job (delivery recovery keeps the key it always had). */
const LOCK_KEYS: Record<ExclusiveJob, string> = {
  relay: '8122019431770004611',
  // The key delivery recovery always held (DELIVERY_RECOVERY_RUN_LOCK_KEY).
  delivery_recovery: '8122019431770004601',
  retention: '8122019431770004612',
};

/** Run records are kept this long. */
const KEEP_DAYS = 7;

export interface ExclusiveRunRecord {
  job: ExclusiveJob;
  holder: string;
  startedAt: Date;
  finishedAt: Date | null;
  /** done, failed, `holder gone` (closed by the next holder: its session had ended) or `lock lost`. */
  outcome: string | null;
}

/**
 * Runs a job under its PostgreSQL advisory lock, held on a session of its own, and logs each run
 * in `exclusive_runs` (holder, start, end, outcome), so the record shows that no two runs of a job
 * overlapped. A replica that finds the lock taken skips the run. PostgreSQL releases the lock when
 * the holder's session ends (the process died); the next holder then closes the dead run's record
 * as `holder gone`. A run that finishes after its own lock session was cut is recorded
 * `lock lost`, with its real end, so an overlap would show.
 */
@Injectable()
export class ExclusiveRunRepository {
  constructor(private readonly dataSource: DataSource) {}

  async run<T>(
    job: ExclusiveJob,
    holder: string,
    work: () => Promise<T>,
  ): Promise<{ ran: true; value: T } | { ran: false }> {
    const key = LOCK_KEYS[job];
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const locked = (await runner.query('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
        key,
      ])) as Array<{ locked: boolean }>;
      if (!locked[0]?.locked) return { ran: false };
      try {
        await runner.query(
          `UPDATE exclusive_runs SET finished_at = clock_timestamp(), outcome = 'holder gone'
            WHERE job = $1 AND finished_at IS NULL`,
          [job],
        );
        await runner.query(
          `DELETE FROM exclusive_runs
            WHERE job = $1 AND started_at < now() - ($2::int * interval '1 day')`,
          [job, KEEP_DAYS],
        );
        const [row] = returnedRows<{ id: string }>(
          await runner.query(
            `INSERT INTO exclusive_runs (job, holder) VALUES ($1, $2) RETURNING id`,
            [job, holder.slice(0, 128)],
          ),
        );
        let outcome = 'failed';
        try {
          const value = await work();
          outcome = 'done';
          return { ran: true, value };
        } finally {
          // Through the pool: the lock's own session may be the thing that broke.
          await this.dataSource
            .query(
              `UPDATE exclusive_runs SET finished_at = clock_timestamp(),
                 outcome = CASE WHEN finished_at IS NULL THEN $2 ELSE 'lock lost' END
               WHERE id = $1`,
              [row.id, outcome],
            )
            .catch(() => undefined);
        }
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
      }
    } finally {
      await runner.release();
    }
  }

  /** The job's runs that started at or after `since`, oldest first. */
  async runsSince(job: ExclusiveJob, since: Date): Promise<ExclusiveRunRecord[]> {
    const rows = await this.dataSource.query<
      Array<{
        holder: string;
        started_at: Date;
        finished_at: Date | null;
        outcome: string | null;
      }>
    >(
      `SELECT holder, started_at, finished_at, outcome FROM exclusive_runs
        WHERE job = $1 AND started_at >= $2 ORDER BY started_at, id`,
      [job, since],
    );
    return rows.map((r) => ({
      job,
      holder: r.holder,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      outcome: r.outcome,
    }));
  }
}
