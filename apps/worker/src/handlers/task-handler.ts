import type { TaskType } from '@app/domain';
import type { ChildTaskDraft, WebhookEventEntity, WorkflowTaskEntity } from '@app/persistence';

export interface TaskContext {
  task: WorkflowTaskEntity;
  /** The delivery that implied the task (its payload), when it still exists. */
  event: WebhookEventEntity | null;
  /** Aborted when the attempt's deadline passes. */
  signal: AbortSignal;
  attempt: number;
  /** Lets a handler persist progress that must survive a crash (an agent run id). */
  checkpoint: (update: { codegenTaskId: string; codegenTaskUrl: string | null }) => Promise<void>;
  /**
   * Records that an agent run is about to be requested (true) or was provably not started
   * (false), before and after the request. False back: this attempt no longer holds the task.
   */
  markAgentRunRequested: (requested: boolean) => Promise<boolean>;
}

export interface HandlerResult {
  outputData: Record<string, unknown>;
  children?: ChildTaskDraft[];
  codegen?: { id: string; url: string | null };
  /** Skip the work by policy: the task ends `cancelled` with this reason. */
  cancel?: string;
  /** An agent run was started (or resumed): the task stays running while it is polled. */
  waitForAgentRun?: boolean;
}

/** One per task type. Throw an ExternalServiceError with transient=true to be retried. */
export interface TaskHandler {
  readonly taskType: TaskType;
  handle(ctx: TaskContext): Promise<HandlerResult>;
}

export const TASK_HANDLERS = Symbol('TASK_HANDLERS');

/** Reads a string field from a task's JSON input without trusting its shape. */
export function inputString(input: Record<string, unknown>, key: string): string | null {
  const value = input[key];
  return typeof value === 'string' ? value : null;
}

export function inputNumber(input: Record<string, unknown>, key: string): number | null {
  const value = input[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
