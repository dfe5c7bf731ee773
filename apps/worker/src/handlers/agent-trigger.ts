import { buildCodegenPrompt, TaskType } from '@app/domain';
import { ChildTaskDraft, WorkflowTaskEntity } from '@app/persistence';

/** Everything the prompt needs; check_run and check_suite failures share one trigger kind. */
export type PromptContext = Parameters<typeof buildCodegenPrompt>[0];

/**
 * The agent-run child of an analysis. Its dedupe key (repository, PR, head SHA, trigger kind)
 * is unique among live and completed tasks, so one failing commit starts one run.
 */
export function agentTriggerChild(
  parent: WorkflowTaskEntity,
  context: PromptContext,
  pr: { number: number; branch: string | null } | null = null,
): ChildTaskDraft {
  const triggerKind =
    context.kind === 'check_failure' || context.kind === 'check_suite_failure'
      ? 'check_failure'
      : 'pull_request';
  const prNumber = pr?.number ?? parent.prNumber;
  const dedupeKey =
    parent.repository && parent.commitSha && prNumber !== null
      ? `${parent.repository}#${prNumber}@${parent.commitSha}:${triggerKind}`
      : null;
  return {
    taskType: TaskType.CodegenTrigger,
    dedupeKey,
    ...(pr ? { prNumber: pr.number, branch: pr.branch } : {}),
    inputData: {
      trigger_kind: triggerKind,
      prompt_kind: context.kind,
      reasons: context.reasons,
      // Read by the trust gate: a fork PR's run must never push to the fork's branch.
      push_target: context.fork ? 'new_pull_request' : 'head_branch',
      prompt: buildCodegenPrompt({ ...context, prNumber }),
    },
  };
}
