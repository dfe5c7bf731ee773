import type { LabelSet } from '@app/platform';

/** Labels of `webhook_events_total`. */
export type WebhookEventLabel = 'event_type' | 'action' | 'outcome';

/** `outcome` of an accepted delivery (the answer's `result.status`). */
type AcceptedOutcome = 'queued' | 'ignored' | 'processed' | 'pong';

/** The `action` label of an event without one (push, ping), or of an unknown event type. */
const NO_ACTION = 'none';
/** A value outside the lists below. */
const OTHER = 'other';

interface EventLabels {
  /** The actions GitHub sends with this event that get their own label; others are `other`. */
  actions: readonly string[];
  /** What the intake can answer for it (see routeEvent; the workflow rules can ignore any). */
  outcomes: readonly AcceptedOutcome[];
}

const ROUTED: readonly AcceptedOutcome[] = ['queued', 'ignored'];
const INSTALLATION: readonly AcceptedOutcome[] = ['processed', 'ignored'];
/** Event types the routing does not handle are stored and answered `ignored`. */
const STORED_ONLY: readonly AcceptedOutcome[] = ['ignored'];

/**
 * Every `event_type` label value with its bounded actions and outcomes. `other` stands for any
 * event type not listed; its actions are all `other` (or `none`).
 */
const EVENT_LABELS: Readonly<Record<string, EventLabels>> = {
  pull_request: {
    actions: [
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
    ],
    outcomes: ROUTED,
  },
  check_run: {
    actions: ['created', 'completed', 'rerequested', 'requested_action'],
    outcomes: ROUTED,
  },
  check_suite: { actions: ['completed', 'requested', 'rerequested'], outcomes: ROUTED },
  push: { actions: [], outcomes: ROUTED },
  ping: { actions: [], outcomes: ['pong'] },
  installation: {
    actions: ['created', 'deleted', 'suspend', 'unsuspend', 'new_permissions_accepted'],
    outcomes: INSTALLATION,
  },
  installation_repositories: { actions: ['added', 'removed'], outcomes: INSTALLATION },
  issues: {
    actions: ['opened', 'edited', 'closed', 'reopened', 'labeled', 'unlabeled', 'deleted'],
    outcomes: STORED_ONLY,
  },
  issue_comment: { actions: ['created', 'edited', 'deleted'], outcomes: STORED_ONLY },
  pull_request_review: { actions: ['submitted', 'edited', 'dismissed'], outcomes: STORED_ONLY },
  pull_request_review_comment: {
    actions: ['created', 'edited', 'deleted'],
    outcomes: STORED_ONLY,
  },
  workflow_run: { actions: ['requested', 'in_progress', 'completed'], outcomes: STORED_ONLY },
  workflow_job: { actions: ['queued', 'in_progress', 'completed'], outcomes: STORED_ONLY },
  status: { actions: [], outcomes: STORED_ONLY },
  create: { actions: [], outcomes: STORED_ONLY },
  delete: { actions: [], outcomes: STORED_ONLY },
  release: { actions: ['published', 'created', 'edited', 'deleted'], outcomes: STORED_ONLY },
  [OTHER]: { actions: [], outcomes: STORED_ONLY },
};

const OUTCOMES = new Set<string>(['queued', 'ignored', 'processed', 'pong']);

/** The `event_type` label of an `X-GitHub-Event` header value: listed, else `other`. */
export function eventTypeLabel(header: unknown): string {
  return typeof header === 'string' && Object.hasOwn(EVENT_LABELS, header) ? header : OTHER;
}

/** Labels of an accepted delivery; an action or outcome outside the lists becomes `other`. */
export function acceptedEventLabels(
  eventType: string,
  action: unknown,
  outcome: unknown,
): LabelSet<WebhookEventLabel> {
  const listed = EVENT_LABELS[eventType] ?? EVENT_LABELS[OTHER];
  return {
    event_type: eventType,
    action:
      action === undefined || action === null || action === ''
        ? NO_ACTION
        : typeof action === 'string' && listed.actions.includes(action)
          ? action
          : OTHER,
    outcome: typeof outcome === 'string' && OUTCOMES.has(outcome) ? outcome : OTHER,
  };
}

/** Labels of a refused request (its action is never read). */
export function rejectedEventLabels(eventType: string): LabelSet<WebhookEventLabel> {
  return { event_type: eventType, action: NO_ACTION, outcome: 'rejected' };
}

/**
 * Every label set the intake can count: for each event type, each of its actions (and `none`,
 * `other`) with each of its outcomes, plus `rejected`. About 150 series, created at 0 at start.
 */
export function webhookEventLabelSets(): Array<LabelSet<WebhookEventLabel>> {
  return Object.entries(EVENT_LABELS).flatMap(([eventType, { actions, outcomes }]) => [
    ...[...actions, NO_ACTION, OTHER].flatMap((action) =>
      outcomes.map((outcome) => ({ event_type: eventType, action, outcome })),
    ),
    rejectedEventLabels(eventType),
  ]);
}

/** Every `event_type` label value: the listed event types and `other`. */
export function webhookEventTypes(): string[] {
  return Object.keys(EVENT_LABELS);
}
