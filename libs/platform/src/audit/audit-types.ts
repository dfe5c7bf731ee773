/**
 * Kinds of security-relevant events. Values are stable: they are stored in `audit_log.type`,
 * used as the `type` label of `security_events_total` and accepted by `GET /api/v1/admin/audit`.
 */
export enum AuditType {
  /** A webhook delivery whose X-Hub-Signature-256 was missing, malformed or wrong. */
  WebhookSignatureFailure = 'webhook.signature_failure',
  /** An unverified webhook request refused with 429 by the per-address failure limit. */
  WebhookThrottled = 'webhook.throttled',
  /** A signed webhook body already stored under another delivery id within the window (409). */
  WebhookDuplicatePayload = 'webhook.duplicate_payload',
  /** An API request refused with 429 by the shared API limit. */
  ApiThrottled = 'api.throttled',
  /** An API request without a usable bearer token (401). */
  ApiAuthFailure = 'api.auth_failure',
  /** An API request whose token's role is too weak for the route (403). */
  ApiForbidden = 'api.forbidden',
  /** `POST /api/v1/webhooks/events/{id}/reprocess`, whatever its outcome. */
  EventReprocess = 'admin.event_reprocess',
  /** `POST /api/v1/tasks/{id}/retry`, whatever its outcome. */
  TaskRetry = 'admin.task_retry',
  /** `POST /api/v1/admin/cleanup`, whatever its outcome. */
  Cleanup = 'admin.cleanup',
  /** `POST /api/v1/admin/deliveries/recover`, whatever its outcome. */
  DeliveryRecovery = 'admin.delivery_recovery',
  /** `POST /api/v1/admin/tokens/revoke`, whatever its outcome. */
  TokenRevoke = 'admin.token_revoke',
  /** A repository's `.github/webhook-orchestrator.yml` was ignored: unparseable, huge or binary. */
  RepositoryRulesIgnored = 'rules.repository_file_ignored',
}

export const AUDIT_TYPES: readonly AuditType[] = Object.values(AuditType);

/**
 * Failures an unauthenticated client can cause at will. They are aggregated per client address,
 * reason and minute into one record with a count, so a flood cannot grow the table without bound.
 */
export const AGGREGATED_AUDIT_TYPES: ReadonlySet<AuditType> = new Set([
  AuditType.WebhookSignatureFailure,
  AuditType.WebhookThrottled,
  AuditType.WebhookDuplicatePayload,
  AuditType.ApiThrottled,
  AuditType.ApiAuthFailure,
  AuditType.ApiForbidden,
]);

/** How the audited request ended. */
export type AuditOutcome =
  'denied' | 'throttled' | 'succeeded' | 'refused' | 'not_found' | 'failed';

/** Extra facts of a record: flat, small, never a body, a signature or a token. */
export type AuditDetails = Record<string, string | number | boolean | null | string[]>;

/** One security-relevant event as the code reports it. */
export interface AuditEvent {
  type: AuditType;
  outcome: AuditOutcome;
  /** The verified token subject; never a claim from a token that failed verification. */
  actor?: string | null;
  role?: string | null;
  clientAddress?: string | null;
  /** What the event was about: an event or task id, or the route (`GET /api/v1/tasks`). */
  target?: string | null;
  /** Which check failed (`missing`, `malformed`, `mismatch`, `expired`, ...). */
  reason?: string | null;
  correlationId?: string | null;
  details?: AuditDetails;
}

/** A record ready to be stored: one event, or an aggregate of `count` equal failures. */
export interface AuditRecord {
  type: AuditType;
  outcome: AuditOutcome;
  actor: string | null;
  role: string | null;
  clientAddress: string | null;
  target: string | null;
  reason: string | null;
  correlationId: string | null;
  details: AuditDetails;
  occurredAt: Date;
  lastSeenAt: Date;
  count: number;
  /** Set for aggregates: stored rows with the same key add up their counts (upsert). */
  aggregateKey: string | null;
}

const UNPRINTABLE = /[^\x20-\x7e]/g;

/**
 * Makes caller-controlled text safe to store and log: printable ASCII only (others become `?`),
 * at most `max` characters. A log line can then never be split or spoofed by a header value.
 */
export function auditText(
  value: string | number | boolean | null | undefined,
  max = 128,
): string | null {
  if (value === undefined || value === null) return null;
  const text = String(value);
  return text.slice(0, max).replace(UNPRINTABLE, '?');
}
