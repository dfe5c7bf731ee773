import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'winston';
import { TaskType } from '@app/domain';
import { LOGGER } from '@app/platform';
import { DeliveryRecoveryRepository } from '@app/persistence';
import { TaskEnqueuer } from '@app/runtime';
import { deliveryHookKey } from '@app/github';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';

/** First look shortly after start, so a worker back from an outage recovers soon. */
const FIRST_TICK_MAX_MS = 5_000;

/**
 * Every DELIVERY_RECOVERY_INTERVAL_MS, creates a tracked `delivery_recovery` task unless one is
 * live or was created within the interval (by any worker, or an operator), and enqueues it. Every
 * pass is therefore visible in the tasks API.
 */
@Injectable()
export class DeliveryRecoveryScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly repository: DeliveryRecoveryRepository,
    private readonly enqueuer: TaskEnqueuer,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const { intervalMs, hook } = this.config.deliveryRecovery;
    if (intervalMs === 0 || hook === null) {
      this.logger.info('periodic delivery recovery is off', {
        reason:
          intervalMs === 0
            ? 'DELIVERY_RECOVERY_INTERVAL_MS=0'
            : 'no GitHub App and no DELIVERY_RECOVERY_HOOK configured',
      });
      return;
    }
    this.logger.info('periodic delivery recovery is on', {
      source: deliveryHookKey(hook),
      interval_ms: intervalMs,
    });
    this.schedule(Math.min(intervalMs, FIRST_TICK_MAX_MS));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Creates and enqueues a task when one is due; returns its id, or null. */
  async tick(): Promise<string | null> {
    const taskId = await this.repository.createScheduledTaskIfDue(
      this.config.deliveryRecovery.intervalMs,
    );
    if (taskId === null) return null;
    // Not reaching Redis is fine: the relay enqueues pending tasks.
    await this.enqueuer.enqueue([{ taskId, taskType: TaskType.DeliveryRecovery, attemptsLeft: 3 }]);
    this.logger.debug('delivery recovery task created', { task_id: taskId });
    return taskId;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((error: unknown) =>
          this.logger.warn('could not schedule delivery recovery', { error: String(error) }),
        )
        .finally(() => {
          this.running = null;
          this.schedule(this.config.deliveryRecovery.intervalMs);
        });
    }, delayMs);
  }
}
