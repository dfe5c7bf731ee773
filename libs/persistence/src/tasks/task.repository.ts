import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { TaskExecutionEntity } from '../executions/task-execution.entity';
import { TaskStatus, TaskType } from '@app/domain';
import { WorkflowTaskEntity } from './workflow-task.entity';

/** What a worker holds while it runs one attempt of a task. */
export interface ClaimedTask {
  task: WorkflowTaskEntity;
  claimToken: string;
  executionId: number;
  attempt: number;
  /** Executions left `running` by a worker that died, now marked abandoned. */
  abandonedExecutions: number;
}

export interface ChildTaskDraft {
  taskType: TaskType;
  inputData: Record<string, unknown>;
  dedupeKey: string | null;
  /** When the child concerns another PR than its parent (a PR found by head SHA). */
  prNumber?: number;
  branch?: string | null;
}

export type FinishOutcome =
  | {
      kind: 'completed';
      outputData: Record<string, unknown>;
      codegen?: { id: string; url: string | null };
    }
  | { kind: 'failed'; error: string; outputData?: Record<string, unknown> }
  | { kind: 'cancelled'; reason: string; outputData?: Record<string, unknown> };

const UNIQUE_VIOLATION = '23505';

/**
 * Task state changes for the worker. Every change is a single conditional UPDATE, so two
 * workers racing on one task cannot both win, and a stale attempt cannot overwrite a newer one.
 */
export class TaskRepository {
  constructor(private readonly dataSource: DataSource) {}

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
      const rows = returnedRows<WorkflowTaskRow>(
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
      const abandoned = returnedRows(
        await m.query(
          `UPDATE task_executions SET status = 'abandoned', completed_at = now(),
           duration_ms = (extract(epoch FROM now() - started_at) * 1000)::int,
           error_message = 'worker stopped before finishing this attempt'
         WHERE task_id = $1 AND status = 'running' RETURNING id`,
          [id],
        ),
      );
      const task = await m.getRepository(WorkflowTaskEntity).findOneByOrFail({ id });
      const attempt = task.retryCount + 1;
      const execution = await m.getRepository(TaskExecutionEntity).save({
        executionId: randomUUID(),
        taskId: id,
        attempt,
        status: 'running',
        startedAt: new Date(),
        workerId: workerId.slice(0, 128),
        queueName,
        completedAt: null,
        durationMs: null,
        errorMessage: null,
      });
      return {
        task,
        claimToken,
        executionId: execution.id,
        attempt,
        abandonedExecutions: abandoned.length,
      };
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
  ): Promise<{ children: Array<{ taskId: string; taskType: TaskType }>; joined: string[] } | null> {
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
            const childId = await this.insertChild(m, claim.task, child);
            if (childId) created.push({ taskId: childId, taskType: child.taskType });
            else if (child.dedupeKey) joined.push(child.dedupeKey);
          }
          if (created.length > 0) output.child_task_ids = created.map((c) => c.taskId);
          if (joined.length > 0) output.joined_existing = joined;
        }
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
            outcome.kind === 'failed'
              ? outcome.error.slice(0, 4000)
              : outcome.kind === 'cancelled'
                ? outcome.reason.slice(0, 4000)
                : null,
            outcome.kind === 'completed' ? (outcome.codegen?.id ?? null) : null,
            outcome.kind === 'completed' ? (outcome.codegen?.url ?? null) : null,
          ],
        );
        if (updatedCount(rows) === 0) {
          // Roll back the children too: the attempt that owns the task now decides.
          throw new LostClaimError();
        }
        await this.closeExecution(
          m,
          claim,
          status === TaskStatus.Failed ? 'failed' : 'completed',
          outcome.kind === 'failed'
            ? outcome.error
            : outcome.kind === 'cancelled'
              ? outcome.reason
              : null,
        );
        if (claim.task.webhookEventId !== null)
          await this.markEventProcessedIfDone(m, claim.task.webhookEventId);
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
    await this.dataSource.query(
      `UPDATE task_executions SET status = 'abandoned', completed_at = now(),
         duration_ms = greatest(0, (extract(epoch FROM now() - started_at) * 1000))::int, error_message = $2
       WHERE id = $1 AND status = 'running'`,
      [claim.executionId, reason],
    );
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
    const task = await this.dataSource
      .getRepository(WorkflowTaskEntity)
      .findOne({ where: { taskId } });
    if (!task || task.status !== TaskStatus.Running || !task.claimToken) return null;
    const rows = await this.dataSource.query<Array<{ id: string; attempt: number }>>(
      `SELECT id, attempt FROM task_executions WHERE task_id = $1 AND status = 'running' ORDER BY id DESC LIMIT 1`,
      [task.id],
    );
    return {
      task,
      claimToken: task.claimToken,
      executionId: rows[0] ? Number(rows[0].id) : 0,
      attempt: rows[0]?.attempt ?? task.retryCount + 1,
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
      const events = new Set(
        rows.map((r) => r.webhook_event_id).filter((id): id is string => id !== null),
      );
      for (const eventId of events) await this.markEventProcessedIfDone(m, Number(eventId));
      return rows.map((r) => r.task_id);
    });
  }

  /** Agent runs started for a PR in the last 24 hours (runaway guard). */
  async countRecentAgentRuns(repository: string, prNumber: number): Promise<number> {
    const rows = await this.dataSource.query<Array<{ n: string }>>(
      `SELECT count(*) AS n FROM workflow_tasks
       WHERE task_type = 'codegen_trigger' AND repository = $1 AND pr_number = $2
         AND codegen_task_id IS NOT NULL AND created_at > now() - interval '24 hours'`,
      [repository, prNumber],
    );
    return Number(rows[0].n);
  }

  /**
   * Agent triggers the trust gate held back (cancelled `untrusted: …`) for this PR at this head
   * SHA go back to `pending`, each at most once: the conditional UPDATE lets one caller win,
   * and a trigger whose commit already has another live or finished trigger stays held (the
   * dedupe index refuses it). Returns the released task ids and their attempts left.
   */
  async releaseHeldTriggers(
    repository: string,
    prNumber: number,
    headSha: string,
  ): Promise<Array<{ taskId: string; attemptsLeft: number }>> {
    return this.dataSource.transaction(async (m) => {
      const held = await m.query<
        Array<{ id: string; task_id: string; webhook_event_id: string | null }>
      >(
        `SELECT id, task_id, webhook_event_id FROM workflow_tasks
         WHERE task_type = 'codegen_trigger' AND repository = $1 AND pr_number = $2
           AND lower(commit_sha) = lower($3) AND status = 'cancelled' AND error_message LIKE 'untrusted:%'
         ORDER BY id FOR UPDATE`,
        [repository, prNumber, headSha],
      );
      const released: Array<{ taskId: string; attemptsLeft: number }> = [];
      for (const row of held) {
        await m.query('SAVEPOINT release_held');
        try {
          const rows = returnedRows<{ retry_count: number; max_retries: number }>(
            await m.query(
              `UPDATE workflow_tasks SET status = 'pending', error_message = NULL, completed_at = NULL,
                 claim_token = NULL, lease_expires_at = NULL, agent_run_requested_at = NULL,
                 output_data = coalesce(output_data, '{}'::jsonb) || jsonb_build_object('released_by_trust_label', now()),
                 updated_at = now()
               WHERE id = $1 AND status = 'cancelled' AND error_message LIKE 'untrusted:%'
               RETURNING retry_count, max_retries`,
              [row.id],
            ),
          );
          await m.query('RELEASE SAVEPOINT release_held');
          if (rows.length === 0) continue;
          if (row.webhook_event_id !== null)
            await m.query(
              `UPDATE webhook_events SET processed = false, processing_completed_at = NULL, updated_at = now()
               WHERE id = $1`,
              [row.webhook_event_id],
            );
          released.push({
            taskId: row.task_id,
            attemptsLeft: Math.max(1, rows[0].max_retries + 1 - rows[0].retry_count),
          });
        } catch (error) {
          await m.query('ROLLBACK TO SAVEPOINT release_held');
          if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
        }
      }
      return released;
    });
  }

  /**
   * The head SHA a newer `synchronize` of the task's pull request moved to, or null: a running
   * agent run for an older head has been overtaken.
   */
  async newerHeadSha(task: WorkflowTaskEntity): Promise<string | null> {
    if (!task.repository || task.prNumber === null || !task.commitSha) return null;
    const rows = await this.dataSource.query<Array<{ commit_sha: string }>>(
      `SELECT commit_sha FROM workflow_tasks
        WHERE repository = $1 AND pr_number = $2 AND id > $4
          AND task_type = 'pull_request_analysis' AND input_data->>'action' = 'synchronize'
          AND commit_sha IS NOT NULL AND lower(commit_sha) <> lower($3)
        ORDER BY id DESC LIMIT 1`,
      [task.repository, task.prNumber, task.commitSha, task.id],
    );
    return rows[0]?.commit_sha ?? null;
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
      await this.closeExecution(m, claim, 'retrying', error);
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
      await this.closeExecution(m, claim, 'held', reason);
      return true;
    });
  }

  /**
   * Saves an agent run id as soon as Codegen returns it, so an attempt that crashes afterwards
   * is not followed by a second run for the same task.
   */
  async recordAgentRun(claim: ClaimedTask, runId: string, url: string | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE workflow_tasks SET codegen_task_id = $3, codegen_task_url = $4, updated_at = now()
       WHERE id = $1 AND claim_token = $2`,
      [claim.task.id, claim.claimToken, runId.slice(0, 128), url],
    );
  }

  /**
   * Notes that an agent run is being requested (or, with false, that Codegen provably did not
   * start it). False when the claim was lost: the caller must then not ask Codegen.
   */
  async markAgentRunRequested(claim: ClaimedTask, requested: boolean): Promise<boolean> {
    const rows: unknown = await this.dataSource.query(
      `UPDATE workflow_tasks
          SET agent_run_requested_at = CASE WHEN $3::boolean THEN now() ELSE NULL END,
              updated_at = now()
        WHERE id = $1 AND claim_token = $2
        RETURNING id`,
      [claim.task.id, claim.claimToken, requested],
    );
    return updatedCount(rows) > 0;
  }

  /** The task's type and the GitHub installation of its event (null: none, or no event). */
  async githubScopeOf(
    taskId: string,
  ): Promise<{ taskType: TaskType; installationId: number | null } | null> {
    const rows: Array<{ task_type: TaskType; installation_id: string | null }> =
      await this.dataSource.query(
        `SELECT t.task_type, e.installation_id
           FROM workflow_tasks t
           LEFT JOIN webhook_events e ON e.id = t.webhook_event_id
          WHERE t.task_id = $1`,
        [taskId],
      );
    const row = rows[0];
    if (!row) return null;
    return {
      taskType: row.task_type,
      installationId: row.installation_id === null ? null : Number(row.installation_id),
    };
  }

  /** Marks tasks as handed to Bull; only those still pending change. */
  async markQueued(taskIds: string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.dataSource.query(
      `UPDATE workflow_tasks SET status = 'queued', updated_at = now()
       WHERE task_id = ANY($1::uuid[]) AND status = 'pending'`,
      [taskIds],
    );
  }

  /** Pending tasks older than `olderThanMs`: committed but never handed to Bull. */
  async listStalePending(olderThanMs: number, limit: number): Promise<RelayCandidate[]> {
    return this.relayCandidates(
      `status = 'pending' AND updated_at < now() - ($1::int * interval '1 millisecond')`,
      olderThanMs,
      limit,
    );
  }

  /** Queued tasks not touched for a while; the relay checks their jobs still exist in Redis. */
  async listQuietQueued(olderThanMs: number, limit: number): Promise<RelayCandidate[]> {
    return this.relayCandidates(
      `status = 'queued' AND updated_at < now() - ($1::int * interval '1 millisecond')`,
      olderThanMs,
      limit,
    );
  }

  /** Running tasks whose lease passed: their worker is gone. */
  async listExpiredLeases(limit: number): Promise<RelayCandidate[]> {
    return this.relayCandidates(
      `status = 'running' AND lease_expires_at < now() - ($1::int * interval '1 millisecond')`,
      0,
      limit,
    );
  }

  /** Records that the relay looked at these tasks, so the next pass starts with others. */
  async touch(taskIds: string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.dataSource.query(
      `UPDATE workflow_tasks SET updated_at = now() WHERE task_id = ANY($1::uuid[])`,
      [taskIds],
    );
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
      await m.query(
        `UPDATE task_executions SET status = 'abandoned', completed_at = now(),
           duration_ms = greatest(0, (extract(epoch FROM now() - started_at) * 1000))::int,
           error_message = 'lease expired: the worker running this attempt stopped'
         WHERE task_id = $1 AND status = 'running'`,
        [row.id],
      );
      if (row.status === 'failed' && row.webhook_event_id !== null) {
        await this.markEventProcessedIfDone(m, Number(row.webhook_event_id));
      }
      return row.status as 'queued' | 'failed';
    });
  }

  private async relayCandidates(
    where: string,
    ageMs: number,
    limit: number,
  ): Promise<RelayCandidate[]> {
    const rows: Array<{
      task_id: string;
      task_type: TaskType;
      retry_count: number;
      max_retries: number;
    }> = await this.dataSource.query(
      `SELECT task_id, task_type, retry_count, max_retries FROM workflow_tasks
         WHERE ${where} ORDER BY updated_at LIMIT $2`,
      [ageMs, limit],
    );
    return rows.map((r) => ({
      taskId: r.task_id,
      taskType: r.task_type,
      attemptsLeft: Math.max(1, r.max_retries + 1 - r.retry_count),
    }));
  }

  private async insertChild(
    m: EntityManager,
    parent: WorkflowTaskEntity,
    child: ChildTaskDraft,
  ): Promise<string | null> {
    const taskId = randomUUID();
    // A savepoint keeps a dedupe conflict from aborting the whole transaction.
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
          parent.commitSha,
          JSON.stringify(child.inputData),
          parent.maxRetries,
          child.dedupeKey,
        ],
      );
      await m.query('RELEASE SAVEPOINT child_insert');
      return taskId;
    } catch (error) {
      await m.query('ROLLBACK TO SAVEPOINT child_insert');
      if ((error as { code?: string }).code === UNIQUE_VIOLATION && child.dedupeKey) return null;
      throw error;
    }
  }

  private async closeExecution(
    m: EntityManager,
    claim: ClaimedTask,
    status: 'completed' | 'failed' | 'retrying' | 'held',
    error: string | null,
  ): Promise<void> {
    await m.query(
      `UPDATE task_executions SET status = $2, completed_at = now(),
         duration_ms = greatest(0, (extract(epoch FROM now() - started_at) * 1000))::int,
         error_message = $3
       WHERE id = $1`,
      [claim.executionId, status, error?.slice(0, 4000) ?? null],
    );
  }

  /** An event is processed once none of its tasks is live; its error names the failed ones. */
  private async markEventProcessedIfDone(m: EntityManager, eventId: number): Promise<void> {
    await m.query(
      `UPDATE webhook_events e SET processed = true, processing_completed_at = now(), updated_at = now(),
         error_message = (
           SELECT CASE WHEN count(*) = 0 THEN NULL
             ELSE count(*) || ' task(s) failed: ' || string_agg(t.task_type, ', ' ORDER BY t.id) END
           FROM workflow_tasks t WHERE t.webhook_event_id = e.id AND t.status = 'failed'
             -- Only this round: tasks replaced by a reprocess are history.
             AND t.created_at >= coalesce(e.processing_started_at, '-infinity'))
       WHERE e.id = $1 AND NOT EXISTS (
         SELECT 1 FROM workflow_tasks t
         WHERE t.webhook_event_id = e.id AND t.status IN ('pending', 'queued', 'running'))`,
      [eventId],
    );
  }
}

export interface RelayCandidate {
  taskId: string;
  taskType: TaskType;
  attemptsLeft: number;
}

interface WorkflowTaskRow {
  id: string;
}

class LostClaimError extends Error {}

/** TypeORM's postgres driver returns `[rows, count]` for UPDATE/DELETE and plain rows otherwise. */
export function returnedRows<T = unknown>(result: unknown): T[] {
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return Array.isArray(result) ? (result as T[]) : [];
}

function updatedCount(result: unknown): number {
  return returnedRows(result).length;
}
