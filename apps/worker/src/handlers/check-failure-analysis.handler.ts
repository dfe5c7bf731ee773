import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
import { analysisSkipReason, analyzeCheckFailure, TaskType } from '@app/domain';
import { DomainError, ErrorCode, isTransientError, LOGGER } from '@app/platform';
import { CheckRunDetails, GithubClient } from '@app/github';
import { RepositoryRulesService } from '../agents/repository-rules.service';
import { defaultBranchOf } from './agent-policy';
import { agentTriggerChild, checkCompletedAt } from './agent-trigger';
import { pullRequestsOf } from './pull-request-lookup';
import { HandlerResult, inputNumber, inputString, TaskContext, TaskHandler } from './task-handler';

/** Classifies one failed check run for its PR(s) and asks for one agent run per PR. */
@Injectable()
export class CheckFailureAnalysisHandler implements TaskHandler {
  readonly taskType = TaskType.CheckFailureAnalysis;

  constructor(
    private readonly github: GithubClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly repositoryRules: RepositoryRulesService,
  ) {}

  async handle({ task, event }: TaskContext): Promise<HandlerResult> {
    const github = this.github.forInstallation(event?.installationId ?? null);
    if (!task.repository) throw new DomainError(ErrorCode.InvalidInput, 'task has no repository');
    const name = inputString(task.inputData, 'check_run_name') ?? 'unnamed check';
    const conclusion = inputString(task.inputData, 'conclusion');
    const detailsUrl = inputString(task.inputData, 'details_url');
    // The rules narrowed by the repository's own file: it may turn check_run events or
    // cancelled checks off where the server (and so intake) had them on.
    const effective = await this.repositoryRules.forAnalysis(
      task.repository,
      event?.installationId ?? null,
      defaultBranchOf(event),
    );
    const skip = analysisSkipReason(
      { eventType: 'check_run', check: { scope: 'check_run', conclusion } },
      effective,
    );
    if (skip !== null)
      return {
        outputData: { skipped: true, reason: skip, pr_number: task.prNumber, check_name: name },
        cancel: skip,
      };
    const { includeCancelledChecks } = effective.rules;
    const analysis = analyzeCheckFailure({
      checkNames: [{ name, conclusion }],
      includeCancelledChecks,
    });
    const { prs, lookedUp } = await pullRequestsOf(github, task);
    const details =
      analysis.shouldTriggerAgent && prs.length > 0
        ? await this.details(github, task.repository, inputNumber(task.inputData, 'check_run_id'))
        : null;
    const children = analysis.shouldTriggerAgent
      ? prs.map((pr) =>
          agentTriggerChild(
            task,
            {
              kind: 'check_failure',
              repository: task.repository as string,
              prNumber: pr.number,
              branch: pr.branch,
              fork: pr.fork,
              baseBranch: pr.baseBranch,
              headSha: task.commitSha,
              reasons: analysis.reasons,
              categories: analysis.categories,
              failedChecks: [
                {
                  name,
                  conclusion,
                  detailsUrl,
                  summary: details
                    ? [details.title, details.summary].filter(Boolean).join(': ')
                    : null,
                  annotations: details?.annotations ?? [],
                },
              ],
            },
            lookedUp ? pr : null,
            {
              scope: 'check_run',
              names: [name],
              completedAt: checkCompletedAt(event?.payload, 'check_run'),
            },
          ),
        )
      : [];
    return {
      outputData: {
        pr_number: task.prNumber,
        check_name: name,
        ...analysis,
        ...(lookedUp ? { pull_requests_found_by_sha: prs.map((p) => p.number) } : {}),
        ...(details ? { annotations_fetched: details.annotations.length } : {}),
        ...(effective.unreadable !== null
          ? { repository_rules_unreadable: effective.unreadable }
          : {}),
      },
      children,
    };
  }

  /** The check's own words about the failure; a prompt without them is still worth sending. */
  private async details(
    github: GithubClient,
    repository: string,
    checkRunId: number | null,
  ): Promise<CheckRunDetails | null> {
    if (checkRunId === null) return null;
    try {
      return await github.getCheckRunDetails(repository, checkRunId);
    } catch (error) {
      if (isTransientError(error)) throw error;
      this.logger.warn('could not read the check run output', {
        check_run_id: checkRunId,
        error: String(error),
      });
      return null;
    }
  }
}
