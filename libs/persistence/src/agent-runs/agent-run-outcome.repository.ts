import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type {
  AgentOutcome,
  AgentRunRecord,
  CheckObservation,
  CheckScope,
  OutcomeDecision,
} from '@app/domain';

/** A new outcome row, written when a trigger starts an agent run for a failure. */
export interface NewAgentRunOutcome {
  taskId: string;
  repository: string;
  prNumber: number | null;
  triggerKind: string;
  checkScope: CheckScope;
  failingChecks: string[];
  failingCheckCompletedAt: Date | null;
  headSha: string;
  codegenRunId: string | null;
  codegenStatus: string | null;
  webUrl: string | null;
  /** The task id of the run this one follows up; null for a first run. */
  followUpOf: string | null;
  /** How many follow-ups preceded this run in its chain (0 for a first run). */
  followUpCount: number;
}

/** One stored outcome. */
export interface StoredAgentRunOutcome extends AgentRunRecord {
  id: string;
  taskId: string;
  repository: string;
  triggerKind: string;
  codegenRunId: string | null;
  codegenStatus: string | null;
  webUrl: string | null;
  judgedSha: string | null;
  failedAgain: string[];
  timeToGreenSeconds: number | null;
  followUpOf: string | null;
  followUpCount: number;
  createdAt: Date;
  judgedAt: Date | null;
}

/** The outcome before and after an event that changed it. */
export interface OutcomeChange {
  before: StoredAgentRunOutcome;
  after: StoredAgentRunOutcome;
  decision: OutcomeDecision;
}

interface Row {
  id: string;
  task_id: string;
  repository: string;
  pr_number: number | null;
  trigger_kind: string;
  check_scope: CheckScope;
  failing_checks: string[];
  failing_check_completed_at: Date | null;
  head_sha: string;
  codegen_run_id: string | null;
  codegen_status: string | null;
  web_url: string | null;
  agent_pr_numbers: number[];
  agent_head_sha: string | null;
  observations: CheckObservation[];
  outcome: AgentOutcome;
  judged_sha: string | null;
  failed_again: string[];
  time_to_green_seconds: number | null;
  follow_up_of: string | null;
  follow_up_count: number;
  created_at: Date;
  finished_at: Date | null;
  judged_at: Date | null;
}

const COLUMNS = `id::text AS id, task_id, repository, pr_number, trigger_kind, check_scope,
  failing_checks, failing_check_completed_at, head_sha, codegen_run_id, codegen_status, web_url,
  agent_pr_numbers, agent_head_sha, observations, outcome, judged_sha, failed_again,
  time_to_green_seconds, follow_up_of, follow_up_count, created_at, finished_at, judged_at`;

/**
 * The `agent_run_outcomes` table: what became of each agent run sent to fix a failing check.
 * Every change goes through {@link judge}, which holds the row lock while the domain rules
 * decide, so concurrent deliveries for one run are applied one after the other and a judged
 * outcome is never judged again.
 */
@Injectable()
export class AgentRunOutcomeRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores a pending outcome for a started run; false when the task already has one. */
  async createPending(input: NewAgentRunOutcome): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `INSERT INTO agent_run_outcomes (task_id, repository, pr_number, trigger_kind, check_scope,
         failing_checks, failing_check_completed_at, head_sha, codegen_run_id, codegen_status,
         web_url, follow_up_of, follow_up_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (task_id) DO NOTHING
       RETURNING 1`,
      [
        input.taskId,
        input.repository.toLowerCase(),
        input.prNumber,
        input.triggerKind,
        input.checkScope,
        input.failingChecks,
        input.failingCheckCompletedAt,
        input.headSha,
        input.codegenRunId,
        input.codegenStatus,
        input.webUrl,
        input.followUpOf,
        input.followUpCount,
      ],
    );
    return rows.length > 0;
  }

  async findByTaskId(taskId: string): Promise<StoredAgentRunOutcome | null> {
    const rows = await this.dataSource.query<Row[]>(
      `SELECT ${COLUMNS} FROM agent_run_outcomes WHERE task_id = $1`,
      [taskId],
    );
    return rows[0] ? toStored(rows[0]) : null;
  }

  /**
   * Task ids of the pending outcomes a check or synchronize delivery may concern: those of the
   * repository whose pull request, agent pull request or agent head commit it names; and, for a
   * completed check of a pull request, those whose run is still working and failed that check
   * (it may be on a pull request the agent opened and Codegen has not reported yet).
   */
  async pendingFor(
    repository: string,
    touching: {
      sha?: string | null;
      prNumbers: readonly number[];
      event?: { kind: string; scope?: string; name?: string };
    },
  ): Promise<string[]> {
    const check =
      touching.event?.kind === 'check_completed' && touching.prNumbers.length > 0
        ? touching.event
        : null;
    const rows = await this.dataSource.query<Array<{ task_id: string }>>(
      `SELECT task_id FROM agent_run_outcomes
       WHERE outcome = 'pending' AND repository = $1
         AND (pr_number = ANY($2::int[]) OR agent_pr_numbers && $2::int[]
              OR ($3::text IS NOT NULL AND agent_head_sha = $3)
              OR ($4::text IS NOT NULL AND finished_at IS NULL AND check_scope = $4
                  AND $5::text = ANY(failing_checks)))
       ORDER BY id`,
      [
        repository.toLowerCase(),
        [...touching.prNumbers],
        touching.sha ?? null,
        check?.scope ?? null,
        check?.name ?? null,
      ],
    );
    return rows.map((r) => r.task_id);
  }

  /**
   * The trigger whose run pushed `sha` (its recognised or judged commit), or null: a failure on
   * that commit belongs to the run's outcome and its follow-up, not to a new run.
   */
  async runThatPushed(repository: string, sha: string): Promise<string | null> {
    const rows = await this.dataSource.query<Array<{ task_id: string }>>(
      `SELECT task_id FROM agent_run_outcomes
       WHERE repository = $1 AND (agent_head_sha = $2 OR (judged_sha = $2 AND outcome IN ('fixed', 'still_failing')))
       ORDER BY id DESC LIMIT 1`,
      [repository.toLowerCase(), sha],
    );
    return rows[0]?.task_id ?? null;
  }

  /** Task ids of pending outcomes whose run ended before `finishedBefore` (no_change candidates). */
  async pendingFinishedBefore(finishedBefore: Date, limit: number): Promise<string[]> {
    const rows = await this.dataSource.query<Array<{ task_id: string }>>(
      `SELECT task_id FROM agent_run_outcomes
       WHERE outcome = 'pending' AND finished_at < $1
         AND agent_head_sha IS NULL AND agent_pr_numbers = '{}'
       ORDER BY finished_at LIMIT $2`,
      [finishedBefore, limit],
    );
    return rows.map((r) => r.task_id);
  }

  /**
   * Applies `decide` to the task's outcome under its row lock and stores the decision. Returns
   * the change, or null when there is no outcome or `decide` changes nothing. `run` updates the
   * Codegen fields alongside (they may change while the outcome stays pending).
   */
  async judge(
    taskId: string,
    decide: (current: StoredAgentRunOutcome) => OutcomeDecision | null,
    run?: { status: string | null; webUrl: string | null },
  ): Promise<OutcomeChange | null> {
    return this.dataSource.transaction(async (m) => {
      const before = await this.locked(m, taskId);
      if (!before) return null;
      const decision = decide(before);
      if (!decision) {
        if (run) await this.updateRun(m, taskId, run);
        return null;
      }
      const rows = await m.query<[Row[], number]>(
        `UPDATE agent_run_outcomes SET outcome = $2, agent_head_sha = $3, agent_pr_numbers = $4,
           finished_at = $5, observations = $6::jsonb, judged_sha = $7, judged_at = $8,
           time_to_green_seconds = $9, failed_again = $10,
           codegen_status = COALESCE($11, codegen_status), web_url = COALESCE($12, web_url),
           updated_at = now()
         WHERE task_id = $1
         RETURNING ${COLUMNS}`,
        [
          taskId,
          decision.outcome,
          decision.agentHeadSha,
          decision.agentPrNumbers,
          decision.finishedAt,
          JSON.stringify(decision.observations),
          decision.judgedSha,
          decision.judgedAt,
          decision.timeToGreenSeconds,
          [...new Set(decision.failedAgain.map((o) => o.name))],
          run?.status ?? null,
          run?.webUrl ?? null,
        ],
      );
      return { before, after: toStored(rows[0][0]), decision };
    });
  }

  /** Records Codegen's latest status and link for a run whose outcome did not change. */
  async recordRun(taskId: string, run: { status: string | null; webUrl: string | null }) {
    await this.updateRun(this.dataSource.manager, taskId, run);
  }

  private async locked(m: EntityManager, taskId: string): Promise<StoredAgentRunOutcome | null> {
    const rows = await m.query<Row[]>(
      `SELECT ${COLUMNS} FROM agent_run_outcomes WHERE task_id = $1 FOR UPDATE`,
      [taskId],
    );
    return rows[0] ? toStored(rows[0]) : null;
  }

  private async updateRun(
    m: EntityManager,
    taskId: string,
    run: { status: string | null; webUrl: string | null },
  ): Promise<void> {
    await m.query(
      `UPDATE agent_run_outcomes SET codegen_status = COALESCE($2, codegen_status),
         web_url = COALESCE($3, web_url), updated_at = now()
       WHERE task_id = $1
         AND (codegen_status IS DISTINCT FROM COALESCE($2, codegen_status)
              OR web_url IS DISTINCT FROM COALESCE($3, web_url))`,
      [taskId, run.status, run.webUrl],
    );
  }
}

function toStored(row: Row): StoredAgentRunOutcome {
  return {
    id: row.id,
    taskId: row.task_id,
    repository: row.repository,
    prNumber: row.pr_number,
    triggerKind: row.trigger_kind,
    checkScope: row.check_scope,
    failingChecks: row.failing_checks,
    failingCheckCompletedAt: row.failing_check_completed_at
      ? new Date(row.failing_check_completed_at)
      : null,
    headSha: row.head_sha,
    codegenRunId: row.codegen_run_id,
    codegenStatus: row.codegen_status,
    webUrl: row.web_url,
    agentPrNumbers: row.agent_pr_numbers,
    agentHeadSha: row.agent_head_sha,
    observations: row.observations,
    outcome: row.outcome,
    judgedSha: row.judged_sha,
    failedAgain: row.failed_again,
    timeToGreenSeconds: row.time_to_green_seconds,
    followUpOf: row.follow_up_of,
    followUpCount: row.follow_up_count,
    createdAt: new Date(row.created_at),
    finishedAt: row.finished_at ? new Date(row.finished_at) : null,
    judgedAt: row.judged_at ? new Date(row.judged_at) : null,
  };
}
