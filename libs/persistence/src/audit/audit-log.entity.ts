import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from '../database/transformers';
import type { AuditDetails, AuditOutcome, AuditType } from '@app/platform';

/** One audit record: a security event, an aggregate of repeated failures, or an admin action. */
@Entity({ name: 'audit_log' })
export class AuditLogEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintToNumber })
  id!: number;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt!: Date;

  @Column({ type: 'varchar', length: 48 })
  type!: AuditType;

  @Column({ type: 'varchar', length: 16 })
  outcome!: AuditOutcome;

  @Column({ type: 'varchar', length: 200, nullable: true })
  actor!: string | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  role!: string | null;

  @Column({ name: 'client_address', type: 'varchar', length: 64, nullable: true })
  clientAddress!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  target!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  reason!: string | null;

  @Column({ name: 'correlation_id', type: 'varchar', length: 128, nullable: true })
  correlationId!: string | null;

  @Column({ type: 'jsonb' })
  details!: AuditDetails;

  @Column({ type: 'integer' })
  count!: number;

  @Column({ name: 'aggregate_key', type: 'varchar', length: 64, nullable: true })
  aggregateKey!: string | null;
}
