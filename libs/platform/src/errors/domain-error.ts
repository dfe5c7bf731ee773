/**
 * Error codes the apps map to HTTP statuses in one exception filter.
 * Libraries throw these, never `HttpException`.
 */
export enum ErrorCode {
  InvalidInput = 'invalid_input',
  Unauthenticated = 'unauthenticated',
  InvalidSignature = 'invalid_signature',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  MethodNotAllowed = 'method_not_allowed',
  Duplicate = 'duplicate',
  PayloadTooLarge = 'payload_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  RateLimited = 'rate_limited',
  Unavailable = 'unavailable',
  Internal = 'internal',
}

/** An error whose code and message are safe to show to the caller. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: string[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/**
 * Failure of a call to a service outside our walls (GitHub, Codegen).
 * `transient` failures (network, timeout, 5xx, 429, open circuit) are retried by the worker with
 * backoff; permanent ones (other 4xx, malformed answers) fail the task at once.
 */
export class ExternalServiceError extends Error {
  constructor(
    readonly service: string,
    message: string,
    readonly transient: boolean,
    readonly status?: number,
    /** From a `Retry-After` header (or rate-limit reset), when the service gave one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ExternalServiceError';
  }
}

/** True when an error should be retried later rather than fail the task now. */
export function isTransientError(error: unknown): boolean {
  if (error instanceof ExternalServiceError) return error.transient;
  return false;
}
