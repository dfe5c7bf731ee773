import { ExternalServiceError } from '@app/platform';
import type { GithubIdentity } from './rate-limit-budget';

/**
 * Why an identity waits: `secondary` (GitHub said a secondary rate limit was exceeded, or asked
 * for a `Retry-After`), `primary` (its budget is spent: `x-ratelimit-remaining: 0`).
 */
export type RateLimitKind = 'secondary' | 'primary';

/** An identity whose calls wait until `untilMs` because GitHub said it was rate limited. */
export interface RateLimitHold {
  identity: GithubIdentity;
  /** Set for `installation:<id>` identities. */
  installationId: number | null;
  kind: RateLimitKind;
  /** Epoch milliseconds; no call is sent as this identity before then. */
  untilMs: number;
  /** Limit answers in a row without a success in between (the wait doubles with each). */
  strikes: number;
  /** HTTP status of the answer that started the wait (403 or 429). */
  status: number;
}

/** What a rate-limit answer said about when to come back. */
export interface RateLimitAnswer {
  kind: RateLimitKind;
  status: number;
  /** From `Retry-After`. */
  retryAfterMs?: number;
  /** From `x-ratelimit-reset`, when `x-ratelimit-remaining` is 0. */
  resetAtMs?: number;
}

/** Default of `GITHUB_SECONDARY_LIMIT_MIN_WAIT_MS`: GitHub asks for at least a minute. */
export const DEFAULT_SECONDARY_LIMIT_MIN_WAIT_MS = 60_000;
/** Repeats double the wait up to this many times the minimum (1 minute → 32 minutes). */
const MAX_GROWTH = 32;
/** A `Retry-After: 0` or a reset already past still waits this long: no tight loops. */
const FLOOR_MS = 1000;
/** Identities kept at most (see RateLimitBudgets). */
const MAX_IDENTITIES = 10_000;

/**
 * Rate-limit waits per identity, as GitHub documents them: after a 403/429 that is a rate limit,
 * no call is sent as that identity until `Retry-After` has passed, else until the reset when the
 * budget is spent, else for at least the minimum wait, doubled for each limit answer in a row.
 * A success clears the count. Continuing to call while limited can get an integration banned.
 */
export class RateLimitHolds {
  private readonly holds = new Map<GithubIdentity, RateLimitHold>();
  /** Limit answers in a row per identity; kept after a hold ends, cleared by a success. */
  private readonly strikes = new Map<GithubIdentity, number>();

  constructor(
    private readonly now: () => number,
    private readonly minWaitMs = DEFAULT_SECONDARY_LIMIT_MIN_WAIT_MS,
  ) {
    if (!Number.isFinite(minWaitMs) || minWaitMs < 0)
      throw new TypeError('RateLimitHolds: minWaitMs must be >= 0');
  }

  /** Records a limit answer for `identity` that came at `now`; returns the hold now in force. */
  limited(identity: GithubIdentity, answer: RateLimitAnswer, now = this.now()): RateLimitHold {
    const current = this.active(identity, now);
    // Answers to calls that were already in flight when the first one came do not count again.
    const strikes = current ? current.strikes : (this.strikes.get(identity) ?? 0) + 1;
    const growth = Math.min(MAX_GROWTH, 2 ** (strikes - 1));
    // A reset already past (clocks apart) says nothing: the minimum wait applies.
    const waitMs =
      answer.retryAfterMs ??
      (answer.resetAtMs !== undefined && answer.resetAtMs > now
        ? answer.resetAtMs - now
        : this.minWaitMs * growth);
    const untilMs = Math.max(current?.untilMs ?? 0, now + Math.max(FLOOR_MS, waitMs));
    const hold: RateLimitHold = {
      identity,
      installationId: installationIdOf(identity),
      kind: current?.kind === 'secondary' ? 'secondary' : answer.kind,
      untilMs,
      strikes,
      status: answer.status,
    };
    if (!this.holds.has(identity) && this.holds.size >= MAX_IDENTITIES) this.evictOldest();
    this.holds.set(identity, hold);
    this.strikes.set(identity, strikes);
    return { ...hold };
  }

  /** A call as `identity` succeeded: the next limit starts again from the minimum wait. */
  succeeded(identity: GithubIdentity): void {
    if (this.strikes.delete(identity)) this.holds.delete(identity);
  }

  /** The hold of `identity` while it lasts, else null. */
  get(identity: GithubIdentity): RateLimitHold | null {
    const hold = this.active(identity, this.now());
    return hold ? { ...hold } : null;
  }

  /** Milliseconds `identity` still waits; 0 when it may call. */
  waitMs(identity: GithubIdentity): number {
    const hold = this.active(identity, this.now());
    return hold ? hold.untilMs - this.now() : 0;
  }

  /** Every hold in force, soonest end first. */
  all(): RateLimitHold[] {
    const now = this.now();
    const out: RateLimitHold[] = [];
    for (const identity of this.holds.keys()) {
      const hold = this.active(identity, now);
      if (hold) out.push({ ...hold });
    }
    return out.sort((a, b) => a.untilMs - b.untilMs);
  }

  private active(identity: GithubIdentity, now: number): RateLimitHold | null {
    const hold = this.holds.get(identity);
    return hold && hold.untilMs > now ? hold : null;
  }

  private evictOldest(): void {
    const oldest = this.holds.keys().next().value;
    if (oldest !== undefined) {
      this.holds.delete(oldest);
      this.strikes.delete(oldest);
    }
  }
}

/**
 * A GitHub call not sent, or answered 403/429, because its identity is rate limited. Transient:
 * the caller should come back after `retryAfterMs`, and a task that waits for it has not failed
 * an attempt (the worker holds it without spending one).
 */
export class GithubRateLimitError extends ExternalServiceError {
  constructor(
    message: string,
    readonly hold: RateLimitHold,
    status: number | undefined,
    now: number,
  ) {
    super('github', message, true, status, Math.max(FLOOR_MS, hold.untilMs - now));
    this.name = 'GithubRateLimitError';
  }
}

/** Words GitHub uses for a secondary limit (and its older "abuse detection" wording). */
const SECONDARY_MESSAGE = /secondary rate limit|abuse detection/i;

/**
 * Reads a 403/429 as GitHub documents it: a rate limit when the message says a secondary limit
 * was exceeded, when it carries `Retry-After`, when `x-ratelimit-remaining` is 0, or any 429.
 * Null for anything else (a 403 that is none of these is a permission error).
 */
export function rateLimitAnswer(
  status: number,
  headers: Headers,
  message: string | undefined,
  retryAfterMs: number | undefined,
): RateLimitAnswer | null {
  if (status !== 403 && status !== 429) return null;
  const secondary = message !== undefined && SECONDARY_MESSAGE.test(message);
  const spent = headers.get('x-ratelimit-remaining')?.trim() === '0';
  if (!secondary && !spent && retryAfterMs === undefined && status !== 429) return null;
  const reset = headers.get('x-ratelimit-reset')?.trim();
  const resetAtMs =
    spent && reset !== undefined && /^\d+$/.test(reset) ? Number(reset) * 1000 : undefined;
  return {
    kind: secondary || !spent ? 'secondary' : 'primary',
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(retryAfterMs === undefined && resetAtMs !== undefined ? { resetAtMs } : {}),
  };
}

function installationIdOf(identity: GithubIdentity): number | null {
  return identity.startsWith('installation:')
    ? Number(identity.slice('installation:'.length))
    : null;
}
