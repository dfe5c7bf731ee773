import { Controller, Get, HttpCode, Param, Post, Query, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditType } from '@app/platform';
import { AuditedAction } from '../audit/audited-action';
import { paramOf } from '../common/request-facts';
import { RequireRole } from '../auth/auth.decorators';
import { Role } from '../auth/role';
import { ForceQuery } from '../common/paging.dto';
import { apiValidationPipe, ParseUuidPipe } from '../common/validation';
import { ApiErrors } from '../docs/api-errors.decorator';
import { ListTasksQuery, RetryResultDto, TaskDetailDto, TaskSummaryDto } from './dto/task.dto';
import { TasksService } from './tasks.service';

@ApiTags('tasks')
@ApiBearerAuth()
@Controller('api/v1/tasks')
@UsePipes(apiValidationPipe)
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @Get()
  @ApiOperation({ summary: 'List workflow tasks, newest first' })
  @ApiOkResponse({ type: [TaskSummaryDto] })
  @ApiErrors(400, 401, 429)
  list(@Query() query: ListTasksQuery): Promise<TaskSummaryDto[]> {
    return this.tasks.list(query);
  }

  @Get(':task_id')
  @ApiOperation({ summary: 'One task with its executions, newest first' })
  @ApiOkResponse({ type: TaskDetailDto })
  @ApiErrors(400, 401, 404, 429)
  get(@Param('task_id', ParseUuidPipe) taskId: string): Promise<TaskDetailDto> {
    return this.tasks.get(taskId);
  }

  @Post(':task_id/retry')
  @HttpCode(200)
  @RequireRole(Role.Operator)
  @AuditedAction({
    type: AuditType.TaskRetry,
    target: (req) => `task:${paramOf(req, 'task_id')}`,
    details: (result) => ({ job_id: (result as RetryResultDto).job_id }),
  })
  @ApiOperation({
    summary: 'Retry a failed or cancelled task',
    description:
      'Back to pending and through the queue; 400 for other states, and once retries are spent unless force=true.',
  })
  @ApiOkResponse({ type: RetryResultDto })
  @ApiErrors(400, 401, 403, 404, 429)
  retry(
    @Param('task_id', ParseUuidPipe) taskId: string,
    @Query() query: ForceQuery,
  ): Promise<RetryResultDto> {
    return this.tasks.retry(taskId, query.force);
  }
}
