import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Logger } from 'winston';
import { LOGGER } from '@app/platform';
import { EVENT_PARTITION_MONTHS_AHEAD, maintainEventPartitions } from '@app/persistence';

/** First run soon after start: a worker that was down over a month boundary catches up. */
const FIRST_RUN_MS = 2_000;
/** Then hourly: months are created three ahead, so a day of failed runs costs nothing. */
const INTERVAL_MS = 3_600_000;

/**
 * The partition job: creates the monthly partitions of `webhook_events` ahead (the current
 * month and the next three) and moves rows the DEFAULT partition caught into their month. Every
 * worker runs it; an advisory lock lets one at a time do the work.
 */
@Injectable()
export class EventPartitionsScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(FIRST_RUN_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One run; what it created, or null when another worker's run held the lock. */
  async tick(): Promise<string[] | null> {
    const result = await maintainEventPartitions(this.dataSource, EVENT_PARTITION_MONTHS_AHEAD);
    if (result && (result.created.length > 0 || result.rowsMoved > 0)) {
      this.logger.info('event partitions created', {
        partitions: result.created,
        rows_moved_from_default: result.rowsMoved,
      });
    }
    return result?.created ?? null;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((error: unknown) =>
          // Intake keeps working (the DEFAULT partition takes any month); the next run retries.
          this.logger.warn('could not create event partitions ahead', { error: String(error) }),
        )
        .finally(() => {
          this.running = null;
          this.schedule(INTERVAL_MS);
        });
    }, delayMs);
  }
}
