import { DataSource } from 'typeorm';
import { AuditLogEntity } from './audit-log.entity';
import type { AuditRecord, AuditType } from '@app/platform';

export interface AuditFilter {
  type?: AuditType;
  actor?: string;
  /** Records that occurred at or after this instant. */
  since?: Date;
  /** Records that occurred before this instant. */
  until?: Date;
  /** Records about any of these targets (`event:12`, `task:<uuid>`). */
  targets?: string[];
}

/** Rows per statement when writing; keeps each statement's arrays small. */
const WRITE_CHUNK = 500;

/**
 * The `audit_log` table. Aggregates carry a key; writing one whose key is already stored adds
 * its count to the stored row, so repeated flushes within a minute (or several replicas seeing
 * the same client) still make one row per client, reason and minute.
 */
export class AuditLogRepository {
  constructor(private readonly dataSource: DataSource) {}

  async write(records: readonly AuditRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += WRITE_CHUNK) {
      const chunk = records.slice(i, i + WRITE_CHUNK);
      // One array per column: 13 parameters whatever the number of rows.
      await this.dataSource.query(
        `INSERT INTO audit_log (occurred_at, last_seen_at, type, outcome, actor, role, client_address,
                                target, reason, correlation_id, details, count, aggregate_key)
         SELECT * FROM unnest($1::timestamptz[], $2::timestamptz[], $3::varchar[], $4::varchar[],
                              $5::varchar[], $6::varchar[], $7::varchar[], $8::varchar[],
                              $9::varchar[], $10::varchar[], $11::jsonb[], $12::int[], $13::varchar[])
         ON CONFLICT (aggregate_key) DO UPDATE
           SET count = audit_log.count + EXCLUDED.count,
               last_seen_at = GREATEST(audit_log.last_seen_at, EXCLUDED.last_seen_at)`,
        [
          chunk.map((r) => r.occurredAt.toISOString()),
          chunk.map((r) => r.lastSeenAt.toISOString()),
          chunk.map((r) => r.type),
          chunk.map((r) => r.outcome),
          chunk.map((r) => r.actor),
          chunk.map((r) => r.role),
          chunk.map((r) => r.clientAddress),
          chunk.map((r) => r.target),
          chunk.map((r) => r.reason),
          chunk.map((r) => r.correlationId),
          chunk.map((r) => JSON.stringify(r.details)),
          chunk.map((r) => r.count),
          chunk.map((r) => r.aggregateKey),
        ],
      );
    }
  }

  /** Newest first; filters are bound parameters, the order is fixed (the indexes serve it). */
  listPage(
    filter: AuditFilter,
    page: { limit: number; offset: number },
  ): Promise<AuditLogEntity[]> {
    const qb = this.dataSource.getRepository(AuditLogEntity).createQueryBuilder('a');
    if (filter.type !== undefined) qb.andWhere('a.type = :type', { type: filter.type });
    if (filter.actor !== undefined) qb.andWhere('a.actor = :actor', { actor: filter.actor });
    if (filter.since !== undefined) qb.andWhere('a.occurredAt >= :since', { since: filter.since });
    if (filter.until !== undefined) qb.andWhere('a.occurredAt < :until', { until: filter.until });
    if (filter.targets !== undefined)
      qb.andWhere('a.target IN (:...targets)', { targets: filter.targets });
    return qb
      .orderBy('a.occurredAt', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .limit(page.limit)
      .offset(page.offset)
      .getMany();
  }

  /** Retention: up to `limit` records that occurred before `cutoff`, oldest first. */
  async deleteBefore(cutoff: Date, limit: number): Promise<number> {
    const rows = await this.dataSource.query<Array<{ deleted: string }>>(
      `WITH victims AS (
         SELECT id FROM audit_log WHERE occurred_at < $1 ORDER BY occurred_at, id LIMIT $2
       ), deleted AS (
         DELETE FROM audit_log WHERE id IN (SELECT id FROM victims) RETURNING id
       )
       SELECT count(*) AS deleted FROM deleted`,
      [cutoff, limit],
    );
    return Number(rows[0].deleted);
  }
}
