import {
  errorBodyDetail,
  ExternalServiceError,
  failedAnswerError,
  parseRetryAfter,
} from '@app/platform';
import { GithubAnswerError } from './answer-excerpt';
import {
  GithubRateLimitError,
  RateLimitAnswer,
  RateLimitHold,
  rateLimitAnswer,
} from './rate-limit-holds';

/**
 * What GitHub's answers mean as our errors: a failing status (permanent, or transient for a
 * 5xx), a rate limit (primary or secondary, as github-notes describes them), a call not sent
 * while its identity waits one out, an answer that breaks its contract, and input refused before
 * anything is sent.
 */

const SERVICE = 'github';

/**
 * The rate limit a failed answer reports (a 403/429 with GitHub's secondary-limit message,
 * `Retry-After`, `x-ratelimit-remaining: 0`, or any 429), or null: a success, or a failure of
 * another kind (a plain 403 is a permission error).
 */
export function rateLimitOf(response: Response, text: string): RateLimitAnswer | null {
  if (response.ok) return null;
  return rateLimitAnswer(
    response.status,
    response.headers,
    errorBodyDetail(text),
    parseRetryAfter(response.headers.get('retry-after')),
  );
}

/** A failed answer that is not a rate limit (the transport throws for those). */
export function errorFromResponse(
  response: Response,
  text: string,
  label: string,
): ExternalServiceError {
  return failedAnswerError({
    service: SERVICE,
    serviceName: 'GitHub',
    label,
    status: response.status,
    headers: response.headers,
    detail: errorBodyDetail(text),
    // A 403 that is no rate limit is a permission error: asking again changes nothing.
    transient: response.status >= 500,
  });
}

/** The error for a rate-limit answer, once its wait (`hold`) is recorded. */
export function rateLimitedError(
  label: string,
  status: number,
  text: string,
  hold: RateLimitHold,
  now: number,
): GithubRateLimitError {
  const detail = errorBodyDetail(text);
  return new GithubRateLimitError(
    `GitHub ${label} answered ${status}${detail ? `: ${detail}` : ''}; ${holdText(hold)}`,
    hold,
    status,
    now,
  );
}

/** The error for a call not sent because its identity waits out a rate limit. */
export function heldError(hold: RateLimitHold, label: string, now: number): GithubRateLimitError {
  return new GithubRateLimitError(
    `GitHub ${label} not sent: ${holdText(hold)}`,
    hold,
    undefined,
    now,
  );
}

function holdText(hold: RateLimitHold): string {
  const what = hold.kind === 'secondary' ? 'secondary rate limit' : 'rate limit (budget spent)';
  return `${hold.identity} waits out a ${what} until ${new Date(hold.untilMs).toISOString()}`;
}

/** An answer that breaks its contract; `problem` names what (never GitHub's own words). */
export function malformed(
  label: string,
  problem: string,
  status: number,
  text: string,
): GithubAnswerError {
  return new GithubAnswerError(`malformed answer to ${label}: ${problem}`, status, text);
}

/** A 403/404 to an installation token request: uninstalled, suspended, or another App's. */
export function noInstallationTokenError(
  installationId: number,
  error: ExternalServiceError,
): ExternalServiceError {
  return new ExternalServiceError(
    SERVICE,
    `no access token for GitHub App installation ${installationId}: ${error.message}`,
    error.transient,
    error.status,
    error.retryAfterMs,
  );
}

/** A call refused before anything is sent; permanent. */
export function invalidInput(message: string): ExternalServiceError {
  return new ExternalServiceError(SERVICE, message, false);
}
