import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { routeWithRules } from '@app/domain';
import { DomainError, ErrorCode } from '@app/platform';
import { NewTask, OperatorCommands, OperatorQueries } from '@app/persistence';
import { newTaskJobs, TaskEnqueuer } from '@app/runtime';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import {
  EventDetailDto,
  EventSummaryDto,
  ListEventsQuery,
  ReprocessResultDto,
} from './dto/event.dto';
import { toEventDetail, toEventRouting, toEventSummary } from './event.mapper';

@Injectable()
export class EventsService {
  constructor(
    private readonly queries: OperatorQueries,
    private readonly commands: OperatorCommands,
    private readonly enqueuer: TaskEnqueuer,
    @Inject(ORCHESTRATOR_CONFIG) private readonly config: OrchestratorConfig,
  ) {}

  async list(query: ListEventsQuery): Promise<EventSummaryDto[]> {
    const rows = await this.queries.listEvents(
      {
        eventType: query.event_type,
        processed: query.processed,
        failed: query.failed,
        repository: query.repository,
        deliveryId: query.delivery_id,
      },
      { limit: query.limit, offset: query.offset },
    );
    const summaries = await this.queries.taskSummaries(rows.map((r) => r.id));
    return rows.map((r) => toEventSummary(r, summaries.get(r.id)));
  }

  async get(id: number): Promise<EventDetailDto> {
    const event = await this.queries.findEvent(id);
    if (!event) throw new DomainError(ErrorCode.NotFound, `event ${id} not found`);
    const { outcome } = routeWithRules(event.eventType, event.payload, this.config.rules);
    return toEventDetail(event, await this.queries.listTasksOfEvent(id), toEventRouting(outcome));
  }

  /**
   * Runs a stored event through the current routing again and queues the tasks it implies.
   * Only a failed event qualifies unless forced: reprocessing one in flight or one that
   * succeeded would repeat work (and possibly agent runs).
   */
  async reprocess(id: number, force: boolean): Promise<ReprocessResultDto> {
    const event = await this.queries.findEvent(id);
    if (!event) throw new DomainError(ErrorCode.NotFound, `event ${id} not found`);
    if (!force && !event.processed) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        'event is still being processed; use ?force=true to reprocess anyway',
      );
    }
    if (!force && event.errorMessage === null) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        'event was processed without error; use ?force=true to reprocess anyway',
      );
    }
    const { outcome } = routeWithRules(event.eventType, event.payload, this.config.rules);
    const tasks: NewTask[] =
      outcome.kind === 'tasks'
        ? outcome.tasks.map((d) => ({
            ...d,
            taskId: randomUUID(),
            maxRetries: this.config.task.maxRetries,
          }))
        : [];
    await this.commands.addTasksToEvent(id, tasks);
    await this.enqueuer.enqueue(newTaskJobs(tasks));
    return {
      status: tasks.length > 0 ? 'reprocessing' : 'nothing_to_do',
      task_id: tasks[0]?.taskId ?? null,
      task_ids: tasks.map((t) => t.taskId),
      event_id: id,
      result:
        outcome.kind === 'ignored'
          ? { status: 'ignored', reason: outcome.reason }
          : {
              status: outcome.kind === 'tasks' ? 'queued' : 'processed',
              tasks_created: tasks.length,
            },
    };
  }
}
