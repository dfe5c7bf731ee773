/**
 * Why a pass stopped before it reached the cursor; it resumes there next time. `rate_limited`:
 * GitHub answered with a rate limit (secondary limit, Retry-After, spent budget), or the
 * identity was still waiting one out; what was not asked for is asked for by a later pass.
 */
export type RecoveryStopReason =
  'rate_limit_budget' | 'rate_limited' | 'time_limit' | 'redelivery_cap' | 'github_error';

/** What one recovery pass did; becomes the task's `output_data` (snake_case) and the metrics. */
export interface DeliveryRecoveryReport {
  /** `app`, `repos/o/r/hooks/1` or `orgs/o/hooks/1`. */
  source: string;
  /** Pages of the delivery log read. */
  pages: number;
  /** Delivery attempts listed within the last 72 hours and past the cursor. */
  attemptsListed: number;
  /** Distinct deliveries (GUIDs) examined. */
  seen: number;
  /** Of those, not in webhook_events. */
  missing: number;
  /** Missing ones whose redelivery had been asked for by an earlier pass. */
  alreadyRequested: number;
  redeliveryRequested: number;
  /** Redelivery requests GitHub refused or that failed. */
  failed: number;
  /** True when the walk reached the cursor (or the end of the 72-hour log). */
  complete: boolean;
  stoppedReason: RecoveryStopReason | null;
  /** Newest delivery id examined for good, after this pass. */
  cursor: number | null;
}

export function reportToOutput(report: DeliveryRecoveryReport): Record<string, unknown> {
  return {
    source: report.source,
    pages: report.pages,
    attempts_listed: report.attemptsListed,
    seen: report.seen,
    missing: report.missing,
    already_requested: report.alreadyRequested,
    redelivery_requested: report.redeliveryRequested,
    failed: report.failed,
    complete: report.complete,
    stopped_reason: report.stoppedReason,
    cursor: report.cursor,
  };
}
