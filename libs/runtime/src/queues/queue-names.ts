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

/**
 * Bull's key prefix for a QUEUE_PREFIX: wrapped in a Redis Cluster hash tag (`orchestrator` →
 * `{orchestrator}`, keys `{orchestrator}:analysis:wait`, …). Bull's Lua scripts touch several
 * keys of a queue at once, which a Redis Cluster allows only when they hash to one slot; with the
 * tag, every key of every queue of a deployment does. A prefix that already holds a tag (a
 * non-empty `{…}`, the part Redis hashes) is used as it is.
 */
export function bullPrefix(queuePrefix: string): string {
  const open = queuePrefix.indexOf('{');
  const close = open >= 0 ? queuePrefix.indexOf('}', open + 1) : -1;
  return close > open + 1 ? queuePrefix : `{${queuePrefix}}`;
}

/**
 * The part of a Redis key that Redis Cluster hashes to pick its slot: the text between the first
 * `{` and the next `}` when that is not empty, otherwise the whole key.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  return close > open + 1 ? key.slice(open + 1, close) : key;
}
