import { Injectable } from '@nestjs/common';
import { TaskType } from '@app/domain';
import { DeliveryRecoveryService } from '../recovery/delivery-recovery.service';
import { reportToOutput } from '../recovery/delivery-recovery.types';
import { HandlerResult, TaskContext, TaskHandler } from './task-handler';

/** Runs one delivery recovery pass (scheduled, or asked for by an operator) and reports it. */
@Injectable()
export class DeliveryRecoveryHandler implements TaskHandler {
  readonly taskType = TaskType.DeliveryRecovery;

  constructor(private readonly recovery: DeliveryRecoveryService) {}

  async handle({ task, signal }: TaskContext): Promise<HandlerResult> {
    const outcome = await this.recovery.run(task.taskId, signal);
    if (!outcome.ran) return { outputData: { skipped: outcome.reason } };
    return { outputData: reportToOutput(outcome.report) };
  }
}
