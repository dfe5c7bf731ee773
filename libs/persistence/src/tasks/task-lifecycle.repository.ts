import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { InstallationChange, TaskStatus, TaskType } from '@app/domain';
import { isUniqueViolation, returnedRows, updatedCount } from '../database/sql-results';
import { WebhookEventRepository } from '../events/webhook-event.repository';
import { TaskExecutionRepository } from '../executions/task-execution.repository';
import { accessLossOf } from '../installations/installation-access';
import {
  ChildTaskDraft,
  ClaimedTask,
  FinishOutcome,
  FinishResult,
  OperatorRetryResult,
} from './claimed-task';
import { TaskCreationRepository } from './task-creation.repository';
import { WorkflowTaskEntity } from './workflow-task.entity';

/**
 * The attempt lifecycle of a task: claim, wait, retry (an attempt's, or an operator's), hold, and
 * every way a task ends. Tasks are created by TaskCreationRepository (children through it, in
 * the finishing transaction). This is
 * the one place a task reaches `completed`, `failed` or `cancelled` (the runner, the agent-run
 * poller, the relay, supersession and lost installation access all end tasks through it), and
 * each ending settles its event's processed state in the same transaction. Every change is a
 * single conditional UPDATE, so two workers racing on one task cannot both win, and a stale
 * attempt cannot overwrite a newer one.
 */
@Injectable()
export class TaskLifecycleRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: WebhookEventRepository,
    private readonly executions: TaskExecutionRepository,
    private readonly creation: TaskCreationRepository,
  ) {}

  findByTaskId(taskId: string): Promise<WorkflowTaskEntity | null> {
    return this.dataSource.getRepository(WorkflowTaskEntity).findOne({ where: { taskId } });
  }

  /**
   * Takes a task for one attempt: pending/queued → running. A running task is taken over too:
   * Bull hands out an active job again only when its worker stopped renewing the lock (it died).
   * A terminal task is left alone (returns null), which makes at-least-once delivery safe.
   */
  async claimForRun(
    taskId: string,
    workerId: string,
    queueName: string,
    leaseMs: number,
  ): Promise<ClaimedTask | null> {
    return this.dataSource.transaction(async (m) => {
      const claimToken = randomUUID();
      const rows = returnedRows<{ id: string }>(
        await m.query(
          `UPDATE workflow_tasks
           SET status = 'running', claim_token = $2,
               -- Taking over from a dead worker uses up an attempt, so a task that kills its
               -- worker every time cannot loop forever.
               retry_count = retry_count + CASE WHEN status = 'running' THEN 1 ELSE 0 END,
               lease_expires_at = now() + ($3::int * interval '1 millisecond'),
               started_at = coalesce(started_at, now()), updated_at = now()
         WHERE task_id = $1 AND status IN ('pending', 'queued', 'running')
         RETURNING id`,
          [taskId, claimToken, leaseMs],
        ),
      );
      const row = rows[0];
      if (!row) return null;
      const id = Number(row.id);
      const abandonedExecutions = await this.executions.abandonRunningOf(
        m,
        id,
        'worker stopped before finishing this attempt',
      );
      const task = await m.getRepository(WorkflowTaskEntity).findOneByOrFail({ id });
      const attempt = task.retryCount + 1;
      const executionId = await this.executions.open(m, {
        taskRowId: id,
        attempt,
        workerId,
        queueName,
      });
      return { task, claimToken, executionId, attempt, abandonedExecutions };
    });
  }

  /**
   * Ends an attempt with a final outcome. Children (agent triggers) are inserted in the same
   * transaction; a child whose dedupe key is already live is not created and is reported as
   * joined. Returns null when the claim was lost (another worker took the task over).
   */
  async finish(
    claim: ClaimedTask,
    outcome: FinishOutcome,
    children: ChildTaskDraft[] = [],
  ): Promise<FinishResult | null> {
    return this.dataSource
      .transaction(async (m) => {
        const status =
          outcome.kind === 'completed'
            ? TaskStatus.Completed
            : outcome.kind === 'cancelled'
              ? TaskStatus.Cancelled
              : TaskStatus.Failed;
        const created: Array<{ taskId: string; taskType: TaskType }> = [];
        const joined: string[] = [];
        const output: Record<string, unknown> = { ...(outcome.outputData ?? {}) };
        if (status === TaskStatus.Completed) {
          for (const child of children) {
            const childId = await this.creation.createChild(m, claim.task, child);
            if (childId) created.push({ taskId: childId, taskType: child.taskType });
            else if (child.dedupeKey) joined.push(child.dedupeKey);
          }
          if (created.length > 0) output.child_task_ids = created.map((c) => c.taskId);
          if (joined.length > 0) output.joined_existing = joined;
        }
        const reason =
          outcome.kind === 'failed'
            ? outcome.error
            : outcome.kind === 'cancelled'
              ? outcome.reason
              : null;
        const rows: unknown[] = await m.query(
          `UPDATE workflow_tasks
           SET status = $3, output_data = $4::jsonb, error_message = $5,
               completed_at = now(), updated_at = now(), claim_token = NULL, lease_expires_at = NULL,
               codegen_task_id = coalesce($6, codegen_task_id),
               codegen_task_url = coalesce($7, codegen_task_url)
         WHERE id = $1 AND claim_token = $2 AND status = 'running'
         RETURNING id`,
          [
            claim.task.id,
            claim.claimToken,
            status,
            JSON.stringify(output),
            reason?.slice(0, 4000) ?? null,
            outcome.kind === 'completed' ? (outcome.codegen?.id ?? null) : null,
            outcome.kind === 'completed' ? (outcome.codegen?.url ?? null) : null,
          ],
        );
        if (updatedCount(rows) === 0) {
          // Roll back the children too: the attempt that owns the task now decides.
          throw new LostClaimError();
        }
        await this.executions.close(
          m,
          claim.executionId,
          status === TaskStatus.Failed ? 'failed' : 'completed',
          reason,
        );
        if (claim.task.webhookEventId !== null)
          await this.events.markProcessedIfDone(m, [claim.task.webhookEventId]);
        return { children: created, joined };
      })
      .catch(async (error: unknown) => {
        if (!(error instanceof LostClaimError)) throw error;
        await this.abandonExecution(
          claim,
          'the task changed while this attempt ran (cancelled or taken over)',
        );
        return null;
      });
  }

  /** Closes an attempt whose result no longer counts. */
  async abandonExecution(claim: ClaimedTask, reason: string): Promise<void> {
    await this.executions.abandon(claim.executionId, reason);
  }

  /**
   * Keeps a task `running` after its attempt handed over to a follow-up (an agent run being
   * polled): the output so far is saved and the lease extended; the execution stays open.
   */
  async markWaiting(
    claim: ClaimedTask,
    outputData: Record<string, unknown>,
    leaseMs: number,
  ): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `UPDATE workflow_tasks SET output_data = $3::jsonb, updated_at = now(),
         lease_expires_at = now() + ($4::int * interval '1 millisecond')
       WHERE id = $1 AND claim_token = $2 AND status = 'running' RETURNING id`,
      [claim.task.id, claim.claimToken, JSON.stringify(outputData), leaseMs],
    );
    return updatedCount(rows) > 0;
  }

  /** The current claim of a running task, for follow-up jobs that finish it later. */
  async currentClaim(taskId: string): Promise<ClaimedTask | null> {
    const task = await this.findByTaskId(taskId);
    if (!task || task.status !== TaskStatus.Running || !task.claimToken) return null;
    const running = await this.executions.runningAttemptOf(task.id);
    return {
      task,
      claimToken: task.claimToken,
      executionId: running?.id ?? 0,
      attempt: running?.attempt ?? task.retryCount + 1,
      abandonedExecutions: 0,
    };
  }

  /** Pushes a running task's lease forward (a follow-up is still working on it). */
  async extendLease(claim: ClaimedTask, leaseMs: number): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `UPDATE workflow_tasks SET lease_expires_at = now() + ($3::int * interval '1 millisecond'), updated_at = now()
       WHERE id = $1 AND claim_token = $2 AND status = 'running' RETURNING id`,
      [claim.task.id, claim.claimToken, leaseMs],
    );
    return updatedCount(rows) > 0;
  }

  /** Ends an attempt that will be retried: back to queued, with the error kept for operators. */
  async scheduleRetry(claim: ClaimedTask, error: string): Promise<boolean> {
    return this.dataSource.transaction(async (m) => {
      const rows: unknown[] = await m.query(
        `UPDATE workflow_tasks
           SET status = 'queued', retry_count = retry_count + 1, error_message = $3,
               claim_token = NULL, lease_expires_at = NULL, updated_at = now()
         WHERE id = $1 AND claim_token = $2 AND status = 'running'
         RETURNING id`,
        [claim.task.id, claim.claimToken, error.slice(0, 4000)],
      );
      if (updatedCount(rows) === 0) return false;
      await this.executions.close(m, claim.executionId, 'retrying', error);
      return true;
    });
  }

  /**
   * Ends an attempt that stopped to wait out a rate limit: back to queued without spending it
   * (retry_count unchanged, so the next attempt has the same number); the execution is closed
   * as `held` and the task's error_message says what it waits for until it runs again.
   */
  async holdForRateLimit(claim: ClaimedTask, reason: string): Promise<boolean> {
    return this.dataSource.transaction(async (m) => {
      const rows: unknown[] = await m.query(
        `UPDATE workflow_tasks
           SET status = 'queued', error_message = $3,
               claim_token = NULL, lease_expires_at = NULL, updated_at = now()
         WHERE id = $1 AND claim_token = $2 AND status = 'running'
         RETURNING id`,
        [claim.task.id, claim.claimToken, reason.slice(0, 4000)],
      );
      if (updatedCount(rows) === 0) return false;
      await this.executions.close(m, claim.executionId, 'held', reason);
      return true;
    });
  }

  /**
   * Running task whose lease passed (its worker is gone and no job holds it) → queued again,
   * using up an attempt; once attempts are spent it fails instead. Returns the new status.
   */
  async requeueExpired(taskId: string): Promise<'queued' | 'failed' | null> {
    return this.dataSource.transaction(async (m) => {
      const rows = returnedRows<{ id: string; status: string; webhook_event_id: string | null }>(
        await m.query(
          `UPDATE workflow_tasks SET
             status = CASE WHEN retry_count >= max_retries THEN 'failed' ELSE 'queued' END,
             retry_count = least(retry_count + 1, max_retries + 1),
             error_message = CASE WHEN retry_count >= max_retries
               THEN 'no worker finished this task: every attempt stopped or timed out' ELSE error_message END,
             completed_at = CASE WHEN retry_count >= max_retries THEN now() ELSE NULL END,
             claim_token = NULL, lease_expires_at = NULL, updated_at = now()
           WHERE task_id = $1 AND status = 'running' AND lease_expires_at < now()
           RETURNING id, status, webhook_event_id`,
          [taskId],
        ),
      );
      const row = rows[0];
      if (!row) return null;
      await this.executions.abandonRunningOf(
        m,
        Number(row.id),
        'lease expired: the worker running this attempt stopped',
      );
      if (row.status === 'failed' && row.webhook_event_id !== null) {
        await this.events.markProcessedIfDone(m, [Number(row.webhook_event_id)]);
      }
      return row.status as 'queued' | 'failed';
    });
  }

  /**
   * An operator's retry: failed/cancelled → pending, keeping its history (retry count,
   * executions); exhausted retries need `force`. The row is locked while deciding, so two
   * operators at once cannot both win; its event is live again until the task ends.
   */
  async retryByOperator(taskId: string, force: boolean): Promise<OperatorRetryResult> {
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
   * A newer head SHA makes older work on the same PR pointless: live analyses and agent
   * triggers not yet started are cancelled (`superseded by <sha>`). Agent runs already running
   * are left alone. Returns the cancelled task ids.
   */
  async cancelSuperseded(current: WorkflowTaskEntity): Promise<string[]> {
    if (!current.repository || current.prNumber === null || !current.commitSha) return [];
    return this.dataSource.transaction(async (m) => {
      const rows = returnedRows<{ task_id: string; webhook_event_id: string | null }>(
        await m.query(
          `UPDATE workflow_tasks SET status = 'cancelled', error_message = $4, completed_at = now(),
             updated_at = now(), claim_token = NULL, lease_expires_at = NULL
           WHERE repository = $1 AND pr_number = $2 AND commit_sha IS DISTINCT FROM $3
             AND id < $5
             AND (
               (task_type IN ('pull_request_analysis', 'check_failure_analysis', 'check_suite_failure_analysis')
                 AND status IN ('pending', 'queued', 'running'))
               OR (task_type = 'codegen_trigger' AND status IN ('pending', 'queued'))
             )
           RETURNING task_id, webhook_event_id`,
          [
            current.repository,
            current.prNumber,
            current.commitSha,
            `superseded by ${current.commitSha}`,
            current.id,
          ],
        ),
      );
      await this.events.markProcessedIfDone(m, eventIdsOf(rows));
      return rows.map((r) => r.task_id);
    });
  }

  /**
   * Cancels the tasks that would call GitHub as an installation that lost access: live tasks not
   * yet started (`pending`, `queued`) whose event came through that installation, for every
   * repository or the removed ones. Running tasks are left to finish or fail on their own. Events
   * left without a live task become processed. Runs inside the caller's transaction (the one
   * storing the installation event).
   * @returns how many tasks were cancelled
   */
  async cancelForLostAccess(m: EntityManager, change: InstallationChange): Promise<number> {
    const loss = accessLossOf(change);
    if (loss === null) return 0;
    const repositories =
      loss.scope === 'repositories' ? loss.repositories.map((r) => r.toLowerCase()) : null;
    const rows = returnedRows<{ webhook_event_id: string }>(
      await m.query(
        `UPDATE workflow_tasks t
         SET status = 'cancelled', error_message = $3, completed_at = now(), updated_at = now(),
             claim_token = NULL, lease_expires_at = NULL
         FROM webhook_events e
         WHERE e.id = t.webhook_event_id AND e.installation_id = $1
           AND t.status IN ('pending', 'queued')
           AND ($2::text[] IS NULL OR lower(t.repository) = ANY($2::text[]))
         RETURNING t.webhook_event_id`,
        [change.installationId, repositories, loss.reason],
      ),
    );
    await this.events.markProcessedIfDone(m, eventIdsOf(rows));
    return rows.length;
  }
}

class LostClaimError extends Error {}

function eventIdsOf(rows: Array<{ webhook_event_id: string | null }>): number[] {
  const ids = rows.map((r) => r.webhook_event_id).filter((id): id is string => id !== null);
  return [...new Set(ids)].map(Number);
}
