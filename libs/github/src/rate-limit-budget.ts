import { integerHeader } from '@app/platform';
/**
 * Who a GitHub request was made as; each identity has its own rate-limit budget:
 * `installation:<id>` (installation token), `app` (App JWT), `token` (GITHUB_TOKEN), `anonymous`.
 */
export type GithubIdentity = `installation:${number}` | 'app' | 'token' | 'anonymous';

/** The core rate-limit budget of one identity, from the last answer that carried it. */
export interface RateLimitBudget {
  identity: GithubIdentity;
  /** Set for `installation:<id>` identities. */
  installationId: number | null;
  /** `x-ratelimit-limit`; null when the answer did not say. */
  limit: number | null;
  /** `x-ratelimit-remaining`. */
  remaining: number;
  /** `x-ratelimit-reset` in epoch milliseconds; null when the answer did not say. */
  resetAtMs: number | null;
  /** When the answer arrived, epoch milliseconds. */
  observedAtMs: number;
}

/** Default of `GITHUB_RATE_LIMIT_RESERVE`: below this, background work should wait. */
export const DEFAULT_RATE_LIMIT_RESERVE = 100;

/** Identities kept at most; a long-lived worker sees a bounded number of installations. */
const MAX_IDENTITIES = 10_000;

/**
 * Rate-limit budgets per identity, fed from response headers. Only the `core` resource counts:
 * search and GraphQL have budgets of their own that say nothing about REST calls.
 */
export class RateLimitBudgets {
  private readonly budgets = new Map<GithubIdentity, RateLimitBudget>();
  private last: number | null = null;

  constructor(private readonly now: () => number) {}

  /** `x-ratelimit-remaining` of the last answer that carried it, any identity. */
  get lastRemaining(): number | null {
    return this.last;
  }

  /** Records the headers of one answer sent as `identity`. */
  record(identity: GithubIdentity, headers: Headers): void {
    const remaining = integerHeader(headers, 'x-ratelimit-remaining');
    if (remaining === undefined) return;
    this.last = remaining;
    const resource = headers.get('x-ratelimit-resource');
    if (resource !== null && resource !== 'core') return;
    const reset = integerHeader(headers, 'x-ratelimit-reset');
    if (!this.budgets.has(identity) && this.budgets.size >= MAX_IDENTITIES) {
      const oldest = this.budgets.keys().next().value;
      if (oldest !== undefined) this.budgets.delete(oldest);
    }
    // Re-insert so the map stays ordered by last use (the oldest is evicted first).
    this.budgets.delete(identity);
    this.budgets.set(identity, {
      identity,
      installationId: installationIdOf(identity),
      limit: integerHeader(headers, 'x-ratelimit-limit') ?? null,
      remaining,
      resetAtMs: reset === undefined ? null : reset * 1000,
      observedAtMs: this.now(),
    });
  }

  /** The budget of `identity`, or null before any answer; a window that has reset reads as null. */
  get(identity: GithubIdentity): RateLimitBudget | null {
    const budget = this.budgets.get(identity);
    if (!budget) return null;
    if (budget.resetAtMs !== null && this.now() >= budget.resetAtMs) return null;
    return { ...budget };
  }

  /** Every known budget (for metrics), windows that have reset left out. */
  all(): RateLimitBudget[] {
    const out: RateLimitBudget[] = [];
    for (const identity of this.budgets.keys()) {
      const budget = this.get(identity);
      if (budget) out.push(budget);
    }
    return out;
  }

  /**
   * Milliseconds until the budget of `identity` resets when fewer than `reserve` requests are
   * left; 0 when there is enough, nothing is known yet, or the reset time is unknown.
   */
  waitMs(identity: GithubIdentity, reserve: number): number {
    return waitFor(this.get(identity), reserve, this.now());
  }

  /** True when any identity's budget is below `reserve` until a known reset. */
  anyWaiting(reserve: number): boolean {
    const now = this.now();
    return this.all().some((budget) => waitFor(budget, reserve, now) > 0);
  }
}

function waitFor(budget: RateLimitBudget | null, reserve: number, now: number): number {
  if (!budget || budget.remaining >= reserve || budget.resetAtMs === null) return 0;
  return Math.max(0, budget.resetAtMs - now);
}

function installationIdOf(identity: GithubIdentity): number | null {
  return identity.startsWith('installation:')
    ? Number(identity.slice('installation:'.length))
    : null;
}
