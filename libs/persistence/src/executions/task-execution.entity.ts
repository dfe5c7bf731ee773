import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from '../database/transformers';

/** `held`: the attempt stopped to wait out a rate limit; it was not spent (same attempt number next). */
export type ExecutionStatus =
  'running' | 'completed' | 'failed' | 'retrying' | 'abandoned' | 'held';

/** One attempt at running a task, opened when it starts and closed when it ends. */
@Entity({ name: 'task_executions' })
export class TaskExecutionEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintToNumber })
  id!: number;

  @Column({ name: 'execution_id', type: 'uuid' })
  executionId!: string;

  @Column({ name: 'task_id', type: 'bigint', transformer: bigintToNumber })
  taskId!: number;

  @Column({ type: 'int' })
  attempt!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: ExecutionStatus;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt!: Date | null;

  @Column({ name: 'duration_ms', type: 'int', nullable: true })
  durationMs!: number | null;

  @Column({ name: 'worker_id', type: 'varchar', length: 128 })
  workerId!: string;

  @Column({ name: 'queue_name', type: 'varchar', length: 64 })
  queueName!: string;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
