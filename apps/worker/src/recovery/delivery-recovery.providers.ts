import type { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { METRICS_REGISTRY } from '@app/platform';
import { DeliveryRecoveryRepository } from '@app/persistence';
import { DeliveryRecoveryScheduler } from './delivery-recovery.scheduler';
import { DeliveryRecoveryService } from './delivery-recovery.service';
import { DeliveryRecoveryTelemetry } from './delivery-recovery.telemetry';

/** Delivery recovery in the worker: its repository, metrics, pass and periodic scheduler. */
export const DELIVERY_RECOVERY_PROVIDERS: Provider[] = [
  {
    provide: DeliveryRecoveryRepository,
    useFactory: (dataSource: DataSource) => new DeliveryRecoveryRepository(dataSource),
    inject: [getDataSourceToken()],
  },
  {
    provide: DeliveryRecoveryTelemetry,
    // The registry comes with the observability module; without it the counts only go to logs.
    useFactory: (registry?: Registry) => new DeliveryRecoveryTelemetry(registry ?? null),
    inject: [{ token: METRICS_REGISTRY, optional: true }],
  },
  DeliveryRecoveryService,
  DeliveryRecoveryScheduler,
];
