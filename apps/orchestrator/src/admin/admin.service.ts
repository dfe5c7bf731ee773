import { Inject, Injectable } from '@nestjs/common';
import { TaskType } from '@app/domain';
import { DeliveryRecoveryRepository, OperatorCommands, OperatorQueries } from '@app/persistence';
import { TaskEnqueuer } from '@app/runtime';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import {
  AdminStatsDto,
  CleanupTriggeredDto,
  DeliveryRecoveryTriggeredDto,
  SystemMetricsDto,
} from './dto/admin.dto';

const percent = (part: number, whole: number): number =>
  whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 100;

@Injectable()
export class AdminService {
  constructor(
    private readonly queries: OperatorQueries,
    private readonly commands: OperatorCommands,
    private readonly enqueuer: TaskEnqueuer,
    @Inject(ORCHESTRATOR_CONFIG) private readonly config: OrchestratorConfig,
    private readonly deliveryRecovery: DeliveryRecoveryRepository,
  ) {}

  /**
   * A delivery recovery pass as a tracked task: the worker walks the hook's delivery log and
   * asks GitHub to redeliver what never reached us. One pass runs at a time across workers.
   */
  async recoverDeliveries(actor: string): Promise<DeliveryRecoveryTriggeredDto> {
    const taskId = await this.deliveryRecovery.createTask('operator', actor);
    await this.enqueuer.enqueue([{ taskId, taskType: TaskType.DeliveryRecovery, attemptsLeft: 3 }]);
    return { status: 'delivery_recovery_triggered', task_id: taskId };
  }

  async metrics(): Promise<SystemMetricsDto> {
    const t = await this.queries.totals();
    return {
      webhook_events_total: t.webhookEventsTotal,
      workflow_tasks_total: t.workflowTasksTotal,
      task_executions_total: t.taskExecutionsTotal,
      tasks_by_status: t.tasksByStatus,
      events_by_type: t.eventsByType,
      avg_processing_time_ms: t.avgProcessingTimeMs,
    };
  }

  async stats(): Promise<AdminStatsDto> {
    const s = await this.queries.last24Hours();
    return {
      recent_activity: { webhooks_24h: s.webhooks24h, tasks_24h: s.tasks24h },
      error_rates: {
        failed_webhooks_24h: s.failedWebhooks24h,
        failed_tasks_24h: s.failedTasks24h,
        webhook_error_rate: percent(s.failedWebhooks24h, s.webhooks24h),
        task_error_rate: percent(s.failedTasks24h, s.tasks24h),
      },
    };
  }

  /** Retention as a tracked task: the worker runs it, the tasks API shows what it deleted. */
  async cleanup(actor: string): Promise<CleanupTriggeredDto> {
    const taskId = await this.commands.createCleanupTask(
      this.config.retentionDays,
      this.config.retentionBatchSize,
      actor,
    );
    await this.enqueuer.enqueue([{ taskId, taskType: TaskType.Cleanup, attemptsLeft: 2 }]);
    return {
      status: 'cleanup_triggered',
      task_id: taskId,
      retention_days: this.config.retentionDays,
    };
  }
}
