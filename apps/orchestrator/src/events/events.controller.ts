import { Controller, Get, HttpCode, Param, Post, Query, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditType } from '@app/platform';
import { AuditedAction } from '../audit/audited-action';
import { paramOf } from '../common/request-facts';
import { RequireRole } from '../auth/auth.decorators';
import { Role } from '../auth/role';
import { ApiErrors } from '../docs/api-errors.decorator';
import { apiValidationPipe, ParsePositiveIntPipe } from '../common/validation';
import { ForceQuery } from '../common/paging.dto';
import {
  EventDetailDto,
  EventSummaryDto,
  ListEventsQuery,
  ReprocessResultDto,
} from './dto/event.dto';
import { EventsService } from './events.service';

@ApiTags('events')
@ApiBearerAuth()
@Controller('api/v1/webhooks/events')
@UsePipes(apiValidationPipe)
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @ApiOperation({ summary: 'List stored webhook events, newest first' })
  @ApiOkResponse({ type: [EventSummaryDto] })
  @ApiErrors(400, 401, 429)
  list(@Query() query: ListEventsQuery): Promise<EventSummaryDto[]> {
    return this.events.list(query);
  }

  @Get(':event_id')
  @ApiOperation({ summary: 'One event with its payload, stored headers and tasks' })
  @ApiOkResponse({ type: EventDetailDto })
  @ApiErrors(400, 401, 404, 429)
  get(@Param('event_id', ParsePositiveIntPipe) id: number): Promise<EventDetailDto> {
    return this.events.get(id);
  }

  @Post(':event_id/reprocess')
  @HttpCode(200)
  @RequireRole(Role.Operator)
  @AuditedAction({
    type: AuditType.EventReprocess,
    target: (req) => `event:${paramOf(req, 'event_id')}`,
    details: (result) => {
      const r = result as ReprocessResultDto;
      return { status: r.status, task_ids: r.task_ids };
    },
  })
  @ApiOperation({
    summary: 'Run a failed event through the current routing again',
    description:
      'Creates and queues new tasks. Refused (400) for an event still in progress or processed without error, unless force=true.',
  })
  @ApiOkResponse({ type: ReprocessResultDto })
  @ApiErrors(400, 401, 403, 404, 429)
  reprocess(
    @Param('event_id', ParsePositiveIntPipe) id: number,
    @Query() query: ForceQuery,
  ): Promise<ReprocessResultDto> {
    return this.events.reprocess(id, query.force);
  }
}
