import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TaskType } from '@app/domain';
import { DomainError, ErrorCode } from '@app/platform';
import { MIN_RETENTION_DAYS, runRetention } from '@app/persistence';
import { HandlerResult, inputNumber, TaskContext, TaskHandler } from './task-handler';

/** Runs retention for an operator's cleanup request and reports what it deleted. */
@Injectable()
export class CleanupHandler implements TaskHandler {
  readonly taskType = TaskType.Cleanup;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async handle({ task }: TaskContext): Promise<HandlerResult> {
    const days = inputNumber(task.inputData, 'retention_days');
    const batch = inputNumber(task.inputData, 'batch_size') ?? 1000;
    if (days === null || days < MIN_RETENTION_DAYS) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        `retention_days must be at least ${MIN_RETENTION_DAYS}`,
      );
    }
    const result = await runRetention(this.dataSource, days, batch);
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
