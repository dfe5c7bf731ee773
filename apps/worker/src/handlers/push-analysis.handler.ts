import { Injectable } from '@nestjs/common';
import { summarizePush, TaskType } from '@app/domain';
import { HandlerResult, TaskContext, TaskHandler } from './task-handler';

/** Summarises a push to the default branch from its payload. */
@Injectable()
export class PushAnalysisHandler implements TaskHandler {
  readonly taskType = TaskType.PushAnalysis;

  async handle({ event }: TaskContext): Promise<HandlerResult> {
    return { outputData: { ...summarizePush(event?.payload ?? {}) } };
  }
}
