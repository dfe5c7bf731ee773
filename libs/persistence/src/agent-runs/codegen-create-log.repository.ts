import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ClaimedTask } from '../tasks/claimed-task';
import { returnedRows } from '../database/sql-results';

/** Advisory lock (transaction scope) taken while a create is counted against the limit. */
const CODEGEN_CREATE_LOCK_KEY = '8122019431770004621';

/** Create records are kept this long (the window is a minute; the rest is for operators). */
const KEEP_HOURS = 24;

export type CreateReservation =
  | { kind: 'reserved' }
  | { kind: 'lost' }
  | { kind: 'wait'; waitMs: number; inWindow: number };

/**
 * Codegen's create limit across all workers, over any sliding window: every agent-run create is
 * logged in `codegen_create_requests` under one advisory lock, and a create is allowed only while
 * fewer than `limit` were logged in the last `windowMs`. The task's request mark is written in
 * the same transaction and only under its claim, so an attempt that lost its task asks nothing.
 */
@Injectable()
export class CodegenCreateLogRepository {
  constructor(private readonly dataSource: DataSource) {}

  async reserve(claim: ClaimedTask, limit: number, windowMs: number): Promise<CreateReservation> {
    return this.dataSource.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1::bigint)', [CODEGEN_CREATE_LOCK_KEY]);
      const recent = await m.query<Array<{ at_ms: string; now_ms: string }>>(
        `SELECT (extract(epoch FROM requested_at) * 1000)::bigint AS at_ms,
                (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms
           FROM codegen_create_requests
          WHERE requested_at > clock_timestamp() - ($1::int * interval '1 millisecond')
          ORDER BY requested_at`,
        [windowMs],
      );
      if (recent.length >= limit) {
        // The slot frees when the (n - limit + 1)-th oldest create leaves the window.
        const frees = Number(recent[recent.length - limit].at_ms) + windowMs;
        return {
          kind: 'wait',
          waitMs: Math.max(50, frees - Number(recent[0].now_ms)),
          inWindow: recent.length,
        };
      }
      const marked = returnedRows(
        await m.query(
          `UPDATE workflow_tasks SET agent_run_requested_at = now(), updated_at = now()
            WHERE id = $1 AND claim_token = $2 AND status = 'running' RETURNING id`,
          [claim.task.id, claim.claimToken],
        ),
      );
      if (marked.length === 0) return { kind: 'lost' };
      await m.query(`INSERT INTO codegen_create_requests (task_id) VALUES ($1)`, [
        claim.task.taskId,
      ]);
      await m.query(
        `DELETE FROM codegen_create_requests
          WHERE requested_at < now() - ($1::int * interval '1 hour')`,
        [KEEP_HOURS],
      );
      return { kind: 'reserved' };
    });
  }
}
