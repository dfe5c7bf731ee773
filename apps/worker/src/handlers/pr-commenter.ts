import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
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
      const comment = await this.github
        .forInstallation(installationId)
        .createIssueComment(
          task.repository,
          task.prNumber,
          this.body(task, runId, webUrl, 'started'),
        );
      return comment.id;
    } catch (error) {
      this.logger.warn('could not comment on the pull request', {
        task_id: task.taskId,
        error: String(error),
      });
      return null;
    }
  }

  async runEnded(
    task: WorkflowTaskEntity,
    output: Record<string, unknown>,
    status: 'completed' | 'failed',
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
            status,
            output,
          ),
        );
    } catch (error) {
      this.logger.warn('could not update the pull request comment', {
        task_id: task.taskId,
        error: String(error),
      });
    }
  }

  private body(
    task: WorkflowTaskEntity,
    runId: string,
    webUrl: string | null,
    state: 'started' | 'completed' | 'failed',
    output: Record<string, unknown> = {},
  ): string {
    const link = webUrl ? `[agent run ${runId}](${webUrl})` : `agent run ${runId}`;
    const sha = task.commitSha ? ` for \`${task.commitSha.slice(0, 12)}\`` : '';
    const lines = [`<!-- webhook-orchestrator:agent-run task=${task.taskId} -->`];
    if (state === 'started') lines.push(`🤖 Codegen ${link} started${sha}.`);
    else lines.push(`🤖 Codegen ${link}${sha} ${state === 'completed' ? 'finished' : 'failed'}.`);
    const reasons = Array.isArray(task.inputData.reasons)
      ? (task.inputData.reasons as unknown[]).map(String)
      : [];
    if (reasons.length > 0) lines.push('', `Why: ${reasons.slice(0, 5).join('; ')}`);
    const prs = Array.isArray(output.pull_requests)
      ? (output.pull_requests as Array<{ url?: unknown }>)
      : [];
    for (const pr of prs.slice(0, 5)) if (typeof pr.url === 'string') lines.push(`- ${pr.url}`);
    if (typeof output.summary === 'string' && output.summary)
      lines.push('', output.summary.slice(0, 2000));
    return lines.join('\n');
  }
}
