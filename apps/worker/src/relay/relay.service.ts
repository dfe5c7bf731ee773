import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { Logger } from 'winston';
import { LOGGER } from '@app/platform';
import {
  ExclusiveRunRepository,
  TaskLifecycleRepository,
  TaskRelayRepository,
} from '@app/persistence';
import { QueueName, queueForTaskType, RunTaskJob, TaskEnqueuer } from '@app/runtime';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { RelayTelemetry } from '../listener/relay-telemetry';

export interface RelayPassResult {
  pendingEnqueued: number;
  queuedRestored: number;
  expiredRequeued: number;
}

/**
 * PostgreSQL is the source of truth; Redis is transport. The relay closes every gap between
 * them: tasks committed but never enqueued, queued tasks whose jobs Redis lost, and running
 * tasks whose worker died. Every add uses jobId = task id. One replica at a time runs a pass
 * (an `exclusive_runs` record under an advisory lock); the others skip that tick.
 */
@Injectable()
export class RelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private readonly queues: Record<QueueName, Queue<RunTaskJob>>;

  constructor(
    private readonly tasks: TaskRelayRepository,
    private readonly lifecycle: TaskLifecycleRepository,
    private readonly exclusive: ExclusiveRunRepository,
    private readonly enqueuer: TaskEnqueuer,
    @InjectQueue(QueueName.Analysis) analysis: Queue<RunTaskJob>,
    @InjectQueue(QueueName.Codegen) codegen: Queue<RunTaskJob>,
    @InjectQueue(QueueName.AgentRunPoll) polls: Queue<RunTaskJob>,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly telemetry: RelayTelemetry,
  ) {
    this.queues = {
      [QueueName.Analysis]: analysis,
      [QueueName.Codegen]: codegen,
      [QueueName.AgentRunPoll]: polls,
    };
  }

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /**
   * One pass, unless another replica's pass is running (then nothing is done); public so
   * operators' tooling and tests can run it on demand.
   */
  async runOnce(): Promise<RelayPassResult> {
    const idle: RelayPassResult = { pendingEnqueued: 0, queuedRestored: 0, expiredRequeued: 0 };
    if (!this.redisReady()) return idle;
    const pass = await this.exclusive.run('relay', this.config.workerId, () => this.pass());
    return pass.ran ? pass.value : idle;
  }

  private async pass(): Promise<RelayPassResult> {
    const result: RelayPassResult = { pendingEnqueued: 0, queuedRestored: 0, expiredRequeued: 0 };
    const { batchSize, pendingAgeMs, queuedCheckAgeMs } = this.config.relay;

    const pending = await this.tasks.listStalePending(pendingAgeMs, batchSize);
    result.pendingEnqueued = (await this.enqueuer.enqueue(pending)).length;

    const quiet = await this.tasks.listQuietQueued(queuedCheckAgeMs, batchSize);
    const missing = [];
    for (const candidate of quiet) {
      const job = await this.liveJob(queueForTaskType(candidate.taskType), candidate.taskId);
      if (!job) missing.push(candidate);
    }
    result.queuedRestored = (await this.enqueuer.enqueue(missing)).length;
    await this.tasks.touch(quiet.map((c) => c.taskId));

    const expired = await this.tasks.listExpiredLeases(batchSize);
    const requeue = [];
    for (const candidate of expired) {
      const job = await this.liveJob(queueForTaskType(candidate.taskType), candidate.taskId);
      // A job that still exists belongs to Bull's stalled-job recovery; leave it to Bull.
      if (!job && (await this.lifecycle.requeueExpired(candidate.taskId)) === 'queued')
        requeue.push(candidate);
    }
    result.expiredRequeued = (await this.enqueuer.enqueue(requeue)).length;
    await this.enqueuer.flush();
    this.telemetry.pass(result);

    if (result.pendingEnqueued + result.queuedRestored + result.expiredRequeued > 0) {
      this.logger.info('relay re-enqueued tasks from PostgreSQL', {
        pending_enqueued: result.pendingEnqueued,
        queued_restored: result.queuedRestored,
        expired_requeued: result.expiredRequeued,
      });
    }
    return result;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((error: unknown) => this.logger.warn('relay pass failed', { error: String(error) }))
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, this.config.relay.intervalMs);
  }

  /**
   * The task's job when it can still run it. A job Bull already finished or failed (for example
   * one that stalled twice when its workers died) will never run again, and neither will one
   * whose hash is in none of Bull's lists ('stuck'; seen after a replicated fault run, where
   * workers were killed and frozen): it is removed, so the task is re-enqueued under the same job
   * id. Bull reads a job's state list by list, not atomically, so a job moving between two lists
   * can read as in none: 'stuck' counts only when a second reading agrees. Bull refuses to
   * remove a job a worker holds the lock of; such a job is left to Bull's stalled-job recovery.
   */
  private async liveJob(name: QueueName, taskId: string): Promise<unknown> {
    const job = await this.queue(name).getJob(taskId);
    if (!job) return null;
    let state = await job.getState();
    if (state === 'stuck') state = await job.getState();
    if (state === 'completed' || state === 'failed' || state === 'stuck') {
      const removed = await job.remove().then(
        () => true,
        () => false,
      );
      if (removed && state === 'stuck') {
        this.logger.warn('task job was in no Bull list; re-enqueueing it', {
          task_id: taskId,
          queue: name,
        });
      }
      return removed || state !== 'stuck' ? null : job;
    }
    return job;
  }

  private queue(name: QueueName): Queue<RunTaskJob> {
    return this.queues[name];
  }

  private redisReady(): boolean {
    return Object.values(QueueName).every((name) => this.queue(name).client.status === 'ready');
  }
}
