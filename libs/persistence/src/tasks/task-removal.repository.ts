import { Injectable } from '@nestjs/common';
import type { Queryable } from '../database/sql-results';

/** What a removal deleted: tasks, and their executions (which go with them, ON DELETE CASCADE). */
export interface RemovedTasks {
  tasks: number;
  executions: number;
}

/**
 * Retention's deletes of `workflow_tasks` rows (their `task_executions`, agent-run spend and
 * outcome rows go with them by the schema's ON DELETE CASCADE). Each is one statement on the
 * caller's connection or transaction, so retention decides the order and the batching.
 */
@Injectable()
export class TaskRemovalRepository {
  /** Every task of these events, whatever its state (the caller chose events that ended). */
  async deleteOfEvents(db: Queryable, eventIds: readonly number[]): Promise<RemovedTasks> {
    if (eventIds.length === 0) return { tasks: 0, executions: 0 };
    const rows = await db.query<Array<{ tasks: string; executions: string }>>(
      `WITH victims AS (
         SELECT id FROM workflow_tasks WHERE webhook_event_id = ANY($1::bigint[])
       ), counted AS (
         SELECT count(*) AS executions FROM task_executions WHERE task_id IN (SELECT id FROM victims)
       ), deleted AS (
         DELETE FROM workflow_tasks WHERE id IN (SELECT id FROM victims) RETURNING id
       )
       SELECT (SELECT count(*) FROM deleted) AS tasks, counted.executions FROM counted`,
      [eventIds],
    );
    return { tasks: Number(rows[0].tasks), executions: Number(rows[0].executions) };
  }

  /**
   * Up to `limit` finished tasks without an event (cleanup, delivery recovery) created before
   * `cutoff`, oldest first. Live ones are kept whatever their age.
   */
  async deleteEndedWithoutEventBefore(
    db: Queryable,
    cutoff: Date,
    limit: number,
  ): Promise<RemovedTasks> {
    const rows = await db.query<Array<{ tasks: string; executions: string }>>(
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
      [cutoff, limit],
    );
    return { tasks: Number(rows[0].tasks), executions: Number(rows[0].executions) };
  }
}
