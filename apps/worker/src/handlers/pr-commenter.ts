import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
import { commentText } from '@app/domain';
import { LOGGER } from '@app/platform';
import { WorkflowTaskEntity } from '@app/persistence';
import { GithubClient } from '@app/github';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';

/**
 * One comment per agent run on its pull request: posted when the run starts, edited when it
 * ends (never a new comment per event). Best effort: a failed comment never fails the task.
 */
@Injectable()
export class PrCommenter {
  constructor(
    private readonly github: GithubClient,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return (
      this.config.agent.prComments &&
      (Boolean(this.config.github.token) || this.github.appConfigured)
    );
  }

  /** Returns the comment id to keep in the task's output, or null. */
  async runStarted(
    task: WorkflowTaskEntity,
    runId: string,
    webUrl: string | null,
    installationId: number | null,
  ): Promise<number | null> {
    if (!this.enabled || !task.repository || task.prNumber === null) return null;
    try {
      const body = this.body(task, runId, webUrl, null);
      const github = this.github.forInstallation(installationId);
      // A follow-up run edits the first run's comment: one story per failure.
      const inherited = task.inputData.pr_comment_id;
      if (typeof inherited === 'number') {
        await github.updateIssueComment(task.repository, inherited, body);
        return inherited;
      }
      const comment = await github.createIssueComment(task.repository, task.prNumber, body);
      return comment.id;
    } catch (error) {
      this.logger.warn('could not comment on the pull request', {
        task_id: task.taskId,
        error: String(error),
      });
      return null;
    }
  }

  /**
   * Edits the run's comment to say how it ended: `headline` follows the run's link (e.g.
   * "finished", "ended `TIMEOUT`"); `output.agent_removed_from_pr` adds that Codegen was told to
   * stop working on the pull request.
   */
  async runEnded(
    task: WorkflowTaskEntity,
    output: Record<string, unknown>,
    headline: string,
    outcomeLine: string | null = null,
  ): Promise<void> {
    const commentId = typeof output.pr_comment_id === 'number' ? output.pr_comment_id : null;
    if (!this.enabled || commentId === null || !task.repository || !task.codegenTaskId) return;
    const installationId =
      typeof output.installation_id === 'number' ? output.installation_id : null;
    try {
      await this.github
        .forInstallation(installationId)
        .updateIssueComment(
          task.repository,
          commentId,
          this.body(
            task,
            task.codegenTaskId,
            (output.web_url as string | null) ?? task.codegenTaskUrl,
            headline,
            { ...output, agent_outcome_line: outcomeLine },
          ),
        );
    } catch (error) {
      this.logger.warn('could not update the pull request comment', {
        task_id: task.taskId,
        error: String(error),
      });
    }
  }

  /**
   * Edits the run's comment (from the trigger task as stored) to add how the run was judged:
   * started → finished → judged, one comment.
   */
  async outcomeJudged(task: WorkflowTaskEntity, line: string | null): Promise<void> {
    const output = task.outputData ?? {};
    const finished = typeof output.agent_run_finished_at === 'string';
    const headline = finished
      ? typeof output.agent_run_ended === 'string'
        ? output.agent_run_ended
        : 'finished'
      : null;
    const commentId = typeof output.pr_comment_id === 'number' ? output.pr_comment_id : null;
    if (!this.enabled || commentId === null || !task.repository || !task.codegenTaskId) return;
    const installationId =
      typeof output.installation_id === 'number' ? output.installation_id : null;
    await this.github
      .forInstallation(installationId)
      .updateIssueComment(
        task.repository,
        commentId,
        this.body(
          task,
          task.codegenTaskId,
          (output.web_url as string | null) ?? task.codegenTaskUrl,
          headline,
          { ...output, agent_outcome_line: line },
        ),
      );
  }

  /**
   * A fixed template: only the service's own words, the run id and links it checked, and
   * untrusted text (reasons with check names, Codegen's summary) as plain escaped text with
   * `@mentions` broken, so a comment never notifies anyone or renders markup it was fed.
   */
  private body(
    task: WorkflowTaskEntity,
    runId: string,
    webUrl: string | null,
    headline: string | null,
    output: Record<string, unknown> = {},
  ): string {
    const id = /^[0-9A-Za-z_-]{1,40}$/.test(runId) ? runId : 'unknown';
    const url = safeUrl(webUrl);
    const link = url ? `[agent run ${id}](${url})` : `agent run ${id}`;
    const sha =
      task.commitSha && /^[0-9a-f]{7,64}$/i.test(task.commitSha)
        ? ` for \`${task.commitSha.slice(0, 12)}\``
        : '';
    const fork = task.inputData.push_target === 'new_pull_request';
    const lines = [`<!-- webhook-orchestrator:agent-run task=${task.taskId} -->`];
    // Earlier runs of a follow-up chain, in the service's own words (check names neutralised).
    const history = Array.isArray(task.inputData.outcome_history)
      ? (task.inputData.outcome_history as unknown[]).filter(
          (l): l is string => typeof l === 'string',
        )
      : [];
    for (const line of history.slice(-10)) lines.push(`- ${line.slice(0, 600)}`);
    if (history.length > 0) lines.push('');
    if (headline === null) lines.push(`🤖 Codegen ${link} started${sha}.`);
    else lines.push(`🤖 Codegen ${link}${sha} ${headline}.`);
    if (typeof output.agent_outcome_line === 'string')
      lines.push('', output.agent_outcome_line.slice(0, 600));
    if (isRecord(output.agent_removed_from_pr) && output.agent_removed_from_pr.ok === true)
      lines.push('', 'Codegen was told to stop working on this pull request.');
    if (fork)
      lines.push(
        '',
        'This pull request comes from a fork: the agent does not push to its branch, it opens a new pull request against the base branch instead.',
      );
    const reasons = Array.isArray(task.inputData.reasons)
      ? (task.inputData.reasons as unknown[]).map((r) => commentText(r, 200)).filter(Boolean)
      : [];
    if (reasons.length > 0) lines.push('', `Why: ${reasons.slice(0, 5).join('; ')}`);
    const prs = (Array.isArray(output.pull_requests) ? (output.pull_requests as unknown[]) : [])
      .map((pr) => safeUrl((pr as { url?: unknown } | null)?.url))
      .filter((u): u is string => u !== null)
      .slice(0, 5);
    if (prs.length > 0) {
      lines.push(
        '',
        fork && task.prNumber !== null
          ? `Pull requests the agent opened for #${task.prNumber}:`
          : 'Pull requests the agent opened or updated:',
      );
      for (const pr of prs) lines.push(`- ${pr}`);
    }
    if (typeof output.summary === 'string' && output.summary.trim()) {
      const quoted = output.summary
        .split(/\r?\n/)
        .map((line) => commentText(line, 500))
        .filter((line) => line.length > 0)
        .slice(0, 20);
      let total = 0;
      const kept = quoted.filter((line) => (total += line.length) <= 2000);
      lines.push('', "Codegen's summary:", ...kept.map((line) => `> ${line}`));
    }
    return lines.join('\n');
  }
}

/** An http(s) URL without spaces, quotes or brackets (it goes inside Markdown link syntax). */
function safeUrl(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 500) return null;
  return /^https?:\/\/[^\s()<>"'`[\]]+$/i.test(value) ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
