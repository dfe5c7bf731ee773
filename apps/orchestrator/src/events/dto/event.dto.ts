import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, Matches } from 'class-validator';
import { PagingQuery, booleanString } from '../../common/paging.dto';

export class ListEventsQuery extends PagingQuery {
  @ApiPropertyOptional({ description: 'GitHub event name, e.g. `pull_request`' })
  @IsOptional()
  @Matches(/^[a-z_]{1,64}$/, { message: 'event_type must be a GitHub event name (a-z and _)' })
  event_type?: string;

  @ApiPropertyOptional({ type: Boolean, description: 'true: every task of the event has ended' })
  @IsOptional()
  @Transform(booleanString)
  @IsBoolean({ message: 'processed must be true or false' })
  processed?: boolean;

  @ApiPropertyOptional({
    type: Boolean,
    description: 'true: events whose error_message is set (a task failed); false: the others',
  })
  @IsOptional()
  @Transform(booleanString)
  @IsBoolean({ message: 'failed must be true or false' })
  failed?: boolean;

  @ApiPropertyOptional({ description: 'owner/name, e.g. `octo-org/app`' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/, {
    message: 'repository must look like owner/name',
  })
  repository?: string;

  @ApiPropertyOptional({
    description: 'The X-GitHub-Delivery id (exact)',
  })
  @IsOptional()
  @Matches(/^[A-Za-z0-9-]{1,64}$/, {
    message: 'delivery_id must be 1-64 letters, digits or dashes',
  })
  delivery_id?: string;
}

export class EventTaskSummaryDto {
  @ApiProperty({ example: 1 }) total!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { completed: 1, failed: 1 },
    description: 'Tasks by status',
  })
  by_status!: Record<string, number>;
  @ApiProperty({ type: [String], example: ['pull_request_analysis'] }) task_types!: string[];
}

export class EventSummaryDto {
  @ApiProperty({ example: 1 }) id!: number;
  @ApiProperty({ example: '12345678-1234-1234-1234-123456789012' }) delivery_id!: string;
  @ApiProperty({ example: 'pull_request' }) event_type!: string;
  @ApiProperty({ example: 'opened', nullable: true, type: String }) action!: string | null;
  @ApiProperty({ example: 'octo-org/app', nullable: true, type: String }) repository!:
    string | null;
  @ApiProperty({ enum: ['webhook', 'recovered', 'replayed'] }) received_via!: string;
  @ApiProperty() processed!: boolean;
  @ApiProperty({ example: '2023-12-01T10:00:00Z' }) created_at!: string;
  @ApiProperty({ nullable: true, type: String }) error_message!: string | null;
  @ApiProperty({
    type: EventTaskSummaryDto,
    description:
      'What routing created for the event (reprocessed rounds included) and where it stands',
  })
  tasks!: EventTaskSummaryDto;
}

export class EventTaskRefDto {
  @ApiProperty({ format: 'uuid' }) task_id!: string;
  @ApiProperty({ example: 'pull_request_analysis' }) task_type!: string;
  @ApiProperty({ example: 'completed' }) status!: string;
}

export class EventRoutingDto {
  @ApiProperty({ enum: ['queued', 'ignored', 'pong', 'processed'], example: 'queued' })
  status!: string;
  @ApiProperty({ nullable: true, type: String, example: 'unsupported_event_type' })
  reason!: string | null;
  @ApiProperty({ type: [String], example: ['pull_request_analysis'] }) task_types!: string[];
}

export class EventDetailDto {
  @ApiProperty({ example: 1 }) id!: number;
  @ApiProperty() delivery_id!: string;
  @ApiProperty() event_type!: string;
  @ApiProperty({ nullable: true, type: String }) action!: string | null;
  @ApiProperty({ example: 'github' }) source!: string;
  @ApiProperty({ enum: ['webhook', 'recovered', 'replayed'] }) received_via!: string;
  @ApiProperty({ nullable: true, type: String }) repository!: string | null;
  @ApiProperty({ nullable: true, type: Number }) installation_id!: number | null;
  @ApiProperty({ nullable: true, type: String }) sender_login!: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The GitHub payload as received',
  })
  payload!: unknown;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'GitHub headers kept from the delivery (never signatures or credentials)',
  })
  headers!: Record<string, string>;
  @ApiProperty() processed!: boolean;
  @ApiProperty({ nullable: true, type: String }) processing_started_at!: string | null;
  @ApiProperty({ nullable: true, type: String }) processing_completed_at!: string | null;
  @ApiProperty({ nullable: true, type: String }) error_message!: string | null;
  @ApiProperty() retry_count!: number;
  @ApiProperty() created_at!: string;
  @ApiProperty() updated_at!: string;
  @ApiProperty({ type: [EventTaskRefDto] }) tasks!: EventTaskRefDto[];
  @ApiProperty({
    type: EventRoutingDto,
    description:
      'What routing decides for this payload under the rules in force now (the tasks show what it ' +
      'decided when the event arrived; they differ only if the rules changed since)',
  })
  routing!: EventRoutingDto;
}

export class ReprocessResultDto {
  @ApiProperty({ example: 'reprocessing', enum: ['reprocessing', 'nothing_to_do'] })
  status!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'First new task' })
  task_id!: string | null;
  @ApiProperty({ type: [String] }) task_ids!: string[];
  @ApiProperty({ example: 1 }) event_id!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'What the current routing decided',
  })
  result!: Record<string, unknown>;
}
