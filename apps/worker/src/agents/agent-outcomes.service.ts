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
 * What follows a `still_failing` outcome, as the PR comment tells it: a follow-up run was asked
 * for (it still passes the policy and budgets before it starts), the follow-ups are spent, or
 * no follow-up starts for a reason (a budget, the policy, nothing to follow up on).
 */
export type FollowUpState =
  { kind: 'asked' } | { kind: 'spent' } | { kind: 'refused'; reason: string };

/** How a run's end went for its outcome: the comment's outcome line and a follow-up to start. */
export interface RunEndOutcome {
  line: string | null;
  followUps: ChildTaskDraft[];
}

/** A judgement's consequences, decided in one place for every path that judges. */
interface Settled {
  followUp: ChildTaskDraft | null;
  state: FollowUpState | null;
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
   * to judge later (and the check results already kept for them judge it now). A run stopped
   * because a newer head arrived is judged by that synchronize. Returns the outcome line for
   * the PR comment (null while pending) and, when the run's end judged `still_failing`, the
   * follow-up trigger to start with the task's end.
   */
  async runEnded(
    task: WorkflowTaskEntity,
    status: 'completed' | 'failed' | 'cancelled',
    run: { status: string | null; webUrl: string | null; prNumbers: number[] } | null,
    installationId: number | null = null,
  ): Promise<RunEndOutcome> {
    let settled: Settled | null = null;
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
      if (change) settled = await this.settle(change, installationId);
    }
    const stored = await this.outcomes.findByTaskId(task.taskId);
    if (!stored) return { line: null, followUps: [] };
    const state =
      settled?.state ??
      (stored.outcome === 'still_failing' ? await this.followUpStateOf(stored, task) : null);
    return {
      line: outcomeLine(stored, this.config.agent.maxFollowUps, state ?? undefined),
      followUps: settled?.followUp ? [settled.followUp] : [],
    };
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
      const { followUp, state } = await this.settle(change, installationId);
      if (change.after.outcome === 'pending') continue;
      if (followUp) result.children.push(followUp);
      result.judged.push({
        task_id: taskId,
        outcome: change.after.outcome,
        ...(change.after.outcome === 'still_failing' ? { follow_up: followUp !== null } : {}),
      });
      await this.tell(change.after, state);
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
      const { state } = await this.settle(change, null);
      judged += 1;
      await this.tell(change.after, state);
    }
    return judged;
  }

  /**
   * A follow-up trigger was refused before its run started (a budget, the policy): the comment
   * of the run it follows up says the agent could not fix it and a human is needed, and why.
   */
  async followUpRefused(followUpTask: WorkflowTaskEntity, reason: string): Promise<void> {
    const of = followUpTask.inputData.follow_up_of;
    if (typeof of !== 'string') return;
    const previous = await this.outcomes.findByTaskId(of);
    if (!previous || previous.outcome !== 'still_failing') return;
    this.logger.info('follow-up agent run refused; a human is needed', {
      task_id: followUpTask.taskId,
      follow_up_of: of,
      reason,
    });
    await this.tell(previous, { kind: 'refused', reason });
  }

  /**
   * What follows a judgement, on every path that judges (a delivery, the run's end, the
   * window): counts it, and for `still_failing` decides the one follow-up, a trigger to start
   * or why none starts. Called once per change: a change is only returned by the write that
   * made it, under the row lock.
   */
  private async settle(change: OutcomeChange, installationId: number | null): Promise<Settled> {
    const { before, after } = change;
    if (before.outcome !== 'pending' || after.outcome === 'pending')
      return { followUp: null, state: null };
    this.telemetry.recordOutcome(after.outcome, after.timeToGreenSeconds);
    if (after.outcome !== 'still_failing') return { followUp: null, state: null };
    const decided = await this.followUp(change, installationId);
    if ('draft' in decided) return { followUp: decided.draft, state: { kind: 'asked' } };
    return { followUp: null, state: decided.state };
  }

  /**
   * The follow-up of a `still_failing` outcome judged earlier, read back from the tasks: asked
   * for (and maybe running), refused with its reason, or none (the follow-ups were spent).
   */
  private async followUpStateOf(
    outcome: StoredAgentRunOutcome,
    trigger: WorkflowTaskEntity,
  ): Promise<FollowUpState> {
    const rows = await this.dataSource.query<
      Array<{ status: string; error_message: string | null }>
    >(
      `SELECT status, error_message FROM workflow_tasks
       WHERE task_type = $1 AND repository = $2 AND input_data->>'follow_up_of' = $3
       ORDER BY id DESC LIMIT 1`,
      [TaskType.CodegenTrigger, trigger.repository, outcome.taskId],
    );
    const row = rows[0];
    if (!row) {
      return outcome.followUpCount >= this.config.agent.maxFollowUps
        ? { kind: 'spent' }
        : { kind: 'refused', reason: 'no follow-up run was asked for' };
    }
    if (row.status === 'cancelled')
      return { kind: 'refused', reason: row.error_message ?? 'cancelled' };
    return { kind: 'asked' };
  }

  /** Edits the run's PR comment to say how it was judged. Best effort. */
  private async tell(outcome: StoredAgentRunOutcome, state: FollowUpState | null): Promise<void> {
    try {
      const trigger = await this.trigger(outcome.taskId);
      if (!trigger) return;
      await this.commenter.outcomeJudged(
        trigger,
        outcomeLine(outcome, this.config.agent.maxFollowUps, state ?? undefined),
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
   * The follow-up trigger for a run whose commit failed the same check again, or why there is
   * none: the follow-ups are spent, or nothing to follow up on (the comment asks for a human).
   */
  private async followUp(
    change: OutcomeChange,
    installationId: number | null,
  ): Promise<{ draft: ChildTaskDraft } | { state: FollowUpState }> {
    const outcome = change.after;
    if (outcome.followUpCount >= this.config.agent.maxFollowUps)
      return { state: { kind: 'spent' } };
    const sha = outcome.judgedSha;
    if (!sha) return { state: { kind: 'refused', reason: "the agent's commit is not known" } };
    const previous = await this.trigger(outcome.taskId);
    const failed = change.decision.failedAgain;
    const onAgentPr = failed
      .flatMap((o) => o.prNumbers)
      .find((n) => outcome.agentPrNumbers.includes(n) && n !== outcome.prNumber);
    const prNumber = onAgentPr ?? outcome.prNumber;
    if (prNumber === null)
      return { state: { kind: 'refused', reason: 'no pull request to follow up on' } };
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
    const draft: ChildTaskDraft = {
      taskType: TaskType.CodegenTrigger,
      dedupeKey: `${outcome.repository}#${prNumber}@${sha}:follow_up`,
      prNumber,
      branch,
      // The agent's commit that failed again, whichever task (a delivery, the run's end) judged it.
      commitSha: sha,
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
          `Agent run ${safeRunId(outcome.codegenRunId)}: ${outcomeLine(outcome, this.config.agent.maxFollowUps, { kind: 'asked' })}`,
        ].slice(-10),
      },
    };
    return { draft };
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
  followUp: FollowUpState = { kind: 'spent' },
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
      return `${base} ${followUpSentence(outcome, maxFollowUps, followUp)}`;
    }
    case 'superseded':
      return `⏭️ Superseded: someone else pushed${sha} before the agent's commit was judged.`;
    case 'no_change':
      return "➖ No change: the agent pushed no commit and opened no pull request within the outcome window after the run's end.";
    case 'run_failed':
      return '⚠️ Run failed: the agent run ended without success.';
  }
}

/** What follows a `still_failing` judgement, in the comment's words. */
function followUpSentence(
  outcome: StoredAgentRunOutcome,
  maxFollowUps: number,
  followUp: FollowUpState,
): string {
  switch (followUp.kind) {
    case 'asked':
      return 'A follow-up agent run was asked for.';
    case 'spent':
      return `The agent could not fix it after ${outcome.followUpCount} follow-up run(s) (AGENT_MAX_FOLLOW_UPS=${maxFollowUps}): needs a human.`;
    case 'refused':
      // The reason may quote a label or a ref: neutralised like the check names.
      return `The agent could not fix it and no follow-up run started (${commentText(followUp.reason, 300)}): needs a human.`;
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
