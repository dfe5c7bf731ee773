import type { AuditLogEntity } from '@app/persistence';
import { AuditRecordDto } from './dto/audit.dto';

export function toAuditRecord(a: AuditLogEntity): AuditRecordDto {
  return {
    id: a.id,
    occurred_at: a.occurredAt.toISOString(),
    last_seen_at: a.lastSeenAt.toISOString(),
    type: a.type,
    outcome: a.outcome,
    actor: a.actor,
    role: a.role,
    client_address: a.clientAddress,
    target: a.target,
    reason: a.reason,
    correlation_id: a.correlationId,
    count: a.count,
    details: a.details,
  };
}
