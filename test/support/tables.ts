/** Every table the apps write. */
export const TRUNCATED_TABLES: readonly string[] = [
  'webhook_events',
  'webhook_deliveries',
  'webhook_payload_digests',
  'workflow_tasks',
  'task_executions',
  'github_installations',
  'github_installation_repositories',
  'audit_log',
  'delivery_recovery_state',
  'delivery_redelivery_requests',
  'revoked_tokens',
  'agent_run_spend',
  'repository_rules_files',
  'agent_run_outcomes',
  'exclusive_runs',
  'codegen_create_requests',
];

/** Empties every table the apps write, ids restarting at 1. */
export const TRUNCATE_ALL_SQL = `TRUNCATE ${TRUNCATED_TABLES.join(', ')} RESTART IDENTITY CASCADE`;
