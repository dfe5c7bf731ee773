import { Injectable } from '@nestjs/common';
import { analyzeCheckFailure, DomainError, ErrorCode, TaskType } from '@app/domain';
import { GithubClient } from '@app/github';
import { agentTriggerChild } from './agent-trigger';
import { HandlerResult, inputNumber, TaskContext, TaskHandler } from './task-handler';

const FAILING = new Set([
  'failure',
  'timed_out',
  'startup_failure',
  'cancelled',
  'action_required',
]);

/** Reads the suite's runs through the GitHub API and classifies the failed ones. */
@Injectable()
export class CheckSuiteFailureAnalysisHandler implements TaskHandler {
  readonly taskType = TaskType.CheckSuiteFailureAnalysis;

  constructor(private readonly github: GithubClient) {}

  async handle({ task }: TaskContext): Promise<HandlerResult> {
    const suiteId = inputNumber(task.inputData, 'check_suite_id');
    if (!task.repository || suiteId === null) {
      throw new DomainError(ErrorCode.InvalidInput, 'task has no repository or check suite id');
    }
    const runs = await this.github.listCheckRunsForSuite(task.repository, suiteId);
    const failed = runs.filter((r) => r.conclusion !== null && FAILING.has(r.conclusion));
    const analysis = analyzeCheckFailure({
      checkNames: failed.map((r) => ({ name: r.name, conclusion: r.conclusion })),
    });
    const children = analysis.shouldTriggerAgent
      ? [
          agentTriggerChild(task, {
            kind: 'check_suite_failure',
            repository: task.repository,
            prNumber: task.prNumber,
            branch: task.branch,
            headSha: task.commitSha,
            reasons: analysis.reasons,
            categories: analysis.categories,
            failedChecks: failed.map((r) => ({
              name: r.name,
              conclusion: r.conclusion,
              detailsUrl: r.detailsUrl ?? r.htmlUrl,
            })),
          }),
        ]
      : [];
    return {
      outputData: {
        pr_number: task.prNumber,
        check_suite_id: suiteId,
        runs_total: runs.length,
        failed_runs: failed.length,
        ...analysis,
      },
      children,
    };
  }
}
