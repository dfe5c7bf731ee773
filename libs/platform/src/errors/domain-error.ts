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

/**
 * True when an error should be retried later rather than fail the task now: a transient failure
 * of an outside service, or our own PostgreSQL out of reach for a moment (see
 * {@link isTransientDatabaseError}).
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof ExternalServiceError) return error.transient;
  return isTransientDatabaseError(error);
}

/**
 * SQLSTATE classes and codes that say the statement never got a fair chance, not that it was
 * wrong: connection exceptions (08), the server shutting down, restarting or not yet accepting
 * connections, or a backend terminated by an administrator (57P01–57P05), too many connections
 * (53300), out of memory or disk for the moment (53100, 53200), and the serialisation failures
 * and deadlocks a retry resolves (40001, 40P01).
 */
const TRANSIENT_SQLSTATE = /^(08...|57P0[1-5]|53[123]00|40001|40P01)$/;

/**
 * What node-postgres says when the connection itself failed, with no SQLSTATE: the socket closed
 * (server restart, failover, a terminated backend), a connection that could not be made or
 * timed out, or a client already marked broken by an earlier connection error.
 */
const TRANSIENT_CONNECTION_MESSAGE =
  /Connection terminated|is not queryable|timeout exceeded when trying to connect|Query read timeout|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN/;

/**
 * TypeORM gives a query runner's connection back to the pool the moment the connection fails, so
 * the next statement of that transaction or runner throws one of these instead of the
 * connection's own error (what a transaction cut off by a restart ends with).
 */
const RELEASED_AFTER_CONNECTION_LOSS = new Set([
  'QueryRunnerAlreadyReleasedError',
  'QueryRunnerProviderAlreadyReleasedError',
]);

/**
 * True for a PostgreSQL failure that a later attempt can get past (connection lost, server
 * restarting, deadlock), as node-postgres reports it or TypeORM wraps it (QueryFailedError keeps
 * the driver's `code` and message). A constraint violation, a syntax error or a bad value stays
 * permanent: repeating the statement would fail the same way.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  // Read by shape, not `instanceof Error`: socket errors come from Node's own realm.
  if (typeof error !== 'object' || error === null) return false;
  const { code, driverError, message, name } = error as {
    code?: unknown;
    driverError?: unknown;
    message?: unknown;
    name?: unknown;
  };
  if (typeof code === 'string' && TRANSIENT_SQLSTATE.test(code)) return true;
  if (typeof name === 'string' && RELEASED_AFTER_CONNECTION_LOSS.has(name)) return true;
  if (driverError !== error && isTransientDatabaseError(driverError)) return true;
  return typeof message === 'string' && TRANSIENT_CONNECTION_MESSAGE.test(message);
}
