import type { TaskExecutionEntity, WorkflowTaskEntity } from '@app/persistence';
import { ExecutionDto, TaskDetailDto, TaskSummaryDto } from './dto/task.dto';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toTaskSummary(t: WorkflowTaskEntity): TaskSummaryDto {
  return {
    id: t.id,
    task_id: t.taskId,
    webhook_event_id: t.webhookEventId,
    task_type: t.taskType,
    status: t.status,
    repository: t.repository,
    pr_number: t.prNumber,
    created_at: t.createdAt.toISOString(),
    completed_at: iso(t.completedAt),
    error_message: t.errorMessage,
    codegen_task_url: t.codegenTaskUrl,
  };
}

export function toExecution(x: TaskExecutionEntity): ExecutionDto {
  return {
    id: x.id,
    execution_id: x.executionId,
    attempt: x.attempt,
    status: x.status,
    started_at: x.startedAt.toISOString(),
    completed_at: iso(x.completedAt),
    duration_ms: x.durationMs,
    error_message: x.errorMessage,
    worker_id: x.workerId,
    queue_name: x.queueName,
  };
}

export function toTaskDetail(
  t: WorkflowTaskEntity,
  executions: TaskExecutionEntity[],
): TaskDetailDto {
  return {
    id: t.id,
    task_id: t.taskId,
    webhook_event_id: t.webhookEventId,
    parent_task_id: t.parentTaskId,
    task_type: t.taskType,
    status: t.status,
    priority: t.priority,
    repository: t.repository,
    pr_number: t.prNumber,
    branch: t.branch,
    commit_sha: t.commitSha,
    config: t.config,
    input_data: t.inputData,
    output_data: t.outputData,
    started_at: iso(t.startedAt),
    completed_at: iso(t.completedAt),
    error_message: t.errorMessage,
    retry_count: t.retryCount,
    max_retries: t.maxRetries,
    codegen_task_id: t.codegenTaskId,
    codegen_task_url: t.codegenTaskUrl,
    agent_run_requested_at: iso(t.agentRunRequestedAt),
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
    executions: executions.map(toExecution),
  };
}
