import {
  failedRequestStatus,
  requestStatusOf,
  ServiceRequestEvent,
  ServiceRequestListeners,
} from '../observability/request-events';

/**
 * Times one HTTP request of an outbound client from the moment it is made, and tells the
 * client's request listeners how it ended: an answer (its status class) or none (a timeout when
 * the call's signal was aborted, else a network error). Each client reports once per request.
 */
export class RequestMeter {
  private readonly started = performance.now();

  constructor(
    private readonly listeners: ServiceRequestListeners,
    private readonly service: string,
    private readonly operation: string,
    private readonly signal: AbortSignal,
  ) {}

  /** No answer (or its body broke off). */
  failed(): void {
    this.listeners.emit({
      service: this.service,
      operation: this.operation,
      status: failedRequestStatus(this.signal.aborted),
      durationSeconds: this.durationSeconds(),
    });
  }

  /**
   * An answer with `httpStatus`; `rateLimited` counts it as `rate_limited` whatever its status
   * (GitHub's 403 for a spent budget), `rateLimit` is the budget its headers reported.
   */
  answered(
    httpStatus: number,
    options: { rateLimited?: boolean; rateLimit?: ServiceRequestEvent['rateLimit'] } = {},
  ): void {
    this.listeners.emit({
      service: this.service,
      operation: this.operation,
      status: requestStatusOf(httpStatus, options.rateLimited ?? false),
      httpStatus,
      durationSeconds: this.durationSeconds(),
      ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
    });
  }

  private durationSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }
}
