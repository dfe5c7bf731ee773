import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { Logger } from 'winston';
import { LOGGER, WorkerHeartbeats, WorkerSnapshot } from '@app/platform';
import { HealthReporter } from '@app/runtime';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { ClientTelemetry } from './client-telemetry.service';

/** A heartbeat stays valid for this many intervals, so one late beat is not a dead worker. */
const MISSED_BEATS_ALLOWED = 3;
const WARN_AFTER_FAILURES = 2;

/**
 * Writes this worker's heartbeat to Redis every WORKER_HEARTBEAT_INTERVAL_MS: the orchestrator's
 * `GET /health` counts live workers from it and reads their view of GitHub and Codegen.
 */
@Injectable()
export class WorkerHeartbeat implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(
    private readonly heartbeats: WorkerHeartbeats,
    private readonly clients: ClientTelemetry,
    private readonly reporter: HealthReporter,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  snapshot(now = Date.now()): WorkerSnapshot {
    return {
      worker_id: this.config.workerId,
      at: now,
      expires_at: now + this.config.heartbeatIntervalMs * MISSED_BEATS_ALLOWED,
      services: this.clients.services(),
    };
  }

  onApplicationBootstrap(): void {
    this.reporter.useLocalSnapshot(() => this.snapshot());
    this.timer = setInterval(() => void this.beat(), this.config.heartbeatIntervalMs);
    this.timer.unref();
    // The first beat as soon as Redis is connected, not one interval later: the orchestrator's
    // /health counts this worker from its first second. Not awaited: start-up never waits on it.
    void this.heartbeats
      .whenReady(this.config.heartbeatIntervalMs)
      .then((ready) => (ready && this.timer ? this.beat() : undefined));
  }

  /** Before the queues close (their Redis connection is the one used here). */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // A stopping worker takes no new job: leave at once rather than linger until the beat expires.
    await this.heartbeats.remove(this.config.workerId).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    try {
      await this.heartbeats.publish(this.snapshot());
      if (this.failures >= WARN_AFTER_FAILURES) this.logger.info('heartbeat written again');
      this.failures = 0;
    } catch (error) {
      // One line per outage (readiness reports it too); a first beat racing the Redis connection
      // at start-up is not an outage.
      if (++this.failures === WARN_AFTER_FAILURES) {
        this.logger.warn('could not write the heartbeat', { error: String(error) });
      }
    }
  }
}
