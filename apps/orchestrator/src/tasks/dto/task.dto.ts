import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsOptional, Matches } from 'class-validator';
import { TaskStatus, TaskType } from '@app/domain';
import { PagingQuery } from '../../common/paging.dto';

export class ListTasksQuery extends PagingQuery {
  @ApiPropertyOptional({ enum: TaskStatus })
  @IsOptional()
  @IsEnum(TaskStatus, { message: `status must be one of ${Object.values(TaskStatus).join(', ')}` })
  status?: TaskStatus;

  @ApiPropertyOptional({ enum: TaskType })
  @IsOptional()
  @IsEnum(TaskType, { message: `task_type must be one of ${Object.values(TaskType).join(', ')}` })
  task_type?: TaskType;

  @ApiPropertyOptional({ description: 'owner/name, e.g. `octo-org/app`' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/, {
    message: 'repository must look like owner/name',
  })
  repository?: string;
}

export class TaskSummaryDto {
  @ApiProperty({ example: 1 }) id!: number;
  @ApiProperty({ format: 'uuid' }) task_id!: string;
  @ApiProperty({ nullable: true, type: Number, description: 'The event that created it' })
  webhook_event_id!: number | null;
  @ApiProperty({ enum: TaskType }) task_type!: string;
  @ApiProperty({ enum: TaskStatus }) status!: string;
  @ApiProperty({ nullable: true, type: String, example: 'owner/repo' }) repository!: string | null;
  @ApiProperty({ nullable: true, type: Number, example: 123 }) pr_number!: number | null;
  @ApiProperty() created_at!: string;
  @ApiProperty({ nullable: true, type: String }) completed_at!: string | null;
  @ApiProperty({ nullable: true, type: String }) error_message!: string | null;
  @ApiProperty({ nullable: true, type: String }) codegen_task_url!: string | null;
}

export class ExecutionDto {
  @ApiProperty() id!: number;
  @ApiProperty({ format: 'uuid' }) execution_id!: string;
  @ApiProperty({ example: 1 }) attempt!: number;
  @ApiProperty({ enum: ['running', 'completed', 'failed', 'retrying', 'abandoned', 'held'] })
  status!: string;
  @ApiProperty() started_at!: string;
  @ApiProperty({ nullable: true, type: String }) completed_at!: string | null;
  @ApiProperty({ nullable: true, type: Number, example: 30000 }) duration_ms!: number | null;
  @ApiProperty({ nullable: true, type: String }) error_message!: string | null;
  @ApiProperty() worker_id!: string;
  @ApiProperty() queue_name!: string;
}

export class TaskDetailDto {
  @ApiProperty() id!: number;
  @ApiProperty({ format: 'uuid' }) task_id!: string;
  @ApiProperty({ nullable: true, type: Number }) webhook_event_id!: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'The analysis that asked for this task',
  })
  parent_task_id!: number | null;
  @ApiProperty({ enum: TaskType }) task_type!: string;
  @ApiProperty({ enum: TaskStatus }) status!: string;
  @ApiProperty() priority!: number;
  @ApiProperty({ nullable: true, type: String }) repository!: string | null;
  @ApiProperty({ nullable: true, type: Number }) pr_number!: number | null;
  @ApiProperty({ nullable: true, type: String }) branch!: string | null;
  @ApiProperty({ nullable: true, type: String }) commit_sha!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) config!: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true }) input_data!: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) output_data!: Record<
    string,
    unknown
  > | null;
  @ApiProperty({ nullable: true, type: String }) started_at!: string | null;
  @ApiProperty({ nullable: true, type: String }) completed_at!: string | null;
  @ApiProperty({ nullable: true, type: String }) error_message!: string | null;
  @ApiProperty() retry_count!: number;
  @ApiProperty() max_retries!: number;
  @ApiProperty({ nullable: true, type: String }) codegen_task_id!: string | null;
  @ApiProperty({ nullable: true, type: String }) codegen_task_url!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'When a worker asked Codegen for this task’s agent run. Set while codegen_task_id is empty: ' +
      'the answer was lost (or the worker stopped before saving it), so a run may exist at Codegen: ' +
      'the next attempt looks for it in Codegen’s run list before asking again',
  })
  agent_run_requested_at!: string | null;
  @ApiProperty() created_at!: string;
  @ApiProperty() updated_at!: string;
  @ApiProperty({ type: [ExecutionDto], description: 'Attempts, newest first' })
  executions!: ExecutionDto[];
}

export class RetryResultDto {
  @ApiProperty({ example: 'retrying' }) status!: string;
  @ApiProperty({
    format: 'uuid',
    description: 'The Bull job id (the spec calls it celery_task_id); equal to task_id',
  })
  job_id!: string;
  @ApiProperty({ format: 'uuid', description: 'Alias of job_id, for clients of the original API' })
  celery_task_id!: string;
  @ApiProperty({ format: 'uuid' }) task_id!: string;
}
