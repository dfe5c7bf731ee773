/** Kinds of workflow task. The string values are stored in `workflow_tasks.task_type`. */
export enum TaskType {
  PullRequestAnalysis = 'pull_request_analysis',
  CheckFailureAnalysis = 'check_failure_analysis',
  CheckSuiteFailureAnalysis = 'check_suite_failure_analysis',
  PushAnalysis = 'push_analysis',
  CodegenTrigger = 'codegen_trigger',
  /** Retention run asked for by an operator; tracked like any task. */
  Cleanup = 'cleanup',
  /** Asks GitHub to redeliver what it could not deliver; periodic or asked for by an operator. */
  DeliveryRecovery = 'delivery_recovery',
  /** Applies a check or synchronize delivery to the pending outcomes of agent runs it concerns. */
  AgentOutcome = 'agent_outcome',
}

/**
 * Task status machine: pending (stored, not yet in Redis) → queued (in Bull) → running →
 * completed | failed | cancelled. A retry moves failed or cancelled back to pending.
 */
export enum TaskStatus {
  Pending = 'pending',
  Queued = 'queued',
  Running = 'running',
  Completed = 'completed',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = [
  TaskStatus.Completed,
  TaskStatus.Failed,
  TaskStatus.Cancelled,
];

export const LIVE_TASK_STATUSES: readonly TaskStatus[] = [
  TaskStatus.Pending,
  TaskStatus.Queued,
  TaskStatus.Running,
];

export function isTerminalStatus(status: string): boolean {
  return (TERMINAL_TASK_STATUSES as readonly string[]).includes(status);
}
