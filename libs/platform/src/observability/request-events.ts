/** How one HTTP request to an outside service ended, as a bounded label value. */
export const SERVICE_REQUEST_STATUSES = [
  '2xx',
  '3xx',
  '4xx',
  'rate_limited',
  '5xx',
  'network_error',
  'timeout',
] as const;

export type ServiceRequestStatus = (typeof SERVICE_REQUEST_STATUSES)[number];

/** One HTTP request a client sent (each in-call retry is its own request). */
export interface ServiceRequestEvent {
  /** 'github' or 'codegen'. */
  service: string;
  /** A fixed name per client method, e.g. `list_pull_request_files`. */
  operation: string;
  status: ServiceRequestStatus;
  /** The HTTP status, when an answer arrived. */
  httpStatus?: number;
  durationSeconds: number;
  /** GitHub's rate-limit budget from this answer's headers, when it carried them. */
  rateLimit?: { remaining: number; resource: string };
}

export type ServiceRequestListener = (event: ServiceRequestEvent) => void;

/**
 * Listener set for {@link ServiceRequestEvent}s. A listener that throws is ignored: telemetry
 * must never fail a call.
 */
export class ServiceRequestListeners {
  private readonly listeners = new Set<ServiceRequestListener>();

  /** Adds a listener; returns a function that removes it. */
  add(listener: ServiceRequestListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ServiceRequestEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // See the class comment.
      }
    }
  }
}

/** Label value of an answer; `rateLimited` marks a 403 GitHub sends for a spent budget. */
export function requestStatusOf(httpStatus: number, rateLimited = false): ServiceRequestStatus {
  if (httpStatus === 429 || rateLimited) return 'rate_limited';
  if (httpStatus >= 500) return '5xx';
  if (httpStatus >= 400) return '4xx';
  if (httpStatus >= 300) return '3xx';
  return '2xx';
}

/** Label value of a request that got no answer. */
export function failedRequestStatus(aborted: boolean): ServiceRequestStatus {
  return aborted ? 'timeout' : 'network_error';
}
