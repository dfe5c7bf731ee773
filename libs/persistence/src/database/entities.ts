import { AuditLogEntity } from '../audit/audit-log.entity';
import { WebhookEventEntity } from '../events/webhook-event.entity';
import { TaskExecutionEntity } from '../executions/task-execution.entity';
import {
  InstallationEntity,
  InstallationRepositoryEntity,
} from '../installations/installation.entity';
import { WorkflowTaskEntity } from '../tasks/workflow-task.entity';

export const ENTITIES = [
  WebhookEventEntity,
  WorkflowTaskEntity,
  TaskExecutionEntity,
  InstallationEntity,
  InstallationRepositoryEntity,
  AuditLogEntity,
];
