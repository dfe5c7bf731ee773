import { Inject, Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { METRICS_REGISTRY } from '@app/platform';

/** Why the relay handed a task to Bull again. */
export type RecoveryReason = 'pending' | 'queued_lost' | 'lease_expired';

/**
 * `relay_recovered_tasks_total`: tasks the relay re-enqueued from PostgreSQL, i.e. deliveries
 * whose work would have been lost between PostgreSQL and Redis without it.
 */
@Injectable()
export class RelayTelemetry {
  private readonly recovered: Counter<'reason'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.recovered = new Counter({
      name: 'relay_recovered_tasks_total',
      help: 'Tasks the relay re-enqueued from PostgreSQL, by reason (pending: never enqueued; queued_lost: Redis lost the job; lease_expired: its worker died)',
      labelNames: ['reason'],
      registers: [registry],
    });
    for (const reason of ['pending', 'queued_lost', 'lease_expired'] as const) {
      this.recovered.inc({ reason }, 0);
    }
  }

  /** One relay pass's counts. */
  pass(result: { pendingEnqueued: number; queuedRestored: number; expiredRequeued: number }): void {
    this.recovered.inc({ reason: 'pending' }, result.pendingEnqueued);
    this.recovered.inc({ reason: 'queued_lost' }, result.queuedRestored);
    this.recovered.inc({ reason: 'lease_expired' }, result.expiredRequeued);
  }
}
