import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TaskType } from '@app/domain';
import { GithubClient } from '@app/github';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';

/** Task types whose handlers call the GitHub API (reads, or the PR comment of a trigger). */
const CALLS_GITHUB = new Set<TaskType>([
  TaskType.PullRequestAnalysis,
  TaskType.CheckFailureAnalysis,
  TaskType.CheckSuiteFailureAnalysis,
  TaskType.CodegenTrigger,
]);

/** Why a task was not started: its GitHub budget is low for another `waitMs`. */
export interface BudgetHold {
  installationId: number | null;
  waitMs: number;
}

/**
 * Keeps background work from burning a low GitHub budget: before a task that calls GitHub is
 * claimed, the budget of the installation it would call as (or of the token) is looked at, and
 * while fewer than GITHUB_RATE_LIMIT_RESERVE requests are left, the task is held until the
 * window resets, without an attempt or an execution row.
 *
 * Free while no budget is low: the task's installation is only looked up when some budget is.
 */
@Injectable()
export class GithubBudgetGate {
  constructor(
    private readonly github: GithubClient,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  /** The hold for `taskId`, or null when it may run now. */
  async holdFor(taskId: string): Promise<BudgetHold | null> {
    if (!this.anyBudgetLow()) return null;
    const rows: Array<{ task_type: string; installation_id: string | number | null }> =
      await this.dataSource.query(
        `SELECT t.task_type, e.installation_id
           FROM workflow_tasks t
           LEFT JOIN webhook_events e ON e.id = t.webhook_event_id
          WHERE t.task_id = $1`,
        [taskId],
      );
    const row = rows[0];
    if (!row || !CALLS_GITHUB.has(row.task_type as TaskType)) return null;
    const installationId = row.installation_id === null ? null : Number(row.installation_id);
    const waitMs = this.github.budgetWaitMs(installationId);
    return waitMs > 0 ? { installationId, waitMs } : null;
  }

  private anyBudgetLow(): boolean {
    const now = Date.now();
    return this.github
      .rateLimitBudgets()
      .some(
        (b) =>
          b.remaining < this.config.github.rateLimitReserve &&
          b.resetAtMs !== null &&
          b.resetAtMs > now,
      );
  }
}
