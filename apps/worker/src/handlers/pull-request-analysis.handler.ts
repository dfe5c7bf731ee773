import { Injectable } from '@nestjs/common';
import { analysisSkipReason, analyzePullRequest, TaskType } from '@app/domain';
import { DomainError, ErrorCode } from '@app/platform';
import { TaskLifecycleRepository } from '@app/persistence';
import { GithubClient } from '@app/github';
import { RepositoryRulesService } from '../agents/repository-rules.service';
import { TrustLabelRelease } from '../agents/trust-label-release';
import { defaultBranchOf } from './agent-policy';
import { agentTriggerChild } from './agent-trigger';
import { HandlerResult, inputString, TaskContext, TaskHandler } from './task-handler';

/** Lists the PR's files, classifies them and decides whether an agent run is warranted. */
@Injectable()
export class PullRequestAnalysisHandler implements TaskHandler {
  readonly taskType = TaskType.PullRequestAnalysis;

  constructor(
    private readonly github: GithubClient,
    private readonly lifecycle: TaskLifecycleRepository,
    private readonly trustLabel: TrustLabelRelease,
    private readonly repositoryRules: RepositoryRulesService,
  ) {}

  async handle({ task, event }: TaskContext): Promise<HandlerResult> {
    // Calls are made as the event's GitHub App installation when an App is configured.
    const github = this.github.forInstallation(event?.installationId ?? null);
    // A newer head SHA makes older analyses and not-yet-started agent triggers of this PR moot.
    const superseded = await this.lifecycle.cancelSuperseded(task);
    const action = inputString(task.inputData, 'action') ?? '';
    const draft = task.inputData.draft === true;
    if (!task.repository || task.prNumber === null) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        'task has no repository or pull request number',
      );
    }
    if (action === 'labeled') {
      // Routed only for the opt-in label: start what the trust gate held back.
      const released = await this.trustLabel.release(task, inputString(task.inputData, 'label'));
      return { outputData: { ...released, superseded_task_ids: superseded } };
    }
    if (draft && action !== 'ready_for_review') {
      return {
        outputData: {
          skipped: true,
          reason: 'draft pull request',
          action,
          superseded_task_ids: superseded,
        },
      };
    }
    // The rules narrowed by the repository's own file: it may turn pull_request events off, or
    // raise the synchronize threshold, where the server (and so intake) had them on or lower.
    const effective = await this.repositoryRules.forAnalysis(
      task.repository,
      event?.installationId ?? null,
      defaultBranchOf(event),
    );
    const skip = analysisSkipReason({ eventType: 'pull_request' }, effective);
    if (skip !== null)
      return {
        outputData: { skipped: true, reason: skip, action, superseded_task_ids: superseded },
        cancel: skip,
      };
    const files = await github.listPullRequestFiles(task.repository, task.prNumber);
    const analysis = analyzePullRequest({
      action,
      draft,
      files,
      synchronizeCodeFileThreshold: effective.rules.synchronizeCodeFileThreshold,
    });
    const children = analysis.shouldTriggerAgent
      ? [
          agentTriggerChild(task, {
            kind: action === 'synchronize' ? 'pull_request_update' : 'new_pull_request',
            repository: task.repository,
            prNumber: task.prNumber,
            branch: task.branch,
            headSha: task.commitSha,
            reasons: analysis.reasons,
            prTitle: inputString(task.inputData, 'title'),
            prUrl: inputString(task.inputData, 'html_url'),
            // A deleted or foreign head repository: the agent opens a new PR instead of pushing.
            fork: task.inputData.is_fork !== false,
            baseBranch: inputString(task.inputData, 'base_ref'),
          }),
        ]
      : [];
    return {
      outputData: {
        action,
        ...analysis,
        files_total: files.length,
        ...(effective.unreadable !== null
          ? { repository_rules_unreadable: effective.unreadable }
          : {}),
        ...(superseded.length > 0 ? { superseded_task_ids: superseded } : {}),
      },
      children,
    };
  }
}
