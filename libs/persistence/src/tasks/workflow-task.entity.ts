import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../database/transformers';
import { TaskStatus, TaskType } from '@app/domain';

/** A unit of work implied by an event (or asked for by another task). */
@Entity({ name: 'workflow_tasks' })
export class WorkflowTaskEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintToNumber })
  id!: number;

  @Column({ name: 'task_id', type: 'uuid' })
  taskId!: string;

  @Column({ name: 'webhook_event_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  webhookEventId!: number | null;

  @Column({ name: 'parent_task_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  parentTaskId!: number | null;

  @Column({ name: 'task_type', type: 'varchar', length: 64 })
  taskType!: TaskType;

  @Column({ type: 'varchar', length: 16 })
  status!: TaskStatus;

  @Column({ type: 'int' })
  priority!: number;

  @Column({ type: 'varchar', length: 255, nullable: true })
  repository!: string | null;

  @Column({ name: 'pr_number', type: 'int', nullable: true })
  prNumber!: number | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  branch!: string | null;

  @Column({ name: 'commit_sha', type: 'varchar', length: 64, nullable: true })
  commitSha!: string | null;

  @Column({ type: 'jsonb' })
  config!: Record<string, unknown>;

  @Column({ name: 'input_data', type: 'jsonb' })
  inputData!: Record<string, unknown>;

  @Column({ name: 'output_data', type: 'jsonb', nullable: true })
  outputData!: Record<string, unknown> | null;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt!: Date | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'retry_count', type: 'int' })
  retryCount!: number;

  @Column({ name: 'max_retries', type: 'int' })
  maxRetries!: number;

  /** Set on each claim; only the holder of the current token may finish the attempt. */
  @Column({ name: 'claim_token', type: 'uuid', nullable: true })
  claimToken!: string | null;

  /** A running task whose lease has passed is taken to belong to a dead worker. */
  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt!: Date | null;

  @Column({ name: 'codegen_task_id', type: 'varchar', length: 128, nullable: true })
  codegenTaskId!: string | null;

  @Column({ name: 'codegen_task_url', type: 'text', nullable: true })
  codegenTaskUrl!: string | null;

  /** Set just before asking Codegen for a run; cleared when Codegen provably did not start one. */
  @Column({ name: 'agent_run_requested_at', type: 'timestamptz', nullable: true })
  agentRunRequestedAt!: Date | null;

  @Column({ name: 'dedupe_key', type: 'varchar', length: 512, nullable: true })
  dedupeKey!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
