// PostgreSQL: entities, migrations and their runner, repositories, operator queries, retention.
// Imports @app/domain and @app/platform only.
export * from './database/data-source-options';
export * from './database/entities';
export * from './database/migrations';
export * from './database/migrate';
export * from './database/migrate-on-start';
export * from './events/webhook-event.entity';
export * from './events/webhook-event.repository';
export * from './tasks/workflow-task.entity';
export * from './tasks/task.repository';
export * from './executions/task-execution.entity';
export * from './installations/installation.entity';
export * from './installations/installation-access';
export * from './recovery/delivery-recovery.repository';
export * from './queries/operator-queries';
export * from './queries/operator-commands';
export * from './retention/retention';
export * from './audit/audit-log.entity';
export * from './audit/audit-log.repository';
export * from './auth/revoked-token.repository';
export * from './agent-runs/agent-budget.repository';
export * from './agent-runs/repository-rules-file.repository';
export * from './agent-runs/agent-run-outcome.repository';
