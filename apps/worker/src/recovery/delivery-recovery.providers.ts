import type { Provider } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from '@app/platform';
import { DeliveryRecoveryScheduler } from './delivery-recovery.scheduler';
import { DeliveryRecoveryService } from './delivery-recovery.service';
import { DeliveryRecoveryTelemetry } from './delivery-recovery.telemetry';

/** Delivery recovery in the worker: its metrics, pass and periodic scheduler (the repository is the persistence module's). */
export const DELIVERY_RECOVERY_PROVIDERS: Provider[] = [
  {
    provide: DeliveryRecoveryTelemetry,
    // The registry comes with the observability module; without it the counts only go to logs.
    useFactory: (registry?: Registry) => new DeliveryRecoveryTelemetry(registry ?? null),
    inject: [{ token: METRICS_REGISTRY, optional: true }],
  },
  DeliveryRecoveryService,
  DeliveryRecoveryScheduler,
];
