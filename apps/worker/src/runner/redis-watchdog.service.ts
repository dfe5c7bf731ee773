import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { Logger } from 'winston';
import { LOGGER } from '@app/platform';
import { QueueName } from '@app/runtime';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';

/**
 * Bull recovers from most Redis trouble by itself; when it cannot (the queue connection has not
 * answered a PING for REDIS_UNAVAILABLE_EXIT_MS), the worker exits non-zero so its supervisor
 * (Kubernetes, compose) starts a fresh one. Nothing is lost: tasks live in PostgreSQL.
 */
@Injectable()
export class RedisWatchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private failingSince: number | null = null;

  constructor(
    @InjectQueue(QueueName.Analysis) private readonly queue: Queue,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    /** Injected so tests can observe the decision without ending the test process. */
    @Inject('WATCHDOG_EXIT') private readonly exit: (code: number) => void,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.redisUnavailableExitMs <= 0) return;
    const every = Math.max(200, Math.min(5000, Math.floor(this.config.redisUnavailableExitMs / 4)));
    this.timer = setInterval(() => void this.check(), every);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    const ok = await Promise.race([
      this.queue.client.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
    ]);
    if (ok) {
      if (this.failingSince !== null) this.logger.info('queue Redis answers again');
      this.failingSince = null;
      return;
    }
    this.failingSince ??= Date.now();
    const down = Date.now() - this.failingSince;
    if (down >= this.config.redisUnavailableExitMs) {
      this.logger.error(
        'queue Redis has not answered; exiting so the supervisor restarts the worker',
        {
          down_ms: down,
        },
      );
      this.exit(1);
    }
  }
}
