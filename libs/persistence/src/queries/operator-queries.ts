import { DataSource } from 'typeorm';
import { WebhookEventEntity } from '../events/webhook-event.entity';
import { TaskExecutionEntity } from '../executions/task-execution.entity';
import { TaskStatus, TaskType } from '@app/domain';
import { WorkflowTaskEntity } from '../tasks/workflow-task.entity';

export interface PageRequest {
  limit: number;
  offset: number;
}

export interface EventFilter {
  eventType?: string;
  processed?: boolean;
  /** true: the event's error names failed tasks (or intake failed); false: no error. */
  failed?: boolean;
  repository?: string;
  deliveryId?: string;
}

/** What became of an event's tasks, for list rows. */
export interface EventTaskSummary {
  byStatus: Record<string, number>;
  types: string[];
}

export interface TaskFilter {
  status?: TaskStatus;
  taskType?: TaskType;
  repository?: string;
}

export interface SystemTotals {
  webhookEventsTotal: number;
  workflowTasksTotal: number;
  taskExecutionsTotal: number;
  tasksByStatus: Record<string, number>;
  eventsByType: Record<string, number>;
  avgProcessingTimeMs: number | null;
}

export interface DailyStats {
  webhooks24h: number;
  tasks24h: number;
  failedWebhooks24h: number;
  failedTasks24h: number;
}

/**
 * Read models for the operator API. Filters are typed values bound as parameters, never SQL
 * text; sorting is fixed (newest first by id, which the indexes serve).
 */
export class OperatorQueries {
  constructor(private readonly dataSource: DataSource) {}

  listEvents(filter: EventFilter, page: PageRequest): Promise<WebhookEventEntity[]> {
    const qb = this.dataSource
      .getRepository(WebhookEventEntity)
      .createQueryBuilder('e')
      .select([
        'e.id',
        'e.deliveryId',
        'e.eventType',
        'e.action',
        'e.repository',
        'e.receivedVia',
        'e.processed',
        'e.errorMessage',
        'e.createdAt',
      ]);
    if (filter.eventType !== undefined)
      qb.andWhere('e.eventType = :eventType', { eventType: filter.eventType });
    if (filter.processed !== undefined)
      qb.andWhere('e.processed = :processed', { processed: filter.processed });
    if (filter.failed !== undefined)
      qb.andWhere(filter.failed ? 'e.errorMessage IS NOT NULL' : 'e.errorMessage IS NULL');
    if (filter.repository !== undefined)
      qb.andWhere('e.repository = :repository', { repository: filter.repository });
    if (filter.deliveryId !== undefined)
      // Through the delivery-id guard's key: the monthly partitions have no delivery-id index.
      qb.andWhere(
        'e.id IN (SELECT g.event_id FROM webhook_deliveries g WHERE g.delivery_id = :deliveryId)',
        { deliveryId: filter.deliveryId },
      );
    return qb.orderBy('e.id', 'DESC').limit(page.limit).offset(page.offset).getMany();
  }

  /** Task counts by status and the task types of each event, in one query for a page. */
  async taskSummaries(eventIds: number[]): Promise<Map<number, EventTaskSummary>> {
    const summaries = new Map<number, EventTaskSummary>();
    if (eventIds.length === 0) return summaries;
    const rows = await this.dataSource.query<
      Array<{ webhook_event_id: string; status: string; task_type: string; n: string }>
    >(
      `SELECT webhook_event_id, status, task_type, count(*) AS n FROM workflow_tasks
        WHERE webhook_event_id = ANY($1::bigint[])
        GROUP BY webhook_event_id, status, task_type
        ORDER BY webhook_event_id, task_type`,
      [eventIds],
    );
    for (const row of rows) {
      const id = Number(row.webhook_event_id);
      const summary = summaries.get(id) ?? { byStatus: {}, types: [] };
      summary.byStatus[row.status] = (summary.byStatus[row.status] ?? 0) + Number(row.n);
      if (!summary.types.includes(row.task_type)) summary.types.push(row.task_type);
      summaries.set(id, summary);
    }
    return summaries;
  }

  findEvent(id: number): Promise<WebhookEventEntity | null> {
    return this.dataSource.getRepository(WebhookEventEntity).findOneBy({ id });
  }

  listTasks(filter: TaskFilter, page: PageRequest): Promise<WorkflowTaskEntity[]> {
    const qb = this.dataSource.getRepository(WorkflowTaskEntity).createQueryBuilder('t');
    if (filter.status !== undefined) qb.andWhere('t.status = :status', { status: filter.status });
    if (filter.taskType !== undefined)
      qb.andWhere('t.taskType = :taskType', { taskType: filter.taskType });
    if (filter.repository !== undefined)
      qb.andWhere('t.repository = :repository', { repository: filter.repository });
    return qb.orderBy('t.id', 'DESC').limit(page.limit).offset(page.offset).getMany();
  }

  findTask(taskId: string): Promise<WorkflowTaskEntity | null> {
    return this.dataSource.getRepository(WorkflowTaskEntity).findOneBy({ taskId });
  }

  listExecutions(taskPk: number): Promise<TaskExecutionEntity[]> {
    return this.dataSource
      .getRepository(TaskExecutionEntity)
      .find({ where: { taskId: taskPk }, order: { id: 'DESC' }, take: 500 });
  }

  listTasksOfEvent(eventId: number): Promise<WorkflowTaskEntity[]> {
    return this.dataSource
      .getRepository(WorkflowTaskEntity)
      .find({ where: { webhookEventId: eventId }, order: { id: 'ASC' } });
  }

  async totals(): Promise<SystemTotals> {
    const [counts, byStatus, byType, avg] = await Promise.all([
      this.dataSource.query<Array<{ events: string; tasks: string; executions: string }>>(
        `SELECT (SELECT count(*) FROM webhook_events) AS events,
                (SELECT count(*) FROM workflow_tasks) AS tasks,
                (SELECT count(*) FROM task_executions) AS executions`,
      ),
      this.dataSource.query<Array<{ status: string; n: string }>>(
        `SELECT status, count(*) AS n FROM workflow_tasks GROUP BY status`,
      ),
      this.dataSource.query<Array<{ event_type: string; n: string }>>(
        `SELECT event_type, count(*) AS n FROM webhook_events GROUP BY event_type`,
      ),
      this.dataSource.query<Array<{ avg: string | null }>>(
        `SELECT avg(duration_ms) AS avg FROM task_executions WHERE status = 'completed'`,
      ),
    ]);
    return {
      webhookEventsTotal: Number(counts[0].events),
      workflowTasksTotal: Number(counts[0].tasks),
      taskExecutionsTotal: Number(counts[0].executions),
      tasksByStatus: Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)])),
      eventsByType: Object.fromEntries(byType.map((r) => [r.event_type, Number(r.n)])),
      avgProcessingTimeMs: avg[0].avg === null ? null : Math.round(Number(avg[0].avg) * 10) / 10,
    };
  }

  async last24Hours(): Promise<DailyStats> {
    const rows = await this.dataSource.query<
      Array<{ webhooks: string; failed_webhooks: string; tasks: string; failed_tasks: string }>
    >(
      `SELECT
         (SELECT count(*) FROM webhook_events WHERE created_at > now() - interval '24 hours') AS webhooks,
         (SELECT count(*) FROM webhook_events WHERE created_at > now() - interval '24 hours'
            AND error_message IS NOT NULL) AS failed_webhooks,
         (SELECT count(*) FROM workflow_tasks WHERE created_at > now() - interval '24 hours') AS tasks,
         (SELECT count(*) FROM workflow_tasks WHERE created_at > now() - interval '24 hours'
            AND status = 'failed') AS failed_tasks`,
    );
    return {
      webhooks24h: Number(rows[0].webhooks),
      failedWebhooks24h: Number(rows[0].failed_webhooks),
      tasks24h: Number(rows[0].tasks),
      failedTasks24h: Number(rows[0].failed_tasks),
    };
  }
}
