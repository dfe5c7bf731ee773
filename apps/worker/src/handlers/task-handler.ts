import type { TaskType } from '@app/domain';
import type { ChildTaskDraft, WebhookEventEntity, WorkflowTaskEntity } from '@app/persistence';

export interface TaskContext {
  task: WorkflowTaskEntity;
  /** The delivery that implied the task (its payload), when it still exists. */
  event: WebhookEventEntity | null;
  /** Aborted when the attempt's deadline passes. */
  signal: AbortSignal;
  attempt: number;
  /**
   * Epoch ms (this process's clock) after which this attempt starts no outside side effect: its
   * claim on the task may have passed to another worker by then (an attempt's deadline, before
   * its lease ends).
   */
  sendBy: number;
  /**
   * Lets a handler persist progress that must survive a crash (an agent run id). False back:
   * this attempt no longer holds the task (another worker took it over), so it must stop.
   */
  checkpoint: (update: { codegenTaskId: string; codegenTaskUrl: string | null }) => Promise<boolean>;
  /**
   * Records that an agent run is about to be requested (true) or was provably not started
   * (false), before and after the request. False back: this attempt no longer holds the task.
   * A request (true) also takes one of Codegen's creations per minute, counted across all
   * workers; when none is left it throws a hold until one frees.
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

/**
 * Thrown by a handler whose task must wait without spending an attempt: the task goes back to
 * `queued` (its error naming the wait) and runs again after `waitMs`.
 */
export class HoldAttemptError extends Error {
  constructor(
    message: string,
    readonly waitMs: number,
  ) {
    super(message);
    this.name = 'HoldAttemptError';
  }
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
