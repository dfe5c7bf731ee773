import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
import {
  analysisSkipReason,
  analyzeCheckFailure,
  isFailingConclusion,
  TaskType,
} from '@app/domain';
import { DomainError, ErrorCode, isTransientError, LOGGER } from '@app/platform';
import { CheckAnnotation, GithubClient } from '@app/github';
import { RepositoryRulesService } from '../agents/repository-rules.service';
import { defaultBranchOf } from './agent-policy';
import { agentTriggerChild, checkCompletedAt } from './agent-trigger';
import { pullRequestsOf } from './pull-request-lookup';
import { HandlerResult, inputNumber, inputString, TaskContext, TaskHandler } from './task-handler';

/** Failed runs whose output and annotations go into the prompt. */
const DETAILED_RUNS = 3;

/** Reads the suite's runs through the GitHub API and classifies the failed ones. */
@Injectable()
export class CheckSuiteFailureAnalysisHandler implements TaskHandler {
  readonly taskType = TaskType.CheckSuiteFailureAnalysis;

  constructor(
    private readonly github: GithubClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly repositoryRules: RepositoryRulesService,
  ) {}

  async handle({ task, event }: TaskContext): Promise<HandlerResult> {
    const github = this.github.forInstallation(event?.installationId ?? null);
    const suiteId = inputNumber(task.inputData, 'check_suite_id');
    if (!task.repository || suiteId === null) {
      throw new DomainError(ErrorCode.InvalidInput, 'task has no repository or check suite id');
    }
    const repository = task.repository;
    // The rules narrowed by the repository's own file: it may turn check_suite events or
    // cancelled checks off where the server (and so intake) had them on.
    const effective = await this.repositoryRules.forAnalysis(
      repository,
      event?.installationId ?? null,
      defaultBranchOf(event),
    );
    const skip = analysisSkipReason(
      {
        eventType: 'check_suite',
        check: { scope: 'check_suite', conclusion: inputString(task.inputData, 'conclusion') },
      },
      effective,
    );
    if (skip !== null)
      return {
        outputData: {
          skipped: true,
          reason: skip,
          pr_number: task.prNumber,
          check_suite_id: suiteId,
        },
        cancel: skip,
      };
    const { rules } = effective;
    const runs = await github.listCheckRunsForSuite(repository, suiteId);
    const failed = runs.filter((r) => isFailingConclusion(r.conclusion, 'check_run', rules));
    const analysis = analyzeCheckFailure({
      checkNames: failed.map((r) => ({ name: r.name, conclusion: r.conclusion })),
      includeCancelledChecks: rules.includeCancelledChecks,
    });
    const { prs, lookedUp } = await pullRequestsOf(github, task);
    const detailed = new Map<number, { summary: string | null; annotations: CheckAnnotation[] }>();
    if (analysis.shouldTriggerAgent && prs.length > 0) {
      for (const run of failed.slice(0, DETAILED_RUNS)) {
        try {
          const d = await github.getCheckRunDetails(repository, run.id, 20);
          detailed.set(run.id, {
            summary: [d.title, d.summary].filter(Boolean).join(': ') || null,
            annotations: d.annotations,
          });
        } catch (error) {
          if (isTransientError(error)) throw error;
          this.logger.warn('could not read a check run output', {
            check_run_id: run.id,
            error: String(error),
          });
        }
      }
    }
    const children = analysis.shouldTriggerAgent
      ? prs.map((pr) =>
          agentTriggerChild(
            task,
            {
              kind: 'check_suite_failure',
              repository,
              prNumber: pr.number,
              branch: pr.branch,
              fork: pr.fork,
              baseBranch: pr.baseBranch,
              headSha: task.commitSha,
              reasons: analysis.reasons,
              categories: analysis.categories,
              failedChecks: failed.map((r) => ({
                name: r.name,
                conclusion: r.conclusion,
                detailsUrl: r.detailsUrl ?? r.htmlUrl,
                ...(detailed.get(r.id) ?? {}),
              })),
            },
            lookedUp ? pr : null,
            {
              scope: 'check_suite',
              names: [inputString(task.inputData, 'app_slug') ?? 'unknown app'],
              completedAt: checkCompletedAt(event?.payload, 'check_suite'),
            },
          ),
        )
      : [];
    return {
      outputData: {
        pr_number: task.prNumber,
        check_suite_id: suiteId,
        runs_total: runs.length,
        failed_runs: failed.length,
        ...(effective.unreadable !== null
          ? { repository_rules_unreadable: effective.unreadable }
          : {}),
        ...analysis,
        ...(lookedUp ? { pull_requests_found_by_sha: prs.map((p) => p.number) } : {}),
      },
      children,
    };
  }
}
