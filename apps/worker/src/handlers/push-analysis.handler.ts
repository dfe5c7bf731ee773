import { Injectable } from '@nestjs/common';
import { analysisSkipReason, REPOSITORY_RULES_PATH, summarizePush, TaskType } from '@app/domain';
import { RepositoryRulesService } from '../agents/repository-rules.service';
import { defaultBranchOf } from './agent-policy';
import { HandlerResult, TaskContext, TaskHandler } from './task-handler';

/**
 * Summarises a push to an analysed branch from its payload. Intake chose the branch by the
 * server's rules; a repository's own file may narrow `events` and `push_branches`, and a push it
 * excludes ends `cancelled` with the rule that excluded it.
 */
@Injectable()
export class PushAnalysisHandler implements TaskHandler {
  readonly taskType = TaskType.PushAnalysis;

  constructor(private readonly repositoryRules: RepositoryRulesService) {}

  async handle({ task, event }: TaskContext): Promise<HandlerResult> {
    const summary = summarizePush(event?.payload ?? {});
    // A push to the default branch that touched the repository's rules file (or whose file list
    // was cut short): every worker reads the file again before its next use.
    const touched =
      summary.filesTruncated ||
      [...summary.added, ...summary.modified, ...summary.removed].includes(REPOSITORY_RULES_PATH);
    const onDefault = summary.branch !== null && summary.branch === defaultBranchOf(event);
    const extra: Record<string, unknown> =
      touched && onDefault ? { repository_rules_refresh: true } : {};
    if (touched && onDefault && task.repository)
      await this.repositoryRules.invalidate(task.repository);
    if (task.repository) {
      const effective = await this.repositoryRules.forAnalysis(
        task.repository,
        event?.installationId ?? null,
        defaultBranchOf(event),
      );
      const skip = analysisSkipReason(
        { eventType: 'push', pushBranch: summary.branch ?? task.branch },
        effective,
      );
      if (skip !== null)
        return { outputData: { skipped: true, reason: skip, ...extra }, cancel: skip };
      if (effective.unreadable !== null) extra.repository_rules_unreadable = effective.unreadable;
    }
    return { outputData: { ...summary, ...extra } };
  }
}
