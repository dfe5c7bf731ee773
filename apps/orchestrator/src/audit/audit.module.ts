import { BeforeApplicationShutdown, Global, Inject, Module, OnModuleInit } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { Logger } from 'winston';
import { AuditTrail, createSecurityEventsCounter, LOGGER, METRICS_REGISTRY } from '@app/platform';
import { AuditLogRepository } from '@app/persistence';
import { AuditActionInterceptor } from './audited-action';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';

/**
 * The audit trail: records to `audit_log` and the `audit` log channel, the
 * `security_events_total` counter, and `GET /api/v1/admin/audit`. Global, so the guards and the
 * webhook intake can record without importing it.
 */
@Global()
@Module({
  controllers: [AuditController],
  providers: [
    {
      provide: AuditLogRepository,
      useFactory: (dataSource: DataSource) => new AuditLogRepository(dataSource),
      inject: [getDataSourceToken()],
    },
    {
      provide: AuditTrail,
      useFactory: (records: AuditLogRepository, logger: Logger, registry: Registry) =>
        new AuditTrail(
          records,
          logger.child({ channel: 'audit' }),
          // The app's registry (ObservabilityModule), served at GET /metrics.
          createSecurityEventsCounter(registry),
        ),
      inject: [AuditLogRepository, LOGGER, METRICS_REGISTRY],
    },
    AuditService,
    AuditActionInterceptor,
  ],
  exports: [AuditTrail, AuditActionInterceptor],
})
export class AuditModule implements OnModuleInit, BeforeApplicationShutdown {
  constructor(@Inject(AuditTrail) private readonly trail: AuditTrail) {}

  onModuleInit(): void {
    this.trail.start();
  }

  /** Before the pool closes (TypeORM closes it on application shutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.trail.stop();
  }
}
