import { ApiProperty } from '@nestjs/swagger';

/** The documented 200 body of `POST /api/v1/webhooks/github`. */
export interface WebhookAcceptedDto {
  status: 'accepted';
  delivery_id: string;
  event_type: string;
  /** What the routing decided: queued (with task ids), ignored (with a reason), pong, processed. */
  result: Record<string, unknown>;
}

/** Swagger shape of {@link WebhookAcceptedDto}. */
export class WebhookAcceptedDoc implements WebhookAcceptedDto {
  @ApiProperty({ enum: ['accepted'] }) status!: 'accepted';
  @ApiProperty({ example: '12345678-1234-1234-1234-123456789012' }) delivery_id!: string;
  @ApiProperty({ example: 'pull_request' }) event_type!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {
      status: 'queued',
      task_id: '5b8f0c1e-8a49-4b9e-9f62-0d3c1c0f6d2a',
      action: 'opened',
    },
    description:
      'queued (task_id, or tasks_created and task_ids), ignored (reason), pong (zen), processed',
  })
  result!: Record<string, unknown>;
}
