import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { returnedRows, type Queryable } from '../database/sql-results';
import { TaskExecutionEntity } from './task-execution.entity';

/** How an attempt ended, as `task_executions.status` records it. */
export type ExecutionEnd = 'completed' | 'failed' | 'retrying' | 'held';

/**
 * The one writer of `task_executions`: one row per attempt, opened when a worker claims the task
 * and closed when the attempt ends. Called by the task lifecycle inside its transactions.
 */
@Injectable()
export class TaskExecutionRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Opens the execution of an attempt that starts now. */
  async open(
    m: EntityManager,
    attempt: { taskRowId: number; attempt: number; workerId: string; queueName: string },
  ): Promise<number> {
    const execution = await m.getRepository(TaskExecutionEntity).save({
      executionId: randomUUID(),
      taskId: attempt.taskRowId,
      attempt: attempt.attempt,
      status: 'running',
      startedAt: new Date(),
      workerId: attempt.workerId.slice(0, 128),
      queueName: attempt.queueName,
      completedAt: null,
      durationMs: null,
      errorMessage: null,
    });
    return execution.id;
  }

  /** Closes an attempt with how it ended. */
  async close(
    db: Queryable,
    executionId: number,
    status: ExecutionEnd,
    error: string | null,
  ): Promise<void> {
    await db.query(
      `UPDATE task_executions SET status = $2, completed_at = now(),
         duration_ms = greatest(0, (extract(epoch FROM now() - started_at) * 1000))::int,
         error_message = $3
       WHERE id = $1`,
      [executionId, status, error?.slice(0, 4000) ?? null],
    );
  }

  /** Closes one attempt whose result no longer counts (still running only). */
  async abandon(
    executionId: number,
    reason: string,
    db: Queryable = this.dataSource,
  ): Promise<void> {
    await db.query(
      `UPDATE task_executions SET status = 'abandoned', completed_at = now(),
         duration_ms = greatest(0, (extract(epoch FROM now() - started_at) * 1000))::int, error_message = $2
       WHERE id = $1 AND status = 'running'`,
      [executionId, reason],
    );
  }

  /**
   * Closes every attempt of a task still marked running (its worker stopped) as abandoned.
   * @returns how many were
   */
  async abandonRunningOf(db: Queryable, taskRowId: number, reason: string): Promise<number> {
    return returnedRows(
      await db.query(
        `UPDATE task_executions SET status = 'abandoned', completed_at = now(),
           duration_ms = greatest(0, (extract(epoch FROM now() - started_at) * 1000))::int,
           error_message = $2
         WHERE task_id = $1 AND status = 'running' RETURNING id`,
        [taskRowId, reason],
      ),
    ).length;
  }

  /** The newest running attempt of a task: its execution id and number. */
  async runningAttemptOf(taskRowId: number): Promise<{ id: number; attempt: number } | null> {
    const rows = await this.dataSource.query<Array<{ id: string; attempt: number }>>(
      `SELECT id, attempt FROM task_executions WHERE task_id = $1 AND status = 'running' ORDER BY id DESC LIMIT 1`,
      [taskRowId],
    );
    return rows[0] ? { id: Number(rows[0].id), attempt: rows[0].attempt } : null;
  }
}
