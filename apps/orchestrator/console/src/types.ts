/** The operator API's answers, as the console reads them (see /docs for the full schemas). */
export interface EventSummary {
  id: number;
  delivery_id: string;
  event_type: string;
  action: string | null;
  repository: string | null;
  received_via: string;
  processed: boolean;
  created_at: string;
  error_message: string | null;
  tasks: { total: number; by_status: Record<string, number>; task_types: string[] };
}

export interface EventDetail {
  id: number;
  delivery_id: string;
  event_type: string;
  action: string | null;
  source: string;
  received_via: string;
  repository: string | null;
  installation_id: number | null;
  sender_login: string | null;
  payload: unknown;
  headers: Record<string, string>;
  processed: boolean;
  processing_started_at: string | null;
  processing_completed_at: string | null;
  error_message: string | null;
  retry_count: number;
  created_at: string;
  updated_at: string;
  tasks: Array<{ task_id: string; task_type: string; status: string }>;
  routing: { status: string; reason: string | null; task_types: string[] };
}

export interface TaskSummary {
  id: number;
  task_id: string;
  webhook_event_id: number | null;
  task_type: string;
  status: string;
  repository: string | null;
  pr_number: number | null;
  created_at: string;
  completed_at: string | null;
  error_message: string | null;
  codegen_task_url: string | null;
}

export interface Execution {
  id: number;
  execution_id: string;
  attempt: number;
  status: string;
  started_at: string;
  completed_at: string | null;
  duration_ms: number | null;
  error_message: string | null;
  worker_id: string;
  queue_name: string;
}

export interface TaskDetail {
  id: number;
  task_id: string;
  webhook_event_id: number | null;
  parent_task_id: number | null;
  task_type: string;
  status: string;
  priority: number;
  repository: string | null;
  pr_number: number | null;
  branch: string | null;
  commit_sha: string | null;
  output_data: Record<string, unknown> | null;
  started_at: string | null;
  completed_at: string | null;
  error_message: string | null;
  retry_count: number;
  max_retries: number;
  codegen_task_id: string | null;
  codegen_task_url: string | null;
  agent_run_requested_at: string | null;
  created_at: string;
  executions: Execution[];
}

export interface AuditRecord {
  id: number;
  occurred_at: string;
  type: string;
  outcome: string;
  actor: string | null;
  role: string | null;
  target: string | null;
  reason: string | null;
  correlation_id: string | null;
  count: number;
  details: Record<string, unknown>;
}

export const TASK_STATUSES = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled'];
export const TASK_TYPES = [
  'pull_request_analysis',
  'check_failure_analysis',
  'check_suite_failure_analysis',
  'push_analysis',
  'codegen_trigger',
  'cleanup',
  'delivery_recovery',
];
