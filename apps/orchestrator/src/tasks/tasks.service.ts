import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '@app/platform';
import { OperatorCommands, OperatorQueries } from '@app/persistence';
import { TaskEnqueuer } from '@app/runtime';
import { ListTasksQuery, RetryResultDto, TaskDetailDto, TaskSummaryDto } from './dto/task.dto';
import { toTaskDetail, toTaskSummary } from './task.mapper';

@Injectable()
export class TasksService {
  constructor(
    private readonly queries: OperatorQueries,
    private readonly commands: OperatorCommands,
    private readonly enqueuer: TaskEnqueuer,
  ) {}

  async list(query: ListTasksQuery): Promise<TaskSummaryDto[]> {
    const rows = await this.queries.listTasks(
      { status: query.status, taskType: query.task_type, repository: query.repository },
      { limit: query.limit, offset: query.offset },
    );
    return rows.map(toTaskSummary);
  }

  async get(taskId: string): Promise<TaskDetailDto> {
    const task = await this.queries.findTask(taskId);
    if (!task) throw new DomainError(ErrorCode.NotFound, `task ${taskId} not found`);
    return toTaskDetail(task, await this.queries.listExecutions(task.id));
  }

  /** Sends a failed or cancelled task back through the queue; its next attempt is a new execution. */
  async retry(taskId: string, force: boolean): Promise<RetryResultDto> {
    const outcome = await this.commands.retryTask(taskId, force);
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'not_found':
          throw new DomainError(ErrorCode.NotFound, `task ${taskId} not found`);
        case 'not_retryable':
          throw new DomainError(
            ErrorCode.InvalidInput,
            `only failed or cancelled tasks can be retried; this one is ${outcome.status}`,
          );
        case 'duplicate':
          throw new DomainError(
            ErrorCode.Duplicate,
            'another agent trigger for the same commit already holds its run; retry that one instead',
          );
        case 'exhausted':
          throw new DomainError(
            ErrorCode.InvalidInput,
            'the task has used all its retries; use ?force=true to retry anyway',
          );
      }
    }
    await this.enqueuer.enqueue([
      { taskId, taskType: outcome.taskType, attemptsLeft: outcome.attemptsLeft },
    ]);
    return { status: 'retrying', job_id: taskId, celery_task_id: taskId, task_id: taskId };
  }
}
