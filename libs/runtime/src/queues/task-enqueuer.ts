import type { Queue } from 'bull';
import type { Logger } from 'winston';
import { captureJobTelemetry, JobTelemetry } from '@app/platform';
import { TaskType } from '@app/domain';
import { TaskRelayRepository } from '@app/persistence';
import { JobName, queueForTaskType, RunTaskJob, TaskQueueName } from './queue-names';

export interface EnqueueRequest {
  taskId: string;
  taskType: TaskType;
  /** Bull attempts for this job; the database's retry_count stays the authority. */
  attemptsLeft: number;
}

/** The adds for tasks just created: every attempt (the first and each retry) is still ahead. */
export function newTaskJobs(
  tasks: ReadonlyArray<{ taskId: string; taskType: TaskType; maxRetries: number }>,
): EnqueueRequest[] {
  return tasks.map((t) => ({
    taskId: t.taskId,
    taskType: t.taskType,
    attemptsLeft: t.maxRetries + 1,
  }));
}

/**
 * Hands committed tasks to Bull after the transaction, never inside it. Each add is bounded by a
 * timeout and skipped while Redis is not connected: a task that misses its add stays `pending`
 * and the worker's relay enqueues it. `jobId` = task id, so a second add is a no-op.
 * Adds wait for the end of the current event-loop turn, so answers already computed are written
 * first, and all adds of one turn go to Redis together (one MULTI per queue, not one round trip
 * each; a turn's lone add is sent as it is). Successful adds are marked `queued` in batches, one
 * UPDATE for many deliveries.
 */
export class TaskEnqueuer {
  private readonly queuedBuffer: string[] = [];
  private pendingAdds: PendingAdd[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly queues: Record<TaskQueueName, Queue<RunTaskJob>>,
    private readonly tasks: TaskRelayRepository,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
    private readonly flushIntervalMs = 50,
  ) {}

  /** Enqueues and resolves with the ids that reached Redis; never rejects. */
  async enqueue(requests: EnqueueRequest[]): Promise<string[]> {
    if (requests.length === 0) return [];
    // The caller's correlation id and trace context ride along, so the worker continues them.
    const telemetry = captureJobTelemetry();
    const results = await Promise.all(requests.map((r) => this.schedule(r, telemetry)));
    const added = requests.filter((_, i) => results[i]).map((r) => r.taskId);
    if (added.length > 0) this.bufferQueued(added);
    return added;
  }

  /** Writes the buffered `queued` marks now (used at shutdown and by tests). */
  async flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const ids = this.queuedBuffer.splice(0, this.queuedBuffer.length);
    this.flushing = this.flushing.then(async () => {
      if (ids.length === 0) return;
      try {
        await this.tasks.markQueued(ids);
      } catch (error) {
        // Harmless: the tasks stay pending and the relay's add is a no-op for existing jobs.
        this.logger.warn('could not mark tasks queued', {
          count: ids.length,
          error: String(error),
        });
      }
    });
    await this.flushing;
  }

  /** Joins the batch sent at the end of this event-loop turn; resolves true once in Redis. */
  private schedule(request: EnqueueRequest, telemetry: JobTelemetry): Promise<boolean> {
    return new Promise((resolve) => {
      this.pendingAdds.push({ request, telemetry, resolve });
      if (this.pendingAdds.length === 1) setImmediate(() => void this.sendPendingAdds());
    });
  }

  private async sendPendingAdds(): Promise<void> {
    const pending = this.pendingAdds;
    this.pendingAdds = [];
    const byQueue = new Map<TaskQueueName, PendingAdd[]>();
    for (const add of pending) {
      const name = queueForTaskType(add.request.taskType);
      const adds = byQueue.get(name);
      if (adds) adds.push(add);
      else byQueue.set(name, [add]);
    }
    const sends: Array<Promise<void>> = [];
    for (const [name, adds] of byQueue) {
      for (let i = 0; i < adds.length; i += MAX_ADDS_PER_BATCH) {
        sends.push(this.addBatch(this.queues[name], adds.slice(i, i + MAX_ADDS_PER_BATCH)));
      }
    }
    await Promise.all(sends);
  }

  private async addBatch(queue: Queue<RunTaskJob>, adds: PendingAdd[]): Promise<void> {
    if (queue.client.status !== 'ready') {
      for (const add of adds) add.resolve(false);
      return;
    }
    const taskIds = adds.map((a) => a.request.taskId);
    let timer: NodeJS.Timeout | undefined;
    try {
      const jobs = adds.map(({ request, telemetry }) => ({
        name: JobName.RunTask,
        data: { ...telemetry, taskId: request.taskId },
        opts: {
          jobId: request.taskId,
          attempts: Math.max(1, request.attemptsLeft),
          backoff: { type: 'task' },
          removeOnComplete: true,
          removeOnFail: true,
        },
      }));
      // A lone add goes out as the one script call it is; a MULTI around it would add two
      // commands and a transaction object for nothing (the common case at low traffic).
      const added =
        jobs.length === 1
          ? queue.add(jobs[0].name, jobs[0].data, jobs[0].opts).then((job) => [job])
          : queue.addBulk(jobs);
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
      });
      const outcome = await Promise.race([added, timeout]);
      if (outcome === 'timeout') {
        added.catch(() => undefined);
        this.logger.warn('enqueue timed out; the relay will enqueue the tasks', {
          task_ids: taskIds,
        });
        for (const add of adds) add.resolve(false);
        return;
      }
      // A job whose add failed inside the MULTI comes back without an id.
      outcome.forEach((job, i) => adds[i].resolve(job.id !== undefined && job.id !== null));
    } catch (error) {
      this.logger.warn('enqueue failed; the relay will enqueue the tasks', {
        task_ids: taskIds,
        error: String(error),
      });
      for (const add of adds) add.resolve(false);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private bufferQueued(ids: string[]): void {
    this.queuedBuffer.push(...ids);
    if (this.queuedBuffer.length >= 500) {
      void this.flush();
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        void this.flush();
      }, this.flushIntervalMs);
    }
  }
}

/** One add waiting for the end of the event-loop turn. */
interface PendingAdd {
  request: EnqueueRequest;
  telemetry: JobTelemetry;
  resolve: (added: boolean) => void;
}

/** Bounds one MULTI, so a burst never becomes one huge Redis transaction. */
const MAX_ADDS_PER_BATCH = 200;
