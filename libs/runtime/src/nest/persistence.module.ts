import { DynamicModule, Global, Module } from '@nestjs/common';
import { BullModule, getQueueToken } from '@nestjs/bull';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { AdvancedSettings, Queue } from 'bull';
import { DataSource } from 'typeorm';
import type { Logger } from 'winston';
import type { CommonConfig } from '@app/platform';
import {
  AgentRunOutcomeRepository,
  AgentRunRepository,
  CodegenCreateLogRepository,
  buildDataSourceOptions,
  DeliveryRecoveryRepository,
  ExclusiveRunRepository,
  InstallationRepository,
  IntakeStore,
  OperatorCommands,
  OperatorQueries,
  TaskCreationRepository,
  TaskExecutionRepository,
  TaskLifecycleRepository,
  TaskRelayRepository,
  WebhookEventRepository,
} from '@app/persistence';
import { LOGGER, logConnectionSecurity, redisConnectionOptions } from '@app/platform';
import { bullPrefix, QueueName, RunTaskJob } from '../queues/queue-names';
import { TaskEnqueuer } from '../queues/task-enqueuer';

export interface PersistenceModuleOptions {
  /** `intakeStoreTimeoutMs`: PostgreSQL's limit on the intake's store statement (orchestrator). */
  config: CommonConfig & { enqueueTimeoutMs?: number; intakeStoreTimeoutMs?: number };
  applicationName: string;
  logger: Logger;
  /** Bull settings of the queues in this process (the worker adds its backoff strategy). */
  queueSettings?: AdvancedSettings;
  /** Bull rate limiters per queue, enforced across all processes sharing the Redis. */
  queueLimiters?: Partial<Record<QueueName, { max: number; duration: number }>>;
}

/**
 * The repositories of events, tasks and their attempts, provided once here for both apps. Each
 * table has one writer among them (libs/persistence).
 */
const TASK_REPOSITORIES = [
  WebhookEventRepository,
  InstallationRepository,
  TaskExecutionRepository,
  TaskCreationRepository,
  TaskLifecycleRepository,
  TaskRelayRepository,
  AgentRunRepository,
  AgentRunOutcomeRepository,
  OperatorCommands,
  DeliveryRecoveryRepository,
  ExclusiveRunRepository,
  CodegenCreateLogRepository,
];

/**
 * PostgreSQL (TypeORM, migrations only), the Bull queues, the task repository and the
 * enqueuer: what both apps need to store and move tasks.
 */
@Global()
@Module({})
export class PersistenceModule {
  static forRoot(options: PersistenceModuleOptions): DynamicModule {
    const { config } = options;
    logConnectionSecurity(options.logger, config);
    const queues = Object.values(QueueName).map((name) =>
      BullModule.registerQueue({
        name,
        settings: options.queueSettings,
        limiter: options.queueLimiters?.[name],
      }),
    );
    return {
      module: PersistenceModule,
      imports: [
        TypeOrmModule.forRoot({
          ...buildDataSourceOptions({
            databaseUrl: config.databaseUrl,
            databasePoolSize: config.databasePoolSize,
            databaseConnectTimeoutMs: config.databaseConnectTimeoutMs,
            applicationName: options.applicationName,
            databaseSslCaFile: config.databaseSslCaFile,
          }),
          // Start even when PostgreSQL is briefly away; readiness reports it.
          retryAttempts: 3,
          retryDelay: 1000,
        }),
        // Options, not the URL: Bull's own URL parser ignores rediss:// (plain text).
        BullModule.forRoot({
          redis: redisConnectionOptions(config.queueRedisUrl, config.redisTlsCaFile),
          // Hash-tagged, so each queue's keys share a Redis Cluster slot (docs/performance.md).
          prefix: bullPrefix(config.queuePrefix),
        }),
        ...queues,
      ],
      providers: [
        { provide: LOGGER, useValue: options.logger },
        {
          provide: OperatorQueries,
          useFactory: (ds: DataSource) => new OperatorQueries(ds),
          inject: [getDataSourceToken()],
        },
        ...TASK_REPOSITORIES,
        {
          // Its statement gets PostgreSQL's time limit in the orchestrator; none in the worker.
          provide: IntakeStore,
          useFactory: (
            ds: DataSource,
            events: WebhookEventRepository,
            installations: InstallationRepository,
            lifecycle: TaskLifecycleRepository,
          ) =>
            new IntakeStore(ds, events, installations, lifecycle, {
              statementTimeoutMs: config.intakeStoreTimeoutMs,
            }),
          inject: [
            getDataSourceToken(),
            WebhookEventRepository,
            InstallationRepository,
            TaskLifecycleRepository,
          ],
        },
        {
          provide: TaskEnqueuer,
          useFactory: (
            relay: TaskRelayRepository,
            analysis: Queue<RunTaskJob>,
            codegen: Queue<RunTaskJob>,
          ) =>
            new TaskEnqueuer(
              { [QueueName.Analysis]: analysis, [QueueName.Codegen]: codegen },
              relay,
              options.logger,
              config.enqueueTimeoutMs ?? 1000,
            ),
          inject: [
            TaskRelayRepository,
            getQueueToken(QueueName.Analysis),
            getQueueToken(QueueName.Codegen),
          ],
        },
      ],
      exports: [
        LOGGER,
        ...TASK_REPOSITORIES,
        IntakeStore,
        TaskEnqueuer,
        OperatorQueries,
        TypeOrmModule,
        BullModule,
      ],
    };
  }
}
