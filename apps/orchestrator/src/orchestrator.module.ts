import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'winston';
import { PersistenceModule, TaskEnqueuer } from '@app/domain';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from './config/orchestrator.config';
import { WebhooksModule } from './webhooks/webhooks.module';

@Global()
@Module({})
export class OrchestratorModule implements OnApplicationShutdown {
  constructor(@Inject(TaskEnqueuer) private readonly enqueuer: TaskEnqueuer) {}

  static forRoot(config: OrchestratorConfig, logger: Logger): DynamicModule {
    return {
      module: OrchestratorModule,
      imports: [
        PersistenceModule.forRoot({ config, applicationName: 'orchestrator', logger }),
        WebhooksModule,
      ],
      providers: [{ provide: ORCHESTRATOR_CONFIG, useValue: config }],
      exports: [ORCHESTRATOR_CONFIG],
    };
  }

  /** Writes the last `queued` marks before the pool closes. */
  async onApplicationShutdown(): Promise<void> {
    await this.enqueuer.flush();
  }
}
