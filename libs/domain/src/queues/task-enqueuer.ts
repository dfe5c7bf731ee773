import type { Queue } from 'bull';
import type { Logger } from 'winston';
import { TaskType } from '../tasks/task-type';
import { TaskRepository } from '../tasks/task.repository';
import { JobName, QueueName, queueForTaskType, RunTaskJob } from './queue-names';

export interface EnqueueRequest {
  taskId: string;
  taskType: TaskType;
  /** Bull attempts for this job; the database's retry_count stays the authority. */
  attemptsLeft: number;
}

/**
 * Hands committed tasks to Bull after the transaction, never inside it. Each add is bounded by a
 * timeout and skipped while Redis is not connected: a task that misses its add stays `pending`
 * and the worker's relay enqueues it. `jobId` = task id, so a second add is a no-op.
 * Successful adds are marked `queued` in batches, one UPDATE for many deliveries.
 */
export class TaskEnqueuer {
  private readonly queuedBuffer: string[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly queues: Record<QueueName, Queue<RunTaskJob>>,
    private readonly tasks: TaskRepository,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
    private readonly flushIntervalMs = 50,
  ) {}

  /** Enqueues and resolves with the ids that reached Redis; never rejects. */
  async enqueue(requests: EnqueueRequest[]): Promise<string[]> {
    if (requests.length === 0) return [];
    const results = await Promise.all(requests.map((r) => this.addOne(r)));
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

  private async addOne(request: EnqueueRequest): Promise<boolean> {
    const queue = this.queues[queueForTaskType(request.taskType)];
    if (queue.client.status !== 'ready') return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const added = queue.add(
        JobName.RunTask,
        { taskId: request.taskId },
        {
          jobId: request.taskId,
          attempts: Math.max(1, request.attemptsLeft),
          backoff: { type: 'task' },
          removeOnComplete: true,
          removeOnFail: true,
        },
      );
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
      });
      const outcome = await Promise.race([added, timeout]);
      if (outcome === 'timeout') {
        added.catch(() => undefined);
        this.logger.warn('enqueue timed out; the relay will enqueue the task', {
          task_id: request.taskId,
        });
        return false;
      }
      return true;
    } catch (error) {
      this.logger.warn('enqueue failed; the relay will enqueue the task', {
        task_id: request.taskId,
        error: String(error),
      });
      return false;
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
