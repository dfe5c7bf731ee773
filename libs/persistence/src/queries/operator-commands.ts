import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { WebhookEventRepository } from '../events/webhook-event.repository';
import { NewTask, TaskCreationRepository } from '../tasks/task-creation.repository';
import type { OperatorRetryResult } from '../tasks/claimed-task';
import { TaskLifecycleRepository } from '../tasks/task-lifecycle.repository';

/**
 * State changes operators ask for. Each is one conditional statement or one transaction, so two
 * operators clicking at once cannot both win, and a task that changed meanwhile is refused
 * rather than overwritten. The rows are written by their tables' owners; this class says which
 * writes make up each command.
 */
@Injectable()
export class OperatorCommands {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: WebhookEventRepository,
    private readonly lifecycle: TaskLifecycleRepository,
    private readonly creation: TaskCreationRepository,
  ) {}

  /** failed/cancelled → pending, keeping its history; exhausted retries need `force`. */
  retryTask(taskId: string, force: boolean): Promise<OperatorRetryResult> {
    return this.lifecycle.retryByOperator(taskId, force);
  }

  /**
   * Stores new tasks for an existing event (reprocessing with the current routing) and marks
   * the event live again, in one transaction.
   */
  async addTasksToEvent(eventId: number, tasks: NewTask[]): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await this.creation.createReprocessRound(m, eventId, tasks);
      await this.events.startNewRound(m, eventId, tasks.length > 0);
    });
  }

  /** A tracked cleanup task, run by the worker. */
  createCleanupTask(
    retentionDays: number,
    batchSize: number,
    requestedBy: string,
  ): Promise<string> {
    return this.creation.createCleanup(this.dataSource, { retentionDays, batchSize, requestedBy });
  }
}
