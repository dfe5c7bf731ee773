import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TaskType } from '@app/domain';
import { DomainError, ErrorCode } from '@app/platform';
import { ExclusiveRunRepository, MIN_RETENTION_DAYS, runRetention } from '@app/persistence';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { HandlerResult, inputNumber, TaskContext, TaskHandler } from './task-handler';

/**
 * Runs retention for an operator's cleanup request and reports what it deleted. One retention
 * pass at a time across the workers: a request that finds another pass running ends with
 * `skipped` (that pass deletes the same rows).
 */
@Injectable()
export class CleanupHandler implements TaskHandler {
  readonly taskType = TaskType.Cleanup;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly exclusive: ExclusiveRunRepository,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  async handle({ task }: TaskContext): Promise<HandlerResult> {
    const days = inputNumber(task.inputData, 'retention_days');
    const batch = inputNumber(task.inputData, 'batch_size') ?? 1000;
    if (days === null || days < MIN_RETENTION_DAYS) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        `retention_days must be at least ${MIN_RETENTION_DAYS}`,
      );
    }
    const pass = await this.exclusive.run('retention', this.config.workerId, () =>
      runRetention(this.dataSource, days, batch),
    );
    if (!pass.ran) {
      return {
        outputData: {
          retention_days: days,
          skipped: true,
          reason: 'another retention pass was running; it deletes the same rows',
        },
      };
    }
    const result = pass.value;
    return {
      outputData: {
        retention_days: result.retentionDays,
        cutoff: result.cutoff,
        events_deleted: result.eventsDeleted,
        tasks_deleted: result.tasksDeleted,
        executions_deleted: result.executionsDeleted,
        audit_records_deleted: result.auditRecordsDeleted,
        partitions_dropped: result.partitionsDropped,
        batches: result.batches,
      },
    };
  }
}
