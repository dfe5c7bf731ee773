import { trace } from '@opentelemetry/api';
import { Counter, Histogram, Registry } from 'prom-client';
import { annotateLogContext, labelCombinations, secondsSince, startAtZero } from '@app/platform';

/**
 * How one attempt of a task ended. `waiting`: the attempt is over but the task stays running (an
 * agent run followed by polls), so it finishes later through {@link TaskTelemetry.taskFinished}.
 */
export type AttemptOutcome = 'completed' | 'failed' | 'cancelled' | 'retrying' | 'waiting' | 'held';

/** Every `outcome` of `workflow_task_duration_seconds`. */
const ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = [
  'completed',
  'failed',
  'cancelled',
  'retrying',
  'waiting',
  'held',
];

/** The parts of a claimed task the telemetry reads. */
export interface ObservedAttempt {
  task: { taskId: string; taskType: string };
  executionId: number;
  attempt: number;
}

/** `task_type` of a task whose type is not in the list the app gave. */
const OTHER = 'other';

/** `status` of `workflow_tasks_total`. */
const TASK_STATUSES = ['created', 'completed', 'failed', 'cancelled'] as const;

/**
 * Task metrics (`workflow_tasks_total`, `workflow_task_duration_seconds`,
 * `workflow_task_retries_total`) and the log/trace annotations of an attempt. Every update is a
 * constant-time counter or histogram operation. `taskTypes` are the label values of `task_type`
 * (anything else is counted as `other`); both counters start at 0 for each of them.
 */
export class TaskTelemetry {
  private readonly tasks: Counter<'task_type' | 'status'>;
  private readonly duration: Histogram<'task_type' | 'outcome'>;
  private readonly retries: Counter<'task_type'>;
  private readonly startedAt = new WeakMap<object, number>();
  private readonly taskTypes: ReadonlySet<string>;

  constructor(registry: Registry, taskTypes: readonly string[]) {
    this.taskTypes = new Set(taskTypes);
    this.tasks = new Counter({
      name: 'workflow_tasks_total',
      help: 'Workflow tasks created (status="created") and finished (status="completed"|"failed"|"cancelled"), by task type',
      labelNames: ['task_type', 'status'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'workflow_task_duration_seconds',
      help: 'Duration of one task attempt in the worker, by task type and how the attempt ended',
      labelNames: ['task_type', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    });
    this.retries = new Counter({
      name: 'workflow_task_retries_total',
      help: 'Task attempts that failed transiently and were scheduled for a retry, by task type',
      labelNames: ['task_type'],
      registers: [registry],
    });
    startAtZero(this.tasks, labelCombinations({ task_type: taskTypes, status: TASK_STATUSES }));
    startAtZero(this.retries, labelCombinations({ task_type: taskTypes }));
    startAtZero(
      this.duration,
      labelCombinations({ task_type: taskTypes, outcome: ATTEMPT_OUTCOMES }),
    );
  }

  /** A task that waited on an agent run reached its final status. */
  taskFinished(taskType: string, status: 'completed' | 'failed' | 'cancelled'): void {
    this.tasks.inc({ task_type: this.taskTypeLabel(taskType), status });
  }

  /** Tasks just committed (at intake, or children of a finished analysis). */
  tasksCreated(tasks: ReadonlyArray<{ taskType: string }>): void {
    for (const task of tasks)
      this.tasks.inc({ task_type: this.taskTypeLabel(task.taskType), status: 'created' });
  }

  /** An attempt has claimed its task: its ids go on every log line and on the job's span. */
  attemptStarted(claim: ObservedAttempt): void {
    this.startedAt.set(claim, performance.now());
    annotateLogContext({
      task_id: claim.task.taskId,
      task_type: claim.task.taskType,
      execution_id: claim.executionId,
      attempt: claim.attempt,
    });
    trace.getActiveSpan()?.setAttributes({
      'task.type': claim.task.taskType,
      'task.attempt': claim.attempt,
      'task.execution_id': claim.executionId,
    });
  }

  /** An attempt ended; `children` are the tasks it created. */
  attemptEnded(
    claim: ObservedAttempt,
    outcome: AttemptOutcome,
    children: ReadonlyArray<{ taskType: string }> = [],
  ): void {
    const taskType = this.taskTypeLabel(claim.task.taskType);
    const started = this.startedAt.get(claim);
    if (started !== undefined) {
      this.duration.observe({ task_type: taskType, outcome }, secondsSince(started));
      this.startedAt.delete(claim);
    }
    if (outcome === 'retrying') this.retries.inc({ task_type: taskType });
    // Waiting (an agent run) and held (a rate limit) are not ends: the task goes on.
    else if (outcome !== 'waiting' && outcome !== 'held')
      this.tasks.inc({ task_type: taskType, status: outcome });
    this.tasksCreated(children);
    trace.getActiveSpan()?.setAttribute('task.outcome', outcome);
  }

  private taskTypeLabel(value: string): string {
    return this.taskTypes.has(value) ? value : OTHER;
  }
}
