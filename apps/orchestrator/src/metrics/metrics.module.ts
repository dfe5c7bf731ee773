import { DynamicModule, Global, Module } from '@nestjs/common';
import { TaskType } from '@app/domain';
import { ObservabilityModule } from '@app/runtime';
import type { OrchestratorConfig } from '../config/orchestrator.config';
import { IntakeTelemetry } from './intake-telemetry';
import { MetricsController } from './metrics.controller';

/**
 * The orchestrator's observability: registry, gauges and probes (ObservabilityModule), intake
 * telemetry for the webhook route, and `GET /metrics` unless ENABLE_METRICS=false.
 */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(config: OrchestratorConfig): DynamicModule {
    return {
      module: MetricsModule,
      imports: [
        ObservabilityModule.forRoot({
          app: 'orchestrator',
          config,
          // Deliveries are stored without Redis (the relay enqueues later), so only PostgreSQL is
          // critical and readiness does not depend on Redis: a Redis outage must not make every
          // pod unready and turn GitHub's deliveries away.
          health: { critical: ['database'], readinessNeedsRedis: false },
          secrets: [...config.webhookSecrets, config.secretKey],
          taskTypes: Object.values(TaskType),
        }),
      ],
      controllers: config.enableMetrics ? [MetricsController] : [],
      providers: [IntakeTelemetry],
      exports: [IntakeTelemetry],
    };
  }
}
