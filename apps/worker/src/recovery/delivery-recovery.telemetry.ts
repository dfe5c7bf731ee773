import { Counter, Gauge, Registry } from 'prom-client';
import type { DeliveryRecoveryReport } from './delivery-recovery.types';

/** Outcomes counted by `deliveries_recovered_total`. */
export const DELIVERY_RECOVERY_OUTCOMES = [
  'seen',
  'missing',
  'redelivery_requested',
  'failed',
] as const;

/**
 * `deliveries_recovered_total{outcome}` (deliveries examined, found missing, asked again, asks
 * that failed) and the time of the last finished pass. A no-op without a metrics registry.
 */
export class DeliveryRecoveryTelemetry {
  private readonly deliveries: Counter<'outcome'> | null;
  private readonly lastPass: Gauge | null;

  constructor(registry: Registry | null) {
    if (!registry) {
      this.deliveries = null;
      this.lastPass = null;
      return;
    }
    this.deliveries = new Counter({
      name: 'deliveries_recovered_total',
      help: 'Delivery recovery: webhook deliveries examined in the hook log (seen), not found in webhook_events (missing), redelivery asked for (redelivery_requested), asks that failed (failed)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of DELIVERY_RECOVERY_OUTCOMES) this.deliveries.inc({ outcome }, 0);
    this.lastPass = new Gauge({
      name: 'delivery_recovery_last_pass_timestamp_seconds',
      help: 'When the last delivery recovery pass ended without an error (Unix time)',
      registers: [registry],
    });
  }

  /** Counts what a pass did (also when it failed part-way); `ok` marks a pass without error. */
  passEnded(report: DeliveryRecoveryReport, ok: boolean): void {
    if (!this.deliveries) return;
    this.deliveries.inc({ outcome: 'seen' }, report.seen);
    this.deliveries.inc({ outcome: 'missing' }, report.missing);
    this.deliveries.inc({ outcome: 'redelivery_requested' }, report.redeliveryRequested);
    this.deliveries.inc({ outcome: 'failed' }, report.failed);
    if (ok) this.lastPass?.set(Date.now() / 1000);
  }
}
