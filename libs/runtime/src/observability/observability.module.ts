import { DynamicModule, Global, Inject, Module, OnApplicationBootstrap } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bull';
import {
  HealthCheckService,
  HealthIndicatorService,
  TerminusModule,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { Logger } from 'winston';
import type { CommonConfig } from '@app/platform';
import {
  LOGGER,
  registerLogSecrets,
  createMetricsRegistry,
  METRICS_REGISTRY,
  tracingStatus,
  WorkerHeartbeats,
} from '@app/platform';
import { IntakeStore } from '@app/persistence';
import { QueueName } from '../queues/queue-names';
import { HealthReporter, HealthReporterOptions } from './health-report';
import { Probes } from './probes';
import { SystemStateCollector } from './system-state.collector';
import { TaskTelemetry } from './task-telemetry';

/** The Bull queues of this process by name, for gauges and checks. */
export const OBSERVED_QUEUES = Symbol('OBSERVED_QUEUES');
const OPTIONS = Symbol('OBSERVABILITY_OPTIONS');
const QUEUE_NAMES = Object.values(QueueName);

export interface ObservabilityModuleOptions {
  app: 'orchestrator' | 'worker';
  config: CommonConfig;
  /** `GET /health` and readiness policy of this app. */
  health: {
    critical: HealthReporterOptions['critical'];
    readinessNeedsRedis: boolean;
  };
  /** Secret values of this app (tokens, webhook secrets) that no log line may contain. */
  secrets: ReadonlyArray<string | undefined>;
  /** Every task type: the `task_type` values of the task counters, created at 0 at start. */
  taskTypes: readonly string[];
}

/**
 * Metrics registry, task telemetry, scrape-time gauges, worker heartbeats, `GET /health` and the
 * Terminus probes, for either app. Needs {@link PersistenceModule} (DataSource and queues).
 */
@Global()
@Module({})
export class ObservabilityModule implements OnApplicationBootstrap {
  constructor(
    @Inject(OPTIONS) private readonly options: ObservabilityModuleOptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  static forRoot(options: ObservabilityModuleOptions): DynamicModule {
    const { config } = options;
    registerLogSecrets([...options.secrets, databasePassword(config.databaseUrl)]);
    return {
      module: ObservabilityModule,
      // Readiness transitions are logged by Probes; Terminus would log every failed probe.
      imports: [TerminusModule.forRoot({ logger: false })],
      providers: [
        { provide: OPTIONS, useValue: options },
        {
          provide: METRICS_REGISTRY,
          useFactory: () => createMetricsRegistry({ processMetrics: config.enableMetrics }),
        },
        {
          provide: TaskTelemetry,
          useFactory: (registry: Registry) => new TaskTelemetry(registry, options.taskTypes),
          inject: [METRICS_REGISTRY],
        },
        {
          provide: OBSERVED_QUEUES,
          // Every queue PersistenceModule registers, however many QueueName grows to.
          useFactory: (...queues: Queue[]) =>
            new Map<QueueName, Queue>(QUEUE_NAMES.map((name, i) => [name, queues[i]])),
          inject: QUEUE_NAMES.map((name) => getQueueToken(name)),
        },
        {
          provide: WorkerHeartbeats,
          useFactory: (queues: Map<QueueName, Queue>) =>
            new WorkerHeartbeats(
              () => (queues.get(QueueName.Analysis) as Queue).client,
              config.queuePrefix,
            ),
          inject: [OBSERVED_QUEUES],
        },
        {
          provide: SystemStateCollector,
          useFactory: (
            registry: Registry,
            dataSource: DataSource,
            queues: Map<QueueName, Queue>,
            heartbeats: WorkerHeartbeats,
            intake: IntakeStore,
          ) =>
            new SystemStateCollector(registry, dataSource, queues, heartbeats, {
              morePools: () => [intake.poolCounts()],
            }),
          inject: [
            METRICS_REGISTRY,
            getDataSourceToken(),
            OBSERVED_QUEUES,
            WorkerHeartbeats,
            IntakeStore,
          ],
        },
        {
          provide: HealthReporter,
          useFactory: (
            dataSource: DataSource,
            queues: Map<QueueName, Queue>,
            heartbeats: WorkerHeartbeats,
          ) =>
            new HealthReporter(dataSource, queues, heartbeats, {
              critical: options.health.critical,
            }),
          inject: [getDataSourceToken(), OBSERVED_QUEUES, WorkerHeartbeats],
        },
        {
          provide: Probes,
          useFactory: (
            health: HealthCheckService,
            indicators: HealthIndicatorService,
            database: TypeOrmHealthIndicator,
            queues: Map<QueueName, Queue>,
            logger: Logger,
          ) =>
            new Probes(health, indicators, database, queues, logger, {
              readinessNeedsRedis: options.health.readinessNeedsRedis,
            }),
          inject: [
            HealthCheckService,
            HealthIndicatorService,
            TypeOrmHealthIndicator,
            OBSERVED_QUEUES,
            LOGGER,
          ],
        },
      ],
      exports: [
        METRICS_REGISTRY,
        TaskTelemetry,
        OBSERVED_QUEUES,
        WorkerHeartbeats,
        SystemStateCollector,
        HealthReporter,
        Probes,
      ],
    };
  }

  onApplicationBootstrap(): void {
    this.logger.info('telemetry', {
      app: this.options.app,
      metrics: this.options.config.enableMetrics ? 'on' : 'off (ENABLE_METRICS=false)',
      tracing: tracingStatus(),
    });
  }
}

function databasePassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}
