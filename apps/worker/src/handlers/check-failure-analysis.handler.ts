import { Injectable } from '@nestjs/common';
import { analyzeCheckFailure, DomainError, ErrorCode, TaskType } from '@app/domain';
import { agentTriggerChild } from './agent-trigger';
import { HandlerResult, inputString, TaskContext, TaskHandler } from './task-handler';

/** Classifies one failed check run for the task's own PR. */
@Injectable()
export class CheckFailureAnalysisHandler implements TaskHandler {
  readonly taskType = TaskType.CheckFailureAnalysis;

  async handle({ task }: TaskContext): Promise<HandlerResult> {
    if (!task.repository) throw new DomainError(ErrorCode.InvalidInput, 'task has no repository');
    const name = inputString(task.inputData, 'check_run_name') ?? 'unnamed check';
    const conclusion = inputString(task.inputData, 'conclusion');
    const detailsUrl = inputString(task.inputData, 'details_url');
    const analysis = analyzeCheckFailure({ checkNames: [{ name, conclusion }] });
    const children = analysis.shouldTriggerAgent
      ? [
          agentTriggerChild(task, {
            kind: 'check_failure',
            repository: task.repository,
            prNumber: task.prNumber,
            branch: task.branch,
            headSha: task.commitSha,
            reasons: analysis.reasons,
            categories: analysis.categories,
            failedChecks: [{ name, conclusion, detailsUrl }],
          }),
        ]
      : [];
    return { outputData: { pr_number: task.prNumber, check_name: name, ...analysis }, children };
  }
}
