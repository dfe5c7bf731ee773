import { TaskType } from '@app/domain';

/**
 * Label values come from these lists; anything else becomes `other`, so a hostile or unusual
 * header can never create a new time series.
 */
const EVENT_TYPES = new Set([
  'pull_request',
  'check_run',
  'check_suite',
  'push',
  'ping',
  'installation',
  'installation_repositories',
  'issues',
  'issue_comment',
  'pull_request_review',
  'pull_request_review_comment',
  'workflow_run',
  'workflow_job',
  'status',
  'create',
  'delete',
  'release',
]);

const ACTIONS = new Set([
  'opened',
  'synchronize',
  'reopened',
  'ready_for_review',
  'closed',
  'edited',
  'converted_to_draft',
  'labeled',
  'unlabeled',
  'assigned',
  'unassigned',
  'review_requested',
  'completed',
  'created',
  'requested',
  'rerequested',
  'requested_action',
  'in_progress',
  'deleted',
  'added',
  'removed',
  'suspend',
  'unsuspend',
  'new_permissions_accepted',
  'submitted',
  'dismissed',
  'published',
]);

const TASK_TYPES = new Set<string>(Object.values(TaskType));

export const OTHER = 'other';
/** Action label of an event without an action (push, ping). */
export const NO_ACTION = 'none';

export function eventTypeLabel(value: unknown): string {
  return typeof value === 'string' && EVENT_TYPES.has(value) ? value : OTHER;
}

export function actionLabel(value: unknown): string {
  if (value === undefined || value === null || value === '') return NO_ACTION;
  return typeof value === 'string' && ACTIONS.has(value) ? value : OTHER;
}

export function taskTypeLabel(value: unknown): string {
  return typeof value === 'string' && TASK_TYPES.has(value) ? value : OTHER;
}
