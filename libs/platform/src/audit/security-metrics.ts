import { Counter, Registry } from 'prom-client';
import { AUDIT_TYPES } from './audit-types';

/**
 * `security_events_total{type}`: every audited event, counted one by one (aggregation only
 * shapes the table). `type` takes the {@link AuditType} values only, so the series are bounded.
 */
export function createSecurityEventsCounter(registry: Registry): Counter<'type'> {
  const existing = registry.getSingleMetric('security_events_total');
  if (existing) return existing as Counter<'type'>;
  const counter = new Counter({
    name: 'security_events_total',
    help: 'Security-relevant events (signature failures, throttling, auth failures, admin actions), by type',
    labelNames: ['type'],
    registers: [registry],
  });
  // Every series exists from the start, so a rate() over a first failure is not missed.
  for (const type of AUDIT_TYPES) counter.inc({ type }, 0);
  return counter;
}
