import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, Matches } from 'class-validator';
import { AUDIT_TYPES, AuditType } from '@app/platform';
import { PagingQuery } from '../../common/paging.dto';

/** ISO 8601 date, or date-time with an explicit zone (a local time would depend on the server). */
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const TARGET = String.raw`(event:[1-9]\d{0,18}|task:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`;
const TARGETS = new RegExp(`^${TARGET}(,${TARGET}){0,49}$`);
const OUTCOMES = ['denied', 'throttled', 'succeeded', 'refused', 'not_found', 'failed'];

export class ListAuditQuery extends PagingQuery {
  @ApiPropertyOptional({ enum: AUDIT_TYPES, description: 'Only records of this type' })
  @IsOptional()
  @IsIn(AUDIT_TYPES, { message: `type must be one of ${AUDIT_TYPES.join(', ')}` })
  type?: AuditType;

  @ApiPropertyOptional({ description: 'Token subject of the actor, e.g. `alice`' })
  @IsOptional()
  @Matches(/^[\x20-\x7e]{1,200}$/, { message: 'actor must be 1-200 printable characters' })
  actor?: string;

  @ApiPropertyOptional({
    description:
      'Records that occurred at or after this instant (ISO 8601 with a zone, or a date), e.g. `2024-01-01T00:00:00Z`',
  })
  @IsOptional()
  @Matches(INSTANT, { message: 'since must be an ISO 8601 date or date-time with a zone' })
  @IsISO8601({ strict: true }, { message: 'since must be a valid date' })
  since?: string;

  @ApiPropertyOptional({
    description: 'Records that occurred before this instant, e.g. `2024-01-02T00:00:00Z`',
  })
  @IsOptional()
  @Matches(INSTANT, { message: 'until must be an ISO 8601 date or date-time with a zone' })
  @IsISO8601({ strict: true }, { message: 'until must be a valid date' })
  until?: string;

  @ApiPropertyOptional({
    description:
      'Records about these targets: up to 50 `event:<id>` or `task:<uuid>`, comma-separated',
  })
  @IsOptional()
  @Matches(TARGETS, {
    message: 'target must be up to 50 comma-separated event:<id> or task:<uuid> values',
  })
  target?: string;
}

export class AuditRecordDto {
  @ApiProperty({ example: 1 }) id!: number;
  @ApiProperty({
    example: '2024-01-01T10:00:00.000Z',
    description: 'When it happened; for an aggregate, the first occurrence in its minute',
  })
  occurred_at!: string;
  @ApiProperty({ example: '2024-01-01T10:00:41.000Z', description: 'Last occurrence (aggregates)' })
  last_seen_at!: string;
  @ApiProperty({ enum: AUDIT_TYPES }) type!: string;
  @ApiProperty({ enum: OUTCOMES }) outcome!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'alice',
    description: 'Verified token subject',
  })
  actor!: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'operator' }) role!: string | null;
  @ApiProperty({ nullable: true, type: String, example: '203.0.113.7' })
  client_address!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Event or task id, or the route (`GET /api/v1/tasks`) of a refused request',
  })
  target!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'mismatch',
    description:
      'Which check failed (missing, malformed, mismatch, expired, ...) or the error code',
  })
  reason!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Of the (first) request' })
  correlation_id!: string | null;
  @ApiProperty({
    example: 1,
    description: 'Occurrences folded into this record (same client, reason, minute)',
  })
  count!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { delivery_id: '72d3162e-cc78-11e3-81ab-4c9367dc0958', event: 'push' },
    description: 'Further facts; never a body, signature or token',
  })
  details!: Record<string, unknown>;
}
