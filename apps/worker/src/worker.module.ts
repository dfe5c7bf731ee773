import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'winston';
import { ExternalServiceError } from '@app/platform';
import { PersistenceModule, QueueName, retryDelayMs } from '@app/runtime';
import { CodegenClient, CodegenModule } from '@app/codegen';
import { GithubModule } from '@app/github';
import { WORKER_CONFIG, WorkerConfig } from './config/worker.config';
import { CheckFailureAnalysisHandler } from './handlers/check-failure-analysis.handler';
import { CleanupHandler } from './handlers/cleanup.handler';
import { CheckSuiteFailureAnalysisHandler } from './handlers/check-suite-failure-analysis.handler';
import { CodegenTriggerHandler } from './handlers/codegen-trigger.handler';
import { DeliveryRecoveryHandler } from './handlers/delivery-recovery.handler';
import { AgentOutcomeHandler } from './handlers/agent-outcome.handler';
import { AgentOutcomes } from './agents/agent-outcomes.service';
import { AgentOutcomeSweeper } from './agents/agent-outcome-sweeper.service';
import { DELIVERY_RECOVERY_PROVIDERS } from './recovery/delivery-recovery.providers';
import { EventPartitionsScheduler } from './partitions/event-partitions.scheduler';
import { AGENT_TRUST_PROVIDERS } from './agents/agent-trust.providers';
import { HandlerRegistry } from './handlers/handler-registry';
import { AgentPolicy } from './handlers/agent-policy';
import { PrCommenter } from './handlers/pr-commenter';
import { AgentRunPoller } from './runner/agent-run-poller.service';
import { RedisWatchdog } from './runner/redis-watchdog.service';
import { PullRequestAnalysisHandler } from './handlers/pull-request-analysis.handler';
import { PushAnalysisHandler } from './handlers/push-analysis.handler';
import { WorkerListenerModule } from './listener/listener.module';
import { RelayService } from './relay/relay.service';
import { QueueWorkers } from './runner/queue-workers.service';
import { RetryLaterError, TaskHoldError, TaskRunner } from './runner/task-runner.service';
import { GithubBudgetGate } from './runner/github-budget-gate';

/** A held job looks again at least this often (a primary limit resets within the hour). */
const MAX_HOLD_MS = 3_600_000;

const HANDLERS = [
  PullRequestAnalysisHandler,
  CheckFailureAnalysisHandler,
  CheckSuiteFailureAnalysisHandler,
  PushAnalysisHandler,
  CodegenTriggerHandler,
  CleanupHandler,
  DeliveryRecoveryHandler,
  AgentOutcomeHandler,
];

/** The worker: Bull processors, task handlers and the relay; no HTTP API. */
@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig, logger: Logger): DynamicModule {
    const policy = {
      breakerThreshold: config.breaker.threshold,
      halfOpenAfterMs: config.breaker.halfOpenAfterMs,
    };
    const codegen = config.codegen.dryRun
      ? { imports: [], providers: [{ provide: CodegenClient, useValue: null }] }
      : {
          imports: [
            CodegenModule.forRoot({
              baseUrl: config.codegen.baseUrl,
              token: config.codegen.token as string,
              orgId: config.codegen.orgId as number,
              timeoutMs: config.codegen.timeoutMs,
              repoCacheMs: config.codegen.repoCacheMs,
              ...policy,
            }),
          ],
          providers: [],
        };
    return {
      module: WorkerModule,
      imports: [
        PersistenceModule.forRoot({
          config,
          applicationName: 'worker',
          logger,
          // Codegen's read limit (60 reads/30 s per organisation): a burst of polls waits in the
          // queue instead of failing. Creations (10/min) are counted where they are sent, over a
          // sliding minute in PostgreSQL (TaskRunner): Bull's limiter is a fixed window, which
          // lets twice the limit through across a window's edge, and it counts attempts that
          // create nothing.
          queueLimiters: {
            [QueueName.AgentRunPoll]: { max: config.codegen.readLimitPer30s, duration: 30_000 },
          },
          queueSettings: {
            lockDuration: config.queueLockDurationMs,
            lockRenewTime: Math.floor(config.queueLockDurationMs / 2),
            stalledInterval: config.queueLockDurationMs,
            backoffStrategies: {
              // Exponential with jitter, capped; a Retry-After from the service wins when longer.
              // A hold (rate limit) waits exactly what GitHub asked for: it is no failure.
              task: (attemptsMade: number, error?: Error) =>
                error instanceof TaskHoldError
                  ? Math.min(MAX_HOLD_MS, Math.max(1, error.retryAfterMs ?? 0))
                  : Math.max(
                      retryDelayMs(
                        attemptsMade,
                        config.task.backoffBaseMs,
                        config.task.backoffMaxMs,
                      ),
                      Math.min(
                        config.task.backoffMaxMs,
                        (error instanceof RetryLaterError || error instanceof ExternalServiceError
                          ? error.retryAfterMs
                          : 0) ?? 0,
                      ),
                    ),
            },
          },
        }),
        GithubModule.forRoot({
          apiUrl: config.github.apiUrl,
          token: config.github.token,
          app: config.github.app ?? undefined,
          rateLimitReserve: config.github.rateLimitReserve,
          secondaryLimitMinWaitMs: config.github.secondaryLimitMinWaitMs,
          timeoutMs: config.github.timeoutMs,
          ...policy,
        }),
        ...codegen.imports,
        WorkerListenerModule.forRoot(config),
      ],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        ...HANDLERS,
        ...DELIVERY_RECOVERY_PROVIDERS,
        ...AGENT_TRUST_PROVIDERS,
        ...codegen.providers,
        {
          provide: HandlerRegistry,
          useFactory: (...handlers: ConstructorParameters<typeof HandlerRegistry>[0]) =>
            new HandlerRegistry(handlers),
          inject: HANDLERS,
        },
        AgentPolicy,
        PrCommenter,
        AgentOutcomes,
        AgentOutcomeSweeper,
        AgentRunPoller,
        RedisWatchdog,
        { provide: 'WATCHDOG_EXIT', useValue: (code: number) => process.exit(code) },
        GithubBudgetGate,
        TaskRunner,
        QueueWorkers,
        RelayService,
        EventPartitionsScheduler,
      ],
    };
  }
}
