import { Inject, Injectable } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { Logger } from 'winston';
import {
  buildCodegenPrompt,
  CheckObservation,
  commentText,
  judgeAgentRun,
  OutcomeEvent,
  OutcomeFacts,
  OutcomeRules,
  TaskType,
} from '@app/domain';
import { isTransientError, LOGGER } from '@app/platform';
import {
  AgentRunOutcomeRepository,
  ChildTaskDraft,
  OutcomeChange,
  StoredAgentRunOutcome,
  WorkflowTaskEntity,
} from '@app/persistence';
import { GithubClient } from '@app/github';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { PrCommenter } from '../handlers/pr-commenter';
import { AgentOutcomeTelemetry } from './agent-outcome-telemetry';

/** What one delivery did to the outcomes it concerned. */
export interface OutcomeApplication {
  judged: Array<{ task_id: string; outcome: string; follow_up?: boolean }>;
  children: ChildTaskDraft[];
}

/**
 * Follows agent runs sent to fix a failing check to the checks that judge them: writes the
 * pending outcome when a run starts, applies Codegen's end, later check and synchronize
 * deliveries and the no-change window through the domain rules (under the row lock), tells the
 * story in the run's PR comment, and asks for one follow-up run (AGENT_MAX_FOLLOW_UPS) when the
 * agent's commit fails the same check again.
 */
@Injectable()
export class AgentOutcomes {
  constructor(
    private readonly outcomes: AgentRunOutcomeRepository,
    @Inject(getDataSourceToken()) private readonly dataSource: DataSource,
    private readonly commenter: PrCommenter,
    private readonly github: GithubClient,
    private readonly telemetry: AgentOutcomeTelemetry,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  rules(repository: string): OutcomeRules {
    return {
      agentPusherLogins: this.config.agent.pusherLogins,
      windowMs: this.config.agent.outcomeWindowMs,
      includeCancelledChecks: this.config.rules.forRepository(repository).includeCancelledChecks,
    };
  }

  /** A trigger started (or resumed) a run: a run sent to fix a failing check gets its outcome. */
  async runStarted(
    task: WorkflowTaskEntity,
    run: { id: string; webUrl: string | null; status: string | null },
  ): Promise<void> {
    const input = task.inputData;
    const names = Array.isArray(input.failing_checks)
      ? input.failing_checks.filter((n): n is string => typeof n === 'string')
      : [];
    if (input.trigger_kind !== 'check_failure' || names.length === 0) return;
    if (!task.repository || !task.commitSha) return;
    const completedAt =
      typeof input.failing_check_completed_at === 'string'
        ? new Date(input.failing_check_completed_at)
        : null;
    const followUpOf = typeof input.follow_up_of === 'string' ? input.follow_up_of : null;
    const created = await this.outcomes.createPending({
      taskId: task.taskId,
      repository: task.repository,
      prNumber: task.prNumber,
      triggerKind: 'check_failure',
      checkScope: input.check_scope === 'check_suite' ? 'check_suite' : 'check_run',
      failingChecks: names,
      failingCheckCompletedAt:
        completedAt && !Number.isNaN(completedAt.getTime()) ? completedAt : null,
      headSha: task.commitSha,
      codegenRunId: run.id,
      codegenStatus: run.status,
      webUrl: run.webUrl,
      followUpOf,
      followUpCount: typeof input.follow_up_count === 'number' ? input.follow_up_count : 0,
    });
    if (created) this.telemetry.recordOutcome('pending');
  }

  /**
   * Codegen's run ended: `run_failed` unless it succeeded; the agent's pull requests are kept
   * to judge later. A run stopped because a newer head arrived is judged by that synchronize.
   * Returns the outcome line for the PR comment (null while pending).
   */
  async runEnded(
    task: WorkflowTaskEntity,
    status: 'completed' | 'failed' | 'cancelled',
    run: { status: string | null; webUrl: string | null; prNumbers: number[] } | null,
  ): Promise<string | null> {
    if (status !== 'cancelled') {
      const event: OutcomeEvent = {
        kind: 'run_finished',
        succeeded: status === 'completed',
        agentPrNumbers: run?.prNumbers ?? [],
        at: new Date(),
      };
      const change = await this.outcomes.judge(
        task.taskId,
        (current) => judgeAgentRun(current, event, this.rules(current.repository), new Date()),
        run ? { status: run.status, webUrl: run.webUrl } : undefined,
      );
      if (change) this.recorded(change);
    }
    const stored = await this.outcomes.findByTaskId(task.taskId);
    return stored ? outcomeLine(stored, this.config.agent.maxFollowUps) : null;
  }

  /** Applies one check or synchronize delivery to every pending outcome it concerns. */
  async apply(facts: OutcomeFacts, installationId: number | null): Promise<OutcomeApplication> {
    const taskIds = await this.outcomes.pendingFor(facts.repository, facts);
    const result: OutcomeApplication = { judged: [], children: [] };
    for (const taskId of taskIds) {
      const change = await this.outcomes.judge(taskId, (current) =>
        judgeAgentRun(current, facts.event, this.rules(current.repository), new Date()),
      );
      if (!change) continue;
      this.recorded(change);
      if (change.after.outcome === 'pending') continue;
      const followUp =
        change.after.outcome === 'still_failing'
          ? await this.followUp(change, installationId)
          : null;
      if (followUp) result.children.push(followUp);
      result.judged.push({
        task_id: taskId,
        outcome: change.after.outcome,
        ...(change.after.outcome === 'still_failing' ? { follow_up: followUp !== null } : {}),
      });
      await this.tell(change.after, followUp !== null);
    }
    return result;
  }

  /** Judges `no_change` for runs that ended a window ago with nothing from the agent. */
  async sweep(now = new Date()): Promise<number> {
    const due = await this.outcomes.pendingFinishedBefore(
      new Date(now.getTime() - this.config.agent.outcomeWindowMs),
      100,
    );
    let judged = 0;
    for (const taskId of due) {
      const change = await this.outcomes.judge(taskId, (current) =>
        judgeAgentRun(current, { kind: 'window_elapsed' }, this.rules(current.repository), now),
      );
      if (!change) continue;
      this.recorded(change);
      judged += 1;
      await this.tell(change.after, false);
    }
    return judged;
  }

  /** Counts a judgement (once: a change is only returned by the write that made it). */
  private recorded(change: OutcomeChange): void {
    if (change.before.outcome === 'pending' && change.after.outcome !== 'pending')
      this.telemetry.recordOutcome(change.after.outcome, change.after.timeToGreenSeconds);
  }

  /** Edits the run's PR comment to say how it was judged. Best effort. */
  private async tell(outcome: StoredAgentRunOutcome, followedUp: boolean): Promise<void> {
    try {
      const trigger = await this.trigger(outcome.taskId);
      if (!trigger) return;
      await this.commenter.outcomeJudged(
        trigger,
        outcomeLine(outcome, this.config.agent.maxFollowUps, followedUp),
      );
    } catch (error) {
      this.logger.warn('could not tell the agent run outcome on the pull request', {
        task_id: outcome.taskId,
        error: String(error),
      });
    }
    this.logger.info('agent run judged', {
      task_id: outcome.taskId,
      repository: outcome.repository,
      pr_number: outcome.prNumber,
      outcome: outcome.outcome,
      time_to_green_seconds: outcome.timeToGreenSeconds,
      judged_sha: outcome.judgedSha,
    });
  }

  /**
   * The follow-up trigger for a run whose commit failed the same check again, or null when the
   * follow-ups are spent (the comment then asks for a human).
   */
  private async followUp(
    change: OutcomeChange,
    installationId: number | null,
  ): Promise<ChildTaskDraft | null> {
    const outcome = change.after;
    if (outcome.followUpCount >= this.config.agent.maxFollowUps) return null;
    const sha = outcome.judgedSha;
    if (!sha) return null;
    const previous = await this.trigger(outcome.taskId);
    const failed = change.decision.failedAgain;
    const onAgentPr = failed
      .flatMap((o) => o.prNumbers)
      .find((n) => outcome.agentPrNumbers.includes(n) && n !== outcome.prNumber);
    const prNumber = onAgentPr ?? outcome.prNumber;
    if (prNumber === null) return null;
    const branch = onAgentPr === undefined ? (previous?.branch ?? null) : null;
    const pushTarget =
      onAgentPr === undefined && previous?.inputData.push_target === 'new_pull_request'
        ? 'new_pull_request'
        : 'head_branch';
    // GitHub's spelling of the repository (the outcome row keeps it lower case for look-ups).
    const repository = previous?.repository ?? outcome.repository;
    const failedChecks = await this.failedCheckDetails(repository, outcome, failed, installationId);
    const reasons = failed.map(
      (o) => `${o.name} failed again (${o.conclusion ?? 'no conclusion'}) on the agent's commit`,
    );
    const kind = outcome.checkScope === 'check_suite' ? 'check_suite_failure' : 'check_failure';
    const latestFailure = failed.map((o) => o.completedAt).sort()[failed.length - 1] ?? null;
    const previousOutput = previous?.outputData ?? {};
    return {
      taskType: TaskType.CodegenTrigger,
      dedupeKey: `${outcome.repository}#${prNumber}@${sha}:follow_up`,
      prNumber,
      branch,
      inputData: {
        trigger_kind: 'check_failure',
        prompt_kind: kind,
        reasons,
        push_target: pushTarget,
        prompt: buildCodegenPrompt({
          kind,
          repository,
          prNumber,
          branch,
          headSha: sha,
          reasons,
          failedChecks,
          fork: pushTarget === 'new_pull_request',
          previousRun: outcome.codegenRunId
            ? { id: outcome.codegenRunId, webUrl: outcome.webUrl, commitSha: sha }
            : null,
        }),
        check_scope: outcome.checkScope,
        failing_checks: outcome.failingChecks,
        failing_check_completed_at: latestFailure,
        follow_up_of: outcome.taskId,
        follow_up_count: outcome.followUpCount + 1,
        // The follow-up edits the first run's comment, so the pull request keeps one story.
        ...(typeof previousOutput.pr_comment_id === 'number'
          ? { pr_comment_id: previousOutput.pr_comment_id }
          : {}),
        ...(installationId !== null ? { installation_id: installationId } : {}),
        outcome_history: [
          ...(Array.isArray(previous?.inputData.outcome_history)
            ? (previous.inputData.outcome_history as unknown[]).filter(
                (l): l is string => typeof l === 'string',
              )
            : []),
          `Agent run ${safeRunId(outcome.codegenRunId)}: ${outcomeLine(outcome, this.config.agent.maxFollowUps, true)}`,
        ].slice(-10),
      },
    };
  }

  /** The new failure's own words (check run output), as the first run's prompt had them. */
  private async failedCheckDetails(
    repository: string,
    outcome: StoredAgentRunOutcome,
    failed: CheckObservation[],
    installationId: number | null,
  ) {
    const github = this.github.forInstallation(installationId);
    const out = [];
    for (const o of failed.slice(0, 5)) {
      let summary: string | null = null;
      let annotations: Array<{
        path: string;
        startLine: number | null;
        level: string | null;
        message: string;
      }> = [];
      if (outcome.checkScope === 'check_run' && o.checkId) {
        try {
          const details = await github.getCheckRunDetails(repository, o.checkId, 20);
          summary = [details.title, details.summary].filter(Boolean).join(': ') || null;
          annotations = details.annotations;
        } catch (error) {
          if (isTransientError(error)) throw error;
          this.logger.warn('could not read the output of the check that failed again', {
            check_run_id: o.checkId,
            error: String(error),
          });
        }
      }
      out.push({ name: o.name, conclusion: o.conclusion, summary, annotations });
    }
    return out;
  }

  private trigger(taskId: string): Promise<WorkflowTaskEntity | null> {
    return this.dataSource.getRepository(WorkflowTaskEntity).findOneBy({ taskId });
  }
}

/**
 * How the PR comment tells an outcome: `fixed in 14 min`, `still failing: <check>`,
 * `needs a human`. Check names come from payloads and are neutralised.
 */
export function outcomeLine(
  outcome: StoredAgentRunOutcome,
  maxFollowUps: number,
  followedUp = false,
): string | null {
  // Plain escaped text (no code span: its escapes would show), mentions broken.
  const checks = (names: readonly string[]) =>
    names
      .slice(0, 5)
      .map((n) => commentText(n, 100))
      .join(', ');
  const sha =
    outcome.judgedSha && /^[0-9a-f]{7,64}$/i.test(outcome.judgedSha)
      ? ` on \`${outcome.judgedSha.slice(0, 12)}\``
      : '';
  switch (outcome.outcome) {
    case 'pending':
      return null;
    case 'fixed':
      return `✅ Fixed${outcome.timeToGreenSeconds !== null ? ` in ${duration(outcome.timeToGreenSeconds)}` : ''}: ${checks(outcome.failingChecks)} passed${sha}.`;
    case 'still_failing': {
      const failing = outcome.failedAgain.length > 0 ? outcome.failedAgain : outcome.failingChecks;
      const base = `❌ Still failing: ${checks(failing)}${sha}.`;
      if (followedUp) return `${base} A follow-up agent run was started.`;
      return `${base} The agent could not fix it after ${outcome.followUpCount} follow-up run(s) (AGENT_MAX_FOLLOW_UPS=${maxFollowUps}): needs a human.`;
    }
    case 'superseded':
      return `⏭️ Superseded: someone else pushed${sha} before the agent's commit was judged.`;
    case 'no_change':
      return "➖ No change: the agent pushed no commit and opened no pull request within the outcome window after the run's end.";
    case 'run_failed':
      return '⚠️ Run failed: the agent run ended without success.';
  }
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function safeRunId(id: string | null): string {
  return id && /^[0-9A-Za-z_-]{1,40}$/.test(id) ? id : 'unknown';
}
