import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  IBackoff,
  IBackoffFactory,
  IPolicy,
  IRetryBackoffContext,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  BrokenCircuitError,
  IsolatedCircuitError,
  TaskCancelledError,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { ExternalServiceError } from '../errors/domain-error';

/** Circuit states as observed by callers and metrics. */
export type CircuitStateName = 'closed' | 'open' | 'half_open';

/** Tuning of a {@link ServicePolicy}; every field has a default. */
export interface ServicePolicyTuning {
  /** Deadline of one attempt; the signal given to the call aborts when it passes. Default 10000. */
  timeoutMs?: number;
  /** In-call retries for short blips (not counting the first attempt). Default 2. */
  retries?: number;
  /** Base of the jittered exponential backoff between in-call retries. Default 200. */
  // The backoff is capped at maxInCallRetryAfterMs, like a Retry-After we would wait for.
  retryBaseMs?: number;
  /** Consecutive transient failures that open the circuit. Default 5. */
  breakerThreshold?: number;
  /** How long the circuit stays open before one trial call is let through. Default 30000. */
  halfOpenAfterMs?: number;
  /**
   * A `Retry-After` longer than this is not waited for in-call: the error goes back to the
   * caller's queue. Default 5000.
   */
  maxInCallRetryAfterMs?: number;
}

/** Options of {@link createServicePolicy}. */
export interface ServicePolicyOptions extends ServicePolicyTuning {
  /** Name of the remote service ('github', 'codegen'); becomes `ExternalServiceError.service`. */
  service: string;
  /** Host (and port) the calls go to; named in timeout and network error messages. */
  host?: string;
  /**
   * Errors that mean the caller must wait (a rate limit): never retried in-call, not counted by
   * the breaker (a limit says nothing about the service's health). Default: none.
   */
  isRateLimit?: (error: ExternalServiceError) => boolean;
}

/** Per-call options of {@link ServicePolicy.execute}. */
export interface ExecuteOptions {
  /**
   * False for calls that must not run twice (e.g. creating an agent run): such a call is retried
   * in-call only when the request provably was not processed (429, connection never made).
   * Default true.
   */
  idempotent?: boolean;
}

/** Timeout, in-call retry and circuit breaker around the calls to one remote service. */
export interface ServicePolicy {
  /** Current circuit state. */
  readonly state: CircuitStateName;
  /**
   * Runs `fn` under the policy. `fn` must pass the signal to `fetch` so a timeout aborts it.
   * Rejects with an {@link ExternalServiceError} for timeouts, network errors and an open circuit;
   * any other error `fn` throws is passed through unchanged.
   */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, options?: ExecuteOptions): Promise<T>;
  /** Calls `listener` on every circuit state change; returns a function that unsubscribes. */
  onStateChange(listener: (state: CircuitStateName) => void): () => void;
}

/**
 * Thrown without calling the service while its circuit is open. Transient. Its message names
 * the failure that opened the circuit (host, code or status), or the operator only ever sees
 * "circuit open".
 */
export class CircuitOpenError extends ExternalServiceError {
  constructor(
    service: string,
    retryAfterMs: number,
    /** The last failure the breaker counted, as a message. */
    readonly lastFailure?: string,
  ) {
    super(
      service,
      lastFailure ? `circuit open; last error: ${lastFailure}` : 'circuit open',
      true,
      undefined,
      retryAfterMs,
    );
    this.name = 'CircuitOpenError';
  }
}

const DEFAULTS: Required<ServicePolicyTuning> = {
  timeoutMs: 10_000,
  retries: 2,
  retryBaseMs: 200,
  breakerThreshold: 5,
  halfOpenAfterMs: 30_000,
  maxInCallRetryAfterMs: 5_000,
};

// Failures that happen before a connection exists: the request never reached the service.
const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const NETWORK_ERROR_CODES = new Set([
  ...CONNECT_ERROR_CODES,
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Creates the resilience policy for one remote service. Share one instance per service. */
export function createServicePolicy(options: ServicePolicyOptions): ServicePolicy {
  const { service } = options;
  const tuning = resolveTuning(options);

  const classify = (error: unknown): ExternalServiceError | undefined =>
    toExternalServiceError(service, error, tuning.timeoutMs, options.host);
  const isTransient = (error: unknown): boolean => classify(error)?.transient === true;
  const isRateLimit = (error: unknown): boolean => {
    const classified = classify(error);
    return classified !== undefined && options.isRateLimit?.(classified) === true;
  };
  const fitsInCall = (error: unknown): boolean => {
    const retryAfterMs = classify(error)?.retryAfterMs;
    return retryAfterMs === undefined || retryAfterMs <= tuning.maxInCallRetryAfterMs;
  };
  const backoff = retryAfterAwareBackoff(tuning.retryBaseMs, tuning.maxInCallRetryAfterMs);

  const attemptTimeout = timeout(tuning.timeoutMs, TimeoutStrategy.Aggressive);
  // Only transient failures count: a 404 says nothing about the service's health.
  const breaker = circuitBreaker(
    handleWhen((error) => isTransient(error) && !isRateLimit(error)),
    {
      halfOpenAfter: tuning.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(tuning.breakerThreshold),
    },
  );
  const retryAnyTransient = retry(
    handleWhen((error) => isTransient(error) && !isRateLimit(error) && fitsInCall(error)),
    { maxAttempts: tuning.retries, backoff },
  );
  const retryUnsent = retry(
    handleWhen(
      (error) =>
        isTransient(error) && !isRateLimit(error) && fitsInCall(error) && provablyUnsent(error),
    ),
    { maxAttempts: tuning.retries, backoff },
  );
  const idempotentPolicy = wrap(retryAnyTransient, breaker, attemptTimeout);
  const unsafePolicy = wrap(retryUnsent, breaker, attemptTimeout);

  let openedAt: number | undefined;
  breaker.onBreak(() => {
    openedAt = Date.now();
  });
  // What the breaker counted last: an open circuit names it.
  let lastFailure: string | undefined;
  breaker.onFailure(({ handled, reason }) => {
    if (handled && 'error' in reason)
      lastFailure = describeFailure(classify(reason.error), options.host);
  });

  const remainingOpenMs = (): number => {
    if (openedAt === undefined) return tuning.halfOpenAfterMs;
    return Math.max(1, tuning.halfOpenAfterMs - (Date.now() - openedAt));
  };

  const run = async <T>(
    policy: IPolicy<{ signal: AbortSignal }>,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> => {
    try {
      return await policy.execute(({ signal }) => fn(signal));
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
        throw new CircuitOpenError(service, remainingOpenMs(), lastFailure);
      }
      throw classify(error) ?? error;
    }
  };

  return {
    get state(): CircuitStateName {
      return circuitStateName(breaker.state);
    },
    execute<T>(fn: (signal: AbortSignal) => Promise<T>, executeOptions?: ExecuteOptions) {
      const idempotent = executeOptions?.idempotent ?? true;
      return run(idempotent ? idempotentPolicy : unsafePolicy, fn);
    },
    onStateChange(listener) {
      const subscription = breaker.onStateChange((state) => listener(circuitStateName(state)));
      return () => subscription.dispose();
    },
  };
}

/**
 * Maps timeouts and network failures to a transient {@link ExternalServiceError}; returns an
 * `ExternalServiceError` as is and `undefined` for anything else (a bug is not a blip).
 */
export function toExternalServiceError(
  service: string,
  error: unknown,
  timeoutMs?: number,
  host?: string,
): ExternalServiceError | undefined {
  if (error instanceof ExternalServiceError) return error;
  // instanceof, not cockatiel's is*Error helpers: in 3.2 those test the wrong marker property.
  if (error instanceof TaskCancelledError || isAbortError(error)) {
    const after = timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`;
    const to = host ? ` to ${host}` : '';
    return withCause(
      new ExternalServiceError(service, `request${to} timed out${after}`, true),
      error,
    );
  }
  const code = networkErrorCode(error);
  if (code !== undefined) {
    // The address the socket tried is more precise than the configured host (a redirect, say).
    const where = socketTarget(error) ?? host;
    const detail = where ? `${code} ${where}` : code;
    return withCause(new ExternalServiceError(service, `network error (${detail})`, true), error);
  }
  return undefined;
}

/** One line for an open circuit's message: the error, with the host when it does not say it. */
function describeFailure(error: ExternalServiceError | undefined, host?: string): string {
  if (!error) return 'unknown error';
  const status =
    error.status !== undefined && !error.message.includes(String(error.status))
      ? ` (HTTP ${error.status})`
      : '';
  const at = host && !error.message.includes(host) ? ` at ${host}` : '';
  return `${error.message}${status}${at}`;
}

function withCause(error: ExternalServiceError, cause: unknown): ExternalServiceError {
  Object.defineProperty(error, 'cause', { value: cause, enumerable: false, configurable: true });
  return error;
}

/** `host` or `address:port` of a socket-level failure, looking through fetch's wrapper. */
function socketTarget(error: unknown): string | undefined {
  for (
    let current = error, depth = 0;
    typeof current === 'object' && current !== null && depth < 4;
    depth++
  ) {
    const { hostname, address, port } = current as {
      hostname?: unknown;
      address?: unknown;
      port?: unknown;
    };
    if (typeof hostname === 'string' && hostname !== '') return hostname;
    if (typeof address === 'string' && address !== '') {
      return typeof port === 'number' ? `${address}:${port}` : address;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Milliseconds a `Retry-After` header asks to wait: delta-seconds or an HTTP date.
 * `undefined` when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function resolveTuning(options: ServicePolicyTuning): Required<ServicePolicyTuning> {
  const tuning = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as Array<keyof ServicePolicyTuning>) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0 || (key === 'breakerThreshold' && value < 1)) {
      throw new RangeError(`createServicePolicy: ${key} must be a non-negative number`);
    }
    tuning[key] = value;
  }
  return tuning;
}

function circuitStateName(state: CircuitState): CircuitStateName {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half_open';
    case CircuitState.Open:
    case CircuitState.Isolated:
      return 'open';
  }
}

/** Waits what the service asked for when it said so, jittered exponential backoff otherwise. */
function retryAfterAwareBackoff(
  baseMs: number,
  maxDelayMs: number,
): IBackoffFactory<IRetryBackoffContext<unknown>> {
  const exponential = new ExponentialBackoff({ initialDelay: baseMs, maxDelay: maxDelayMs });
  const step = (
    jittered: IBackoff<unknown>,
    context: IRetryBackoffContext<unknown>,
  ): IBackoff<IRetryBackoffContext<unknown>> => {
    const hint =
      'error' in context.result && context.result.error instanceof ExternalServiceError
        ? context.result.error.retryAfterMs
        : undefined;
    return {
      duration: hint ?? jittered.duration,
      next: (nextContext) => step(jittered.next(undefined), nextContext),
    };
  };
  return { next: (context) => step(exponential.next(), context) };
}

/** True when the failed request cannot have been processed, so sending it again is safe. */
function provablyUnsent(error: unknown): boolean {
  if (error instanceof ExternalServiceError) return error.status === 429;
  const code = networkErrorCode(error);
  return code !== undefined && CONNECT_ERROR_CODES.has(code);
}

// Duck-typed, not instanceof: fetch's errors may come from another realm (e.g. under jest).
function errorName(error: unknown): string | undefined {
  const name =
    typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

function isAbortError(error: unknown): boolean {
  const name = errorName(error);
  return name === 'AbortError' || name === 'TimeoutError';
}

/** Code of a socket-level failure, looking through fetch's `TypeError: fetch failed` wrapper. */
function networkErrorCode(error: unknown): string | undefined {
  for (
    let current = error, depth = 0;
    typeof current === 'object' && current !== null && depth < 4;
    depth++
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) {
      return code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  // undici reports a body cut short as `TypeError: terminated`, sometimes without a coded cause.
  const message =
    typeof error === 'object' && error !== null
      ? (error as { message?: unknown }).message
      : undefined;
  if (
    errorName(error) === 'TypeError' &&
    (message === 'fetch failed' || message === 'terminated')
  ) {
    return 'fetch failed';
  }
  return undefined;
}
