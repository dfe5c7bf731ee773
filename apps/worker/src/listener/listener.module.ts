import { DynamicModule, Module } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { CODEGEN_OPERATIONS } from '@app/codegen';
import { TaskType } from '@app/domain';
import { GITHUB_OPERATIONS } from '@app/github';
import { ExternalServiceTelemetry, METRICS_REGISTRY } from '@app/platform';
import { ObservabilityModule } from '@app/runtime';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { AgentOutcomeTelemetry } from '../agents/agent-outcome-telemetry';
import { AgentTrustTelemetry } from '../agents/agent-trust-telemetry';
import { ClientTelemetry } from './client-telemetry.service';
import { RelayTelemetry } from './relay-telemetry';
import { WorkerHeartbeat } from './worker-heartbeat.service';
import { WorkerListener } from './worker-listener';

/**
 * The worker's observability: metrics registry and telemetry, GitHub/Codegen client metrics, the
 * heartbeat, and the health/metrics listener.
 */
@Module({})
export class WorkerListenerModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    return {
      module: WorkerListenerModule,
      imports: [
        ObservabilityModule.forRoot({
          app: 'worker',
          config,
          // Without PostgreSQL or Redis a worker can do nothing: both are critical and needed
          // for readiness.
          health: { critical: ['database', 'redis'], readinessNeedsRedis: true },
          secrets: [config.github.token, config.codegen.token],
          taskTypes: Object.values(TaskType),
        }),
      ],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        {
          provide: ExternalServiceTelemetry,
          useFactory: (registry: Registry) =>
            new ExternalServiceTelemetry(registry, {
              github: GITHUB_OPERATIONS,
              codegen: CODEGEN_OPERATIONS,
            }),
          inject: [METRICS_REGISTRY],
        },
        ClientTelemetry,
        RelayTelemetry,
        AgentTrustTelemetry,
        AgentOutcomeTelemetry,
        WorkerHeartbeat,
        WorkerListener,
      ],
      exports: [
        ExternalServiceTelemetry,
        RelayTelemetry,
        AgentTrustTelemetry,
        AgentOutcomeTelemetry,
        WorkerListener,
      ],
    };
  }
}
