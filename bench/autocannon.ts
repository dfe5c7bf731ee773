import { createRequire } from 'node:module';

/**
 * The part of autocannon's programmatic API the bench uses, typed here because the package ships
 * no declarations. Loaded through createRequire so no ambient module declaration is needed.
 */

/** What setupRequest receives and returns: the request about to be written. */
export interface RequestParams {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Per-connection scratch space autocannon hands to setupRequest and onResponse. */
export type ConnectionContext = Record<string, unknown>;

export interface RequestSpec extends RequestParams {
  /** Called right before each request is written on a connection. */
  setupRequest?: (request: RequestParams, context: ConnectionContext) => RequestParams;
  /** Called with each complete response, before the connection sends its next request. */
  onResponse?: (
    status: number,
    body: string,
    context: ConnectionContext,
    headers: Record<string, string | string[]>,
  ) => void;
}

export interface AutocannonOptions {
  url: string;
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  duration?: number;
  /** Total requests, then stop. */
  amount?: number;
  /** Requests per second over all connections (0 = as fast as possible). */
  overallRate?: number;
  pipelining?: number;
  /** Seconds before a request counts as timed out. */
  timeout?: number;
  requests: RequestSpec[];
}

/** autocannon's histogram summary; latency values are milliseconds. */
export interface HistogramSummary {
  average: number;
  mean: number;
  stddev: number;
  min: number;
  max: number;
  total: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface AutocannonResult {
  /** Seconds the run took. */
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  resets: number;
  '2xx': number;
  '4xx': number;
  '5xx': number;
  statusCodeStats: Record<string, { count: number }>;
  latency: HistogramSummary;
  requests: HistogramSummary & { sent: number };
}

export interface AutocannonInstance {
  stop(): void;
}

type AutocannonFn = (
  options: AutocannonOptions,
  callback: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

const load = createRequire(__filename);
const autocannon = load('autocannon') as AutocannonFn;

/** Runs autocannon to completion. */
export function runAutocannon(
  options: AutocannonOptions,
  onStart?: (instance: AutocannonInstance) => void,
): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) =>
      error ? reject(error) : resolve(result),
    );
    onStart?.(instance);
  });
}
