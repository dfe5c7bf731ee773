import type { RouteOutcome } from '@app/domain';
import type { EventTaskSummary, WebhookEventEntity, WorkflowTaskEntity } from '@app/persistence';
import { EventDetailDto, EventRoutingDto, EventSummaryDto } from './dto/event.dto';

/** Header names that may carry secrets; never returned even if an old row holds them. */
const SECRET_HEADER = /authorization|cookie|signature|token|secret/i;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toEventSummary(
  e: WebhookEventEntity,
  tasks: EventTaskSummary = { byStatus: {}, types: [] },
): EventSummaryDto {
  return {
    id: e.id,
    delivery_id: e.deliveryId,
    event_type: e.eventType,
    action: e.action,
    repository: e.repository,
    received_via: e.receivedVia,
    processed: e.processed,
    created_at: e.createdAt.toISOString(),
    error_message: e.errorMessage,
    tasks: {
      total: Object.values(tasks.byStatus).reduce((sum, n) => sum + n, 0),
      by_status: tasks.byStatus,
      task_types: tasks.types,
    },
  };
}

export function toEventRouting(outcome: RouteOutcome): EventRoutingDto {
  switch (outcome.kind) {
    case 'tasks':
      return {
        status: 'queued',
        reason: null,
        task_types: [...new Set(outcome.tasks.map((t) => t.taskType))],
      };
    case 'ignored':
      return { status: 'ignored', reason: outcome.reason, task_types: [] };
    case 'pong':
      return { status: 'pong', reason: null, task_types: [] };
    case 'installation':
      return { status: 'processed', reason: null, task_types: [] };
  }
}

export function toEventDetail(
  e: WebhookEventEntity,
  tasks: WorkflowTaskEntity[],
  routing: EventRoutingDto,
): EventDetailDto {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(e.headers ?? {})) {
    if (!SECRET_HEADER.test(name) && typeof value === 'string') headers[name] = value;
  }
  return {
    id: e.id,
    delivery_id: e.deliveryId,
    event_type: e.eventType,
    action: e.action,
    source: e.source,
    received_via: e.receivedVia,
    repository: e.repository,
    installation_id: e.installationId,
    sender_login: e.senderLogin,
    payload: e.payload,
    headers,
    processed: e.processed,
    processing_started_at: iso(e.processingStartedAt),
    processing_completed_at: iso(e.processingCompletedAt),
    error_message: e.errorMessage,
    retry_count: e.retryCount,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
    tasks: tasks.map((t) => ({ task_id: t.taskId, task_type: t.taskType, status: t.status })),
    routing,
  };
}
