import { HttpException } from '@nestjs/common';
import {
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { Queue } from 'bull';
import type { Logger } from 'winston';
import { lifecycle } from '@app/platform';
import { QueueName } from '../queues/queue-names';

export interface ProbeAnswer {
  httpStatus: 200 | 503;
  body: HealthCheckResult | Record<string, unknown>;
}

export interface ProbeOptions {
  /** Whether readiness needs Redis (the worker does; the orchestrator stores without it). */
  readinessNeedsRedis: boolean;
  timeoutMs?: number;
}

/**
 * Kubernetes probes through Terminus. Liveness looks at the process only, never a dependency,
 * so an outage of PostgreSQL does not restart every pod. Readiness answers 503 while the process
 * drains (SIGTERM) or a store it needs does not answer.
 */
export class Probes {
  private lastReady: boolean | null = null;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly queues: ReadonlyMap<QueueName, Queue>,
    private readonly logger: Logger,
    private readonly options: ProbeOptions,
  ) {}

  live(): Promise<ProbeAnswer> {
    return this.run(() => [
      async () =>
        this.indicators.check('process').up({ uptime_seconds: Math.round(process.uptime()) }),
    ]);
  }

  async ready(): Promise<ProbeAnswer> {
    const timeout = this.options.timeoutMs ?? 1000;
    const answer = await this.run(() => [
      async () => this.lifecycleIndicator(),
      () => this.database.pingCheck('database', { timeout }),
      ...(this.options.readinessNeedsRedis ? [() => this.redisIndicator(timeout)] : []),
    ]);
    const ready = answer.httpStatus === 200;
    if (this.lastReady !== null && ready !== this.lastReady) {
      const log = ready ? this.logger.info.bind(this.logger) : this.logger.warn.bind(this.logger);
      log(ready ? 'ready again' : 'not ready', { readiness: answer.body });
    }
    this.lastReady = ready;
    return answer;
  }

  private lifecycleIndicator(): HealthIndicatorResult {
    const check = this.indicators.check('lifecycle');
    return lifecycle.draining ? check.down({ draining: true }) : check.up({ draining: false });
  }

  private async redisIndicator(timeoutMs: number): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('redis');
    for (const [name, queue] of this.queues) {
      if (queue.client.status !== 'ready')
        return check.down({ queue: name, connection: queue.client.status });
      let timer: NodeJS.Timeout | undefined;
      const answered = await Promise.race([
        queue.client.ping().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      if (!answered) return check.down({ queue: name, message: 'no answer to PING' });
    }
    return check.up();
  }

  private async run(
    indicators: () => Parameters<HealthCheckService['check']>[0],
  ): Promise<ProbeAnswer> {
    try {
      return { httpStatus: 200, body: await this.health.check(indicators()) };
    } catch (error) {
      // Terminus reports a failed check as a 503 exception whose response is the full result.
      if (error instanceof HttpException && error.getStatus() === 503) {
        return { httpStatus: 503, body: error.getResponse() as HealthCheckResult };
      }
      throw error;
    }
  }
}
