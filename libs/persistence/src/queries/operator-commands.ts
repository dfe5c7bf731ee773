import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TaskType } from '@app/domain';
import { isUniqueViolation, returnedRows } from '../database/sql-results';
import { NewTask, WebhookEventRepository } from '../events/webhook-event.repository';

export type RetryRefusal = 'not_found' | 'not_retryable' | 'exhausted' | 'duplicate';

/**
 * State changes operators ask for. Each is one conditional statement, so two operators clicking
 * at once cannot both win, and a task that changed meanwhile is refused rather than overwritten.
 */
@Injectable()
export class OperatorCommands {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: WebhookEventRepository,
  ) {}

  /** failed/cancelled → pending, keeping its history; exhausted retries need `force`. */
  async retryTask(
    taskId: string,
    force: boolean,
  ): Promise<
    | { ok: true; taskType: TaskType; attemptsLeft: number }
    | { ok: false; reason: RetryRefusal; status?: string }
  > {
    return this.dataSource.transaction(async (m) => {
      const rows = await m.query<
        Array<{
          id: string;
          status: string;
          retry_count: number;
          max_retries: number;
          task_type: TaskType;
          webhook_event_id: string | null;
        }>
      >(
        `SELECT id, status, retry_count, max_retries, task_type, webhook_event_id
           FROM workflow_tasks WHERE task_id = $1 FOR UPDATE`,
        [taskId],
      );
      const task = rows[0];
      if (!task) return { ok: false, reason: 'not_found' };
      if (task.status !== 'failed' && task.status !== 'cancelled') {
        return { ok: false, reason: 'not_retryable', status: task.status };
      }
      if (task.retry_count >= task.max_retries && !force)
        return { ok: false, reason: 'exhausted', status: task.status };
      try {
        await m.query('SAVEPOINT retry_task');
        await m.query(
          `UPDATE workflow_tasks SET status = 'pending', completed_at = NULL, claim_token = NULL,
             lease_expires_at = NULL, updated_at = now()
           WHERE id = $1`,
          [task.id],
        );
      } catch (error) {
        // A cancelled agent trigger whose commit already has another live or finished trigger.
        if (!isUniqueViolation(error)) throw error;
        await m.query('ROLLBACK TO SAVEPOINT retry_task');
        return { ok: false, reason: 'duplicate', status: task.status };
      }
      // Its event is live again until the task ends.
      if (task.webhook_event_id !== null)
        await this.events.reopen(m, Number(task.webhook_event_id));
      return {
        ok: true,
        taskType: task.task_type,
        attemptsLeft: Math.max(1, task.max_retries + 1 - task.retry_count),
      };
    });
  }

  /**
   * Stores new tasks for an existing event (reprocessing with the current routing) and marks
   * the event live again, in one transaction.
   */
  async addTasksToEvent(eventId: number, tasks: NewTask[]): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      for (const t of tasks) {
        await m.query(
          `INSERT INTO workflow_tasks (task_id, webhook_event_id, task_type, status, repository,
             pr_number, branch, commit_sha, input_data, max_retries)
           VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8::jsonb, $9)`,
          [
            t.taskId,
            eventId,
            t.taskType,
            t.repository,
            t.prNumber,
            t.branch,
            t.commitSha,
            JSON.stringify(t.inputData),
            t.maxRetries,
          ],
        );
      }
      await this.events.startNewRound(m, eventId, tasks.length > 0);
    });
  }

  /** A tracked cleanup task, run by the worker. */
  async createCleanupTask(
    retentionDays: number,
    batchSize: number,
    requestedBy: string,
  ): Promise<string> {
    const taskId = randomUUID();
    const rows = returnedRows(
      await this.dataSource.query(
        `INSERT INTO workflow_tasks (task_id, task_type, status, input_data, max_retries)
         VALUES ($1, 'cleanup', 'pending', $2::jsonb, 1) RETURNING id`,
        [
          taskId,
          JSON.stringify({
            retention_days: retentionDays,
            batch_size: batchSize,
            requested_by: requestedBy,
          }),
        ],
      ),
    );
    if (rows.length !== 1) throw new Error('could not create the cleanup task');
    return taskId;
  }
}
