import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../database/transformers';

export type ReceivedVia = 'webhook' | 'recovered' | 'replayed';

/** One GitHub delivery, stored before we answer GitHub. `delivery_id` is the replay guard. */
@Entity({ name: 'webhook_events' })
export class WebhookEventEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintToNumber })
  id!: number;

  @Column({ name: 'delivery_id', type: 'varchar', length: 64 })
  deliveryId!: string;

  @Column({ name: 'event_type', type: 'varchar', length: 64 })
  eventType!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  action!: string | null;

  @Column({ type: 'varchar', length: 32 })
  source!: string;

  @Column({ name: 'received_via', type: 'varchar', length: 16 })
  receivedVia!: ReceivedVia;

  @Column({ type: 'varchar', length: 255, nullable: true })
  repository!: string | null;

  @Column({ name: 'installation_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  installationId!: number | null;

  @Column({ name: 'sender_login', type: 'varchar', length: 255, nullable: true })
  senderLogin!: string | null;

  @Column({ type: 'jsonb' })
  payload!: unknown;

  @Column({ type: 'jsonb' })
  headers!: Record<string, string>;

  @Column({ type: 'boolean' })
  processed!: boolean;

  @Column({ name: 'processing_started_at', type: 'timestamptz', nullable: true })
  processingStartedAt!: Date | null;

  @Column({ name: 'processing_completed_at', type: 'timestamptz', nullable: true })
  processingCompletedAt!: Date | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'retry_count', type: 'int' })
  retryCount!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
