import { Injectable } from '@nestjs/common';
import { REPOSITORY_RULES_PATH, summarizePush, TaskType } from '@app/domain';
import { RepositoryRulesService } from '../agents/repository-rules.service';
import { defaultBranchOf } from './agent-policy';
import { HandlerResult, TaskContext, TaskHandler } from './task-handler';

/** Summarises a push to the default branch from its payload. */
@Injectable()
export class PushAnalysisHandler implements TaskHandler {
  readonly taskType = TaskType.PushAnalysis;

  constructor(private readonly repositoryRules: RepositoryRulesService) {}

  async handle({ task, event }: TaskContext): Promise<HandlerResult> {
    const summary = summarizePush(event?.payload ?? {});
    // A push to the default branch that touched the repository's rules file (or whose file list
    // was cut short): every worker reads the file again before its next agent run.
    const touched =
      summary.filesTruncated ||
      [...summary.added, ...summary.modified, ...summary.removed].includes(REPOSITORY_RULES_PATH);
    const onDefault = summary.branch !== null && summary.branch === defaultBranchOf(event);
    if (touched && onDefault && task.repository)
      await this.repositoryRules.invalidate(task.repository);
    return {
      outputData: {
        ...summary,
        ...(touched && onDefault ? { repository_rules_refresh: true } : {}),
      },
    };
  }
}
