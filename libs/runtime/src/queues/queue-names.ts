import type { JobTelemetry } from '@app/platform';
import { TaskType } from '@app/domain';

/** Bull queues. Agent triggers have their own queue so Codegen limits never stall analysis. */
export enum QueueName {
  Analysis = 'analysis',
  Codegen = 'codegen',
  /** Follow-up polls of started agent runs; rate-limited separately (Codegen's read limit). */
  AgentRunPoll = 'agent-run-poll',
}

export enum JobName {
  RunTask = 'run-task',
  PollAgentRun = 'poll-agent-run',
}

/** Which job names each queue carries; the worker refuses to start without a handler for each. */
export const JOBS_BY_QUEUE: Record<QueueName, readonly JobName[]> = {
  [QueueName.Analysis]: [JobName.RunTask],
  [QueueName.Codegen]: [JobName.RunTask],
  [QueueName.AgentRunPoll]: [JobName.PollAgentRun],
};

/** A poll of the agent run a `codegen_trigger` task started; `poll` counts from 1. */
export interface PollAgentRunJob extends JobTelemetry {
  taskId: string;
  poll: number;
}

/** Jobs carry ids, not state; the job id is the task id. */
export interface RunTaskJob extends JobTelemetry {
  taskId: string;
}

/** Queues that carry `run-task` jobs. */
export type TaskQueueName = QueueName.Analysis | QueueName.Codegen;

export function queueForTaskType(taskType: TaskType): TaskQueueName {
  switch (taskType) {
    case TaskType.CodegenTrigger:
      return QueueName.Codegen;
    case TaskType.PullRequestAnalysis:
    case TaskType.CheckFailureAnalysis:
    case TaskType.CheckSuiteFailureAnalysis:
    case TaskType.PushAnalysis:
    case TaskType.Cleanup:
    case TaskType.DeliveryRecovery:
    case TaskType.AgentOutcome:
      return QueueName.Analysis;
  }
}

/**
 * Exponential backoff with full jitter between `base` and the cap; attempt 1 is the first retry.
 * Jitter spreads a burst of failures so they do not all retry at the same instant.
 */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
