import type { CircuitStateName } from '../resilience/http-policy';
import type { ServiceRequestEvent } from './request-events';

/** Value of one entry of `checks` in the `GET /health` body. */
export type CheckStatus = 'healthy' | 'degraded' | 'unhealthy' | 'unknown' | 'disabled';

/** Value of `status` in the `GET /health` body. */
export type OverallStatus = 'healthy' | 'degraded' | 'unhealthy';

/** What one worker knows about an outside service, from its own calls; no probe is sent. */
export interface ServiceSnapshot {
  /** `dry_run`: the service is not called at all (Codegen without a token). */
  mode: 'live' | 'dry_run';
  circuit: CircuitStateName;
  /** Epoch milliseconds of the last answer that was not a transient failure. */
  last_success_at: number | null;
  /** Epoch milliseconds of the last transient failure (5xx, 429, network, timeout). */
  last_failure_at: number | null;
  consecutive_failures: number;
  /** GitHub only: the rate-limit budget left after the last answer. */
  rate_limit_remaining?: number | null;
  /** Why the service is degraded although it answers (e.g. Codegen's plan limit reached). */
  degraded_reason?: string | null;
  /** GitHub only: identities waiting out a rate limit now (at most 20, soonest end first). */
  rate_limited?: RateLimitedIdentity[];
}

/** An identity (installation, App, token) that sends nothing until `until` (epoch ms). */
export interface RateLimitedIdentity {
  /** `installation:<id>`, `app`, `token` or `anonymous`. */
  identity: string;
  /** `secondary` (GitHub's secondary limit, Retry-After) or `primary` (budget spent). */
  kind: string;
  until: number;
}

/** A worker's heartbeat: it is alive until `expires_at`. */
export interface WorkerSnapshot {
  worker_id: string;
  /** Epoch milliseconds when written. */
  at: number;
  expires_at: number;
  services: { github?: ServiceSnapshot; codegen?: ServiceSnapshot };
}

const TRANSIENT = new Set(['5xx', 'rate_limited', 'network_error', 'timeout']);

/**
 * Recent outcomes of one client's calls, fed by its request events, read by health checks and
 * the heartbeat. Health never spends API quota: it only looks at calls the work made anyway.
 */
export class ServiceCallTracker {
  private lastSuccessAt: number | null = null;
  private lastFailureAt: number | null = null;
  private consecutiveFailures = 0;
  private rateLimitRemaining: number | null = null;

  constructor(
    private readonly circuit: () => CircuitStateName,
    private readonly mode: ServiceSnapshot['mode'] = 'live',
    private readonly now: () => number = Date.now,
    /** The client's own view of its rate-limit budget, when it keeps one. */
    private readonly budget?: () => number | null,
    /** A condition the client reports that degrades the service (null: none). */
    private readonly degradedReason?: () => string | null,
    /** Identities the client holds back because GitHub said they are rate limited. */
    private readonly limits?: () => RateLimitedIdentity[],
  ) {}

  record(event: ServiceRequestEvent): void {
    if (TRANSIENT.has(event.status)) {
      this.lastFailureAt = this.now();
      this.consecutiveFailures++;
    } else {
      this.lastSuccessAt = this.now();
      this.consecutiveFailures = 0;
    }
    if (event.rateLimit) this.rateLimitRemaining = event.rateLimit.remaining;
  }

  snapshot(): ServiceSnapshot {
    return {
      mode: this.mode,
      circuit: this.mode === 'dry_run' ? 'closed' : this.circuit(),
      last_success_at: this.lastSuccessAt,
      last_failure_at: this.lastFailureAt,
      consecutive_failures: this.consecutiveFailures,
      rate_limit_remaining: this.budget ? this.budget() : this.rateLimitRemaining,
      ...(this.degradedReason ? { degraded_reason: this.degradedReason() } : {}),
      ...(this.limits ? { rate_limited: this.limits().slice(0, 20) } : {}),
    };
  }
}

export interface ServiceHealthOptions {
  now?: number;
  /** A failure older than this no longer degrades the check. Default 5 minutes. */
  recentMs?: number;
  /** Below this rate-limit budget the check is degraded (GitHub). */
  minRateLimitRemaining?: number;
}

/**
 * Health of an outside service from what the live workers report: every circuit open is
 * unhealthy; some open, a trial call pending, a reported degraded reason, failures since the last
 * success, an identity waiting out a rate limit, or a low budget is degraded.
 */
export function evaluateServiceHealth(
  snapshots: ReadonlyArray<ServiceSnapshot>,
  options: ServiceHealthOptions = {},
): CheckStatus {
  if (snapshots.length === 0) return 'unknown';
  const live = snapshots.filter((s) => s.mode === 'live');
  if (live.length === 0) return 'disabled';
  const open = live.filter((s) => s.circuit === 'open').length;
  if (open === live.length) return 'unhealthy';
  if (open > 0 || live.some((s) => s.circuit === 'half_open')) return 'degraded';
  if (live.some((s) => typeof s.degraded_reason === 'string')) return 'degraded';
  const now = options.now ?? Date.now();
  const recentMs = options.recentMs ?? 5 * 60_000;
  const failing = live.some(
    (s) =>
      s.consecutive_failures > 0 &&
      s.last_failure_at !== null &&
      s.last_failure_at > (s.last_success_at ?? 0) &&
      now - s.last_failure_at < recentMs,
  );
  if (failing) return 'degraded';
  // Work for a rate-limited identity waits: the service is up, but not all of it is usable.
  if (live.some((s) => (s.rate_limited ?? []).some((limit) => limit.until > now)))
    return 'degraded';
  const { minRateLimitRemaining } = options;
  if (
    minRateLimitRemaining !== undefined &&
    live.some(
      (s) =>
        s.rate_limit_remaining !== undefined &&
        s.rate_limit_remaining !== null &&
        s.rate_limit_remaining < minRateLimitRemaining,
    )
  ) {
    return 'degraded';
  }
  return 'healthy';
}

/**
 * Overall status: a `critical` check that is unhealthy makes the app unhealthy (503); any other
 * unhealthy or degraded check makes it degraded (still 200).
 */
export function overallStatus(
  checks: Readonly<Record<string, CheckStatus>>,
  critical: ReadonlyArray<string>,
): OverallStatus {
  if (critical.some((name) => checks[name] === 'unhealthy')) return 'unhealthy';
  return Object.values(checks).some((s) => s === 'unhealthy' || s === 'degraded')
    ? 'degraded'
    : 'healthy';
}
