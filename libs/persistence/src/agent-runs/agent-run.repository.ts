import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isUniqueViolation, returnedRows, updatedCount } from '../database/sql-results';
import { WebhookEventRepository } from '../events/webhook-event.repository';
import type { ClaimedTask } from '../tasks/claimed-task';
import type { WorkflowTaskEntity } from '../tasks/workflow-task.entity';

/**
 * Agent-run bookkeeping on a task (`codegen_trigger`): the run Codegen started, whether one is
 * being asked for, the runaway guard's count, triggers the trust gate held back, and whether a
 * newer head overtook a running run. How a trigger ends is the task lifecycle's.
 */
@Injectable()
export class AgentRunRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: WebhookEventRepository,
  ) {}

  /**
   * Saves an agent run id as soon as Codegen returns it, so an attempt that crashes afterwards
   * is not followed by a second run for the same task. False when the claim was lost: an attempt
   * that woke up after another worker took its task over must not act on the run (comment on it).
   */
  async recordAgentRun(claim: ClaimedTask, runId: string, url: string | null): Promise<boolean> {
    const rows: unknown = await this.dataSource.query(
      `UPDATE workflow_tasks SET codegen_task_id = $3, codegen_task_url = $4, updated_at = now()
       WHERE id = $1 AND claim_token = $2 AND status = 'running' RETURNING id`,
      [claim.task.id, claim.claimToken, runId.slice(0, 128), url],
    );
    return updatedCount(rows) > 0;
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
   * The head SHA a newer `synchronize` of the task's pull request moved to, or null: a running
   * agent run for an older head has been overtaken. Pushes by `ignoredPushers` (the agent's own
   * logins) do not count: they are the run's work.
   */
  async newerHeadSha(
    task: WorkflowTaskEntity,
    ignoredPushers: readonly string[] = [],
  ): Promise<string | null> {
    if (!task.repository || task.prNumber === null || !task.commitSha) return null;
    const rows = await this.dataSource.query<Array<{ commit_sha: string }>>(
      `SELECT commit_sha FROM workflow_tasks
        WHERE repository = $1 AND pr_number = $2 AND id > $4
          AND task_type = 'pull_request_analysis' AND input_data->>'action' = 'synchronize'
          AND commit_sha IS NOT NULL AND lower(commit_sha) <> lower($3)
          AND NOT (lower(coalesce(input_data->>'sender_login', '')) = ANY($5::text[]))
        ORDER BY id DESC LIMIT 1`,
      [
        task.repository,
        task.prNumber,
        task.commitSha,
        task.id,
        ignoredPushers.map((l) => l.toLowerCase()),
      ],
    );
    return rows[0]?.commit_sha ?? null;
  }

  /**
   * Agent triggers the trust gate held back (cancelled `untrusted: …`) for this PR at this head
   * SHA go back to `pending`, each at most once: the conditional UPDATE lets one caller win,
   * and a trigger whose commit already has another live or finished trigger stays held (the
   * dedupe index refuses it). Their events are live again. Returns the released task ids and
   * their attempts left.
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
            await this.events.reopen(m, Number(row.webhook_event_id));
          released.push({
            taskId: row.task_id,
            attemptsLeft: Math.max(1, rows[0].max_retries + 1 - rows[0].retry_count),
          });
        } catch (error) {
          await m.query('ROLLBACK TO SAVEPOINT release_held');
          if (!isUniqueViolation(error)) throw error;
        }
      }
      return released;
    });
  }
}
