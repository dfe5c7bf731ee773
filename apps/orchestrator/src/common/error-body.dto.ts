import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The documented error format (every 4xx/5xx on every route). */
export class ErrorBodyDto {
  @ApiProperty({ example: 'invalid request' })
  error!: string;

  @ApiProperty({ example: 400 })
  status_code!: number;

  @ApiProperty({ example: '/api/v1/tasks' })
  path!: string;

  @ApiProperty({ example: '6f1c7a52-1f0e-4f65-9d7e-1b1a6c0e8a11' })
  correlation_id!: string;

  @ApiPropertyOptional({ type: [String], example: ['limit must not be greater than 1000'] })
  details?: string[];
}
