import { Injectable } from '@nestjs/common';
import { TaskType } from '@app/domain';
import { TaskRelayRepository } from '@app/persistence';
import { GithubClient } from '@app/github';

/** Task types whose handlers call the GitHub API (reads, or the PR comment of a trigger). */
const CALLS_GITHUB = new Set<TaskType>([
  TaskType.PullRequestAnalysis,
  TaskType.CheckFailureAnalysis,
  TaskType.CheckSuiteFailureAnalysis,
  TaskType.CodegenTrigger,
]);

/** Why a task was not started: its GitHub identity must wait another `waitMs`. */
export interface BudgetHold {
  installationId: number | null;
  waitMs: number;
}

/**
 * Keeps background work from burning a low GitHub budget or calling while rate limited: before a
 * task that calls GitHub is claimed, the identity it would call as (its installation, or the
 * token) is looked at; while fewer than GITHUB_RATE_LIMIT_RESERVE requests are left, or GitHub
 * said it is rate limited (a secondary limit, Retry-After), the task is held until the wait is
 * over, without an attempt or an execution row.
 *
 * Free while no budget is low and nothing is limited: the task's installation is only looked up
 * when some identity is.
 */
@Injectable()
export class GithubBudgetGate {
  constructor(
    private readonly github: GithubClient,
    private readonly tasks: TaskRelayRepository,
  ) {}

  /** The hold for `taskId`, or null when it may run now. */
  async holdFor(taskId: string): Promise<BudgetHold | null> {
    if (!this.github.anyBudgetLow()) return null;
    const scope = await this.tasks.githubScopeOf(taskId);
    if (!scope || !CALLS_GITHUB.has(scope.taskType)) return null;
    const waitMs = this.github.budgetWaitMs(scope.installationId);
    return waitMs > 0 ? { installationId: scope.installationId, waitMs } : null;
  }
}
