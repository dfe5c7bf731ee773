import { ApiProperty } from '@nestjs/swagger';

export class SystemMetricsDto {
  @ApiProperty({ example: 1000 }) webhook_events_total!: number;
  @ApiProperty({ example: 800 }) workflow_tasks_total!: number;
  @ApiProperty({ example: 850 }) task_executions_total!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { completed: 700, failed: 50 },
  })
  tasks_by_status!: Record<string, number>;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { pull_request: 600, push: 50 },
  })
  events_by_type!: Record<string, number>;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 2500,
    description: 'Mean duration of completed executions',
  })
  avg_processing_time_ms!: number | null;
}

export class RecentActivityDto {
  @ApiProperty({ example: 100 }) webhooks_24h!: number;
  @ApiProperty({ example: 80 }) tasks_24h!: number;
}

export class ErrorRatesDto {
  @ApiProperty({
    example: 5,
    description: 'Events of the last 24 h whose processing recorded an error',
  })
  failed_webhooks_24h!: number;
  @ApiProperty({ example: 3 }) failed_tasks_24h!: number;
  @ApiProperty({ example: 5.0, description: 'Percent' }) webhook_error_rate!: number;
  @ApiProperty({ example: 3.75, description: 'Percent' }) task_error_rate!: number;
}

export class AdminStatsDto {
  @ApiProperty({ type: RecentActivityDto }) recent_activity!: RecentActivityDto;
  @ApiProperty({ type: ErrorRatesDto }) error_rates!: ErrorRatesDto;
}

export class CleanupTriggeredDto {
  @ApiProperty({ example: 'cleanup_triggered' }) status!: string;
  @ApiProperty({ format: 'uuid', description: 'Follow it at GET /api/v1/tasks/{task_id}' })
  task_id!: string;
  @ApiProperty({ example: 30 }) retention_days!: number;
}

export class DeliveryRecoveryTriggeredDto {
  @ApiProperty({ example: 'delivery_recovery_triggered' }) status!: string;
  @ApiProperty({
    format: 'uuid',
    description:
      'Follow it at GET /api/v1/tasks/{task_id}; its output_data counts deliveries seen, missing, redelivery_requested and failed',
  })
  task_id!: string;
}

export class ServiceInfoDto {
  @ApiProperty({ example: 'webhook-orchestrator' }) service!: string;
  @ApiProperty({ example: '0.1.0' }) version!: string;
  @ApiProperty({
    example: { docs: '/docs', openapi: '/docs-json', health: '/health', metrics: '/metrics' },
  })
  links!: Record<string, string>;
}
