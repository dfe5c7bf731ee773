import { TaskType } from '../tasks/task-type';

/** Bull queues. Agent triggers have their own queue so Codegen limits never stall analysis. */
export enum QueueName {
  Analysis = 'analysis',
  Codegen = 'codegen',
}

export enum JobName {
  RunTask = 'run-task',
}

/** Jobs carry ids, not state; the job id is the task id. */
export interface RunTaskJob {
  taskId: string;
}

export function queueForTaskType(taskType: TaskType): QueueName {
  switch (taskType) {
    case TaskType.CodegenTrigger:
      return QueueName.Codegen;
    case TaskType.PullRequestAnalysis:
    case TaskType.CheckFailureAnalysis:
    case TaskType.CheckSuiteFailureAnalysis:
    case TaskType.PushAnalysis:
    case TaskType.Cleanup:
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
