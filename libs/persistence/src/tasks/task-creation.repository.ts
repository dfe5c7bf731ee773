import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TaskType } from '@app/domain';
import { isUniqueViolation, Queryable, returnedRows } from '../database/sql-results';
import type { ChildTaskDraft } from './claimed-task';
import type { WorkflowTaskEntity } from './workflow-task.entity';

/** A task to be stored with its event (at intake, or in a reprocess's new round). */
export interface NewTask {
  taskId: string;
  taskType: TaskType;
  repository: string | null;
  prNumber: number | null;
  branch: string | null;
  commitSha: string | null;
  inputData: Record<string, unknown>;
  maxRetries: number;
}

/** How a delivery recovery task was asked for. */
export type DeliveryRecoveryTrigger = 'schedule' | 'operator';

/** The row shape `jsonb_to_recordset` reads the tasks of an event in. */
const EVENT_TASK_RECORD = `x(task_id uuid, task_type text, repository text, pr_number int,
  branch text, commit_sha text, input_data jsonb, max_retries int)`;

/**
 * The task part of the intake statement, which stores an event and its tasks in one round trip
 * (the measured hot path, docs/performance.md): an `INSERT INTO workflow_tasks` that reads the
 * event id from the CTE `eventCte` (one row with an `id` column) and the tasks from the jsonb
 * parameter `tasksParameter` (built by {@link eventTasksParameter}). The event's owner composes
 * it into its statement rather than running a second one, so the statement stays single and
 * atomic while the task columns are written here, next to the task owner's other inserts.
 */
export function eventTasksInsertSql(eventCte: string, tasksParameter: string): string {
  return `INSERT INTO workflow_tasks (task_id, webhook_event_id, task_type, status, repository,
             pr_number, branch, commit_sha, input_data, max_retries)
           SELECT x.task_id, ${eventCte}.id, x.task_type, 'pending', x.repository, x.pr_number,
             x.branch, x.commit_sha, x.input_data, x.max_retries
           FROM ${eventCte}, jsonb_to_recordset(${tasksParameter}::jsonb) AS ${EVENT_TASK_RECORD}
           RETURNING id`;
}

/** The parameter {@link eventTasksInsertSql} reads the tasks from. */
export function eventTasksParameter(tasks: readonly NewTask[]): string {
  return JSON.stringify(
    tasks.map((t) => ({
      task_id: t.taskId,
      task_type: t.taskType,
      repository: t.repository,
      pr_number: t.prNumber,
      branch: t.branch,
      commit_sha: t.commitSha,
      input_data: t.inputData,
      max_retries: t.maxRetries,
    })),
  );
}

/**
 * Every way a `workflow_tasks` row comes into being: with its event at intake (the statement
 * part above), a reprocess's new round, an agent trigger created by the task that found it,
 * an operator's cleanup, and delivery recovery (asked for or scheduled). Each method runs on
 * the caller's connection or transaction (`db`/`m`), so what the caller writes with the tasks
 * commits or rolls back with them.
 */
@Injectable()
export class TaskCreationRepository {
  /** Tasks of a reprocess's new round for an existing event, in one statement. */
  async createReprocessRound(db: Queryable, eventId: number, tasks: NewTask[]): Promise<void> {
    if (tasks.length === 0) return;
    await db.query(`WITH ev AS (SELECT $1::bigint AS id) ${eventTasksInsertSql('ev', '$2')}`, [
      eventId,
      eventTasksParameter(tasks),
    ]);
  }

  /**
   * A child task (an agent trigger) of the task that found it, in the finishing attempt's
   * transaction: the parent's event, repository, PR, branch and commit unless the draft names
   * its own PR, branch or commit. A child whose dedupe key is already live is not created: returns null (a
   * savepoint keeps the conflict from aborting the caller's transaction).
   */
  async createChild(
    m: EntityManager,
    parent: WorkflowTaskEntity,
    child: ChildTaskDraft,
  ): Promise<string | null> {
    const taskId = randomUUID();
    await m.query('SAVEPOINT child_insert');
    try {
      await m.query(
        `INSERT INTO workflow_tasks (task_id, webhook_event_id, parent_task_id, task_type, status,
           repository, pr_number, branch, commit_sha, input_data, max_retries, dedupe_key)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9::jsonb, $10, $11)`,
        [
          taskId,
          parent.webhookEventId,
          parent.id,
          child.taskType,
          parent.repository,
          child.prNumber ?? parent.prNumber,
          child.branch !== undefined ? child.branch : parent.branch,
          child.commitSha ?? parent.commitSha,
          JSON.stringify(child.inputData),
          parent.maxRetries,
          child.dedupeKey,
        ],
      );
      await m.query('RELEASE SAVEPOINT child_insert');
      return taskId;
    } catch (error) {
      await m.query('ROLLBACK TO SAVEPOINT child_insert');
      if (isUniqueViolation(error) && child.dedupeKey) return null;
      throw error;
    }
  }

  /** A tracked cleanup (retention) task an operator asked for; pending, the caller enqueues it. */
  async createCleanup(
    db: Queryable,
    settings: { retentionDays: number; batchSize: number; requestedBy: string },
  ): Promise<string> {
    const taskId = randomUUID();
    const rows = returnedRows(
      await db.query(
        `INSERT INTO workflow_tasks (task_id, task_type, status, input_data, max_retries)
         VALUES ($1, 'cleanup', 'pending', $2::jsonb, 1) RETURNING id`,
        [
          taskId,
          JSON.stringify({
            retention_days: settings.retentionDays,
            batch_size: settings.batchSize,
            requested_by: settings.requestedBy,
          }),
        ],
      ),
    );
    if (rows.length !== 1) throw new Error('could not create the cleanup task');
    return taskId;
  }

  /** A tracked `delivery_recovery` task; pending, the caller enqueues it. */
  async createRecovery(
    db: Queryable,
    trigger: DeliveryRecoveryTrigger,
    requestedBy: string,
  ): Promise<string> {
    const taskId = randomUUID();
    const rows = returnedRows(
      await db.query(
        `INSERT INTO workflow_tasks (task_id, task_type, status, input_data, max_retries)
         VALUES ($1, $2, 'pending', $3::jsonb, 2) RETURNING id`,
        [taskId, TaskType.DeliveryRecovery, recoveryInput(trigger, requestedBy)],
      ),
    );
    if (rows.length !== 1) throw new Error('could not create the delivery recovery task');
    return taskId;
  }

  /**
   * A scheduled `delivery_recovery` task unless one is live or one was created less than
   * `intervalMs` ago; returns its id, or null. The caller serialises concurrent schedulers
   * (its transaction holds the schedule lock), so the check and the insert are not raced.
   */
  async createScheduledRecoveryIfDue(db: Queryable, intervalMs: number): Promise<string | null> {
    const rows = returnedRows<{ task_id: string }>(
      await db.query(
        `INSERT INTO workflow_tasks (task_id, task_type, status, input_data, max_retries)
         SELECT $1::uuid, $2::varchar, 'pending', $3::jsonb, 2
         WHERE NOT EXISTS (
           SELECT 1 FROM workflow_tasks
           WHERE task_type = $2::varchar AND (status IN ('pending', 'queued', 'running')
             OR created_at > now() - ($4::bigint * interval '1 millisecond')))
         RETURNING task_id`,
        [
          randomUUID(),
          TaskType.DeliveryRecovery,
          recoveryInput('schedule', 'scheduler'),
          intervalMs,
        ],
      ),
    );
    return rows[0]?.task_id ?? null;
  }
}

function recoveryInput(trigger: DeliveryRecoveryTrigger, requestedBy: string): string {
  return JSON.stringify({ trigger, requested_by: requestedBy.slice(0, 255) });
}
