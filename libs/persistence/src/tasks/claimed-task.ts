import type { TaskType } from '@app/domain';
import type { WorkflowTaskEntity } from './workflow-task.entity';

/** What a worker holds while it runs one attempt of a task. */
export interface ClaimedTask {
  task: WorkflowTaskEntity;
  claimToken: string;
  executionId: number;
  attempt: number;
  /** Executions left `running` by a worker that died, now marked abandoned. */
  abandonedExecutions: number;
}

export interface ChildTaskDraft {
  taskType: TaskType;
  inputData: Record<string, unknown>;
  dedupeKey: string | null;
  /** When the child concerns another PR than its parent (a PR found by head SHA). */
  prNumber?: number;
  branch?: string | null;
  /** When the child concerns another commit than its parent (a follow-up of the agent's commit). */
  commitSha?: string;
}

export type FinishOutcome =
  | {
      kind: 'completed';
      outputData: Record<string, unknown>;
      codegen?: { id: string; url: string | null };
    }
  | { kind: 'failed'; error: string; outputData?: Record<string, unknown> }
  | { kind: 'cancelled'; reason: string; outputData?: Record<string, unknown> };

/** What finishing an attempt created: child tasks, and the dedupe keys that joined live ones. */
export interface FinishResult {
  children: Array<{ taskId: string; taskType: TaskType }>;
  joined: string[];
}

/** Why an operator's retry was refused. */
export type RetryRefusal = 'not_found' | 'not_retryable' | 'exhausted' | 'duplicate';

export type OperatorRetryResult =
  | { ok: true; taskType: TaskType; attemptsLeft: number }
  | { ok: false; reason: RetryRefusal; status?: string };
