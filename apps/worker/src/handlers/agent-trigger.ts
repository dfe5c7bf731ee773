import { buildCodegenPrompt, CheckScope, TaskType } from '@app/domain';
import { ChildTaskDraft, WorkflowTaskEntity } from '@app/persistence';

/** Everything the prompt needs; check_run and check_suite failures share one trigger kind. */
export type PromptContext = Parameters<typeof buildCodegenPrompt>[0];

/** The failure a run is sent to fix, so its outcome can be judged by the same check later. */
export interface JudgedBy {
  scope: CheckScope;
  /** Check run names, or the suite's app slug for a suite. */
  names: string[];
  /** When the failing check completed (ISO), for the time to green. */
  completedAt: string | null;
}

/**
 * The agent-run child of an analysis. Its dedupe key (repository, PR, head SHA, trigger kind)
 * is unique among live and completed tasks, so one failing commit starts one run.
 */
export function agentTriggerChild(
  parent: WorkflowTaskEntity,
  context: PromptContext,
  pr: { number: number; branch: string | null } | null = null,
  judgedBy: JudgedBy | null = null,
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
      ...(judgedBy && judgedBy.names.length > 0
        ? {
            check_scope: judgedBy.scope,
            failing_checks: judgedBy.names.slice(0, 30),
            failing_check_completed_at: judgedBy.completedAt,
          }
        : {}),
    },
  };
}

/** `<scope>.completed_at` (`updated_at` for a suite) of the delivery, when it is a valid time. */
export function checkCompletedAt(payload: unknown, scope: CheckScope): string | null {
  const check = (payload as Record<string, unknown> | null | undefined)?.[scope];
  const value = (check as Record<string, unknown> | null | undefined)?.[
    scope === 'check_run' ? 'completed_at' : 'updated_at'
  ];
  if (typeof value !== 'string' || value.length > 64) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
