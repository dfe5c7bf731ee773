import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'winston';
import { PersistenceModule, TaskEnqueuer } from '@app/runtime';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from './config/orchestrator.config';
import { WebhooksModule } from './webhooks/webhooks.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { APP_GUARD } from '@nestjs/core';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { ApiAuthGuard } from './auth/api-auth.guard';
import { EventsModule } from './events/events.module';
import { TasksModule } from './tasks/tasks.module';
import { RulesModule } from './rules/rules.module';
import { AgentRunsModule } from './agent-runs/agent-runs.module';
import { ApiThrottleGuard } from './throttle/api-throttle.guard';
import { AuthModule } from './auth/auth.module';
import { ConsoleModule } from './console/console.module';

@Global()
@Module({})
export class OrchestratorModule implements OnApplicationShutdown {
  constructor(@Inject(TaskEnqueuer) private readonly enqueuer: TaskEnqueuer) {}

  static forRoot(config: OrchestratorConfig, logger: Logger): DynamicModule {
    return {
      module: OrchestratorModule,
      imports: [
        PersistenceModule.forRoot({ config, applicationName: 'orchestrator', logger }),
        MetricsModule.forRoot(config),
        HealthModule,
        WebhooksModule,
        EventsModule,
        TasksModule,
        AdminModule,
        RulesModule,
        AgentRunsModule,
        AuditModule,
        AuthModule,
        ConsoleModule,
      ],
      providers: [
        { provide: ORCHESTRATOR_CONFIG, useValue: config },
        // Order matters: the limit applies before authentication, so token guessing is throttled.
        { provide: APP_GUARD, useClass: ApiThrottleGuard },
        { provide: APP_GUARD, useClass: ApiAuthGuard },
      ],
      exports: [ORCHESTRATOR_CONFIG],
    };
  }

  /** Writes the last `queued` marks before the pool closes. */
  async onApplicationShutdown(): Promise<void> {
    await this.enqueuer.flush();
  }
}
