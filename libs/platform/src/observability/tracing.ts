import type { IncomingMessage } from 'node:http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { EnvReader } from '../config/env-reader';
import { setTracingStatus } from './tracing-status';

/** A started (or deliberately not started) tracing setup. */
export interface TracingHandle {
  readonly enabled: boolean;
  /** One line for the start-up log: where spans go, or why there are none. */
  readonly description: string;
  /** Flushes buffered spans; call it after the app closed. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP endpoint (Jaeger's collector, e.g. `http://jaeger:4318`). */
  endpoint?: string;
  /** Another exporter (tests use an in-memory one); spans are then exported one by one. */
  exporter?: SpanExporter;
  /** Auto-instrument http, express, pg, ioredis and fetch. Default true. */
  instrument?: boolean;
}

/** Probes and scrapes would drown the real traces. */
const UNTRACED_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Starts the OpenTelemetry SDK: W3C trace context, AsyncLocalStorage context, spans for HTTP in
 * and out, express, PostgreSQL (inside a trace only) and Redis (inside a trace only), exported
 * over OTLP. Must run before the instrumented modules are loaded, hence the per-app `instrument`
 * files imported first by `main.ts`.
 */
export function startTracing(options: TracingOptions): TracingHandle {
  const exporter =
    options.exporter ??
    (options.endpoint ? new OTLPTraceExporter({ url: otlpTracesUrl(options.endpoint) }) : null);
  if (!exporter) return off('tracing off: no exporter');
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors: [
      options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter),
    ],
    instrumentations: options.instrument === false ? [] : instrumentations(),
    // Metrics are prom-client's and logs are winston's: keep the SDK from exporting its own.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const description = options.endpoint
    ? `tracing on: OTLP to ${otlpTracesUrl(options.endpoint)}`
    : 'tracing on: custom exporter';
  setTracingStatus(description);
  let stopped: Promise<void> | null = null;
  return {
    enabled: true,
    description,
    shutdown: () => (stopped ??= sdk.shutdown().catch(() => undefined)),
  };
}

/**
 * Starts tracing as ENABLE_TRACING and JAEGER_ENDPOINT say. Invalid values leave tracing off;
 * the app's config validation reports them and stops the process.
 */
export function startTracingFromEnv(
  serviceName: string,
  source: Record<string, string | undefined> = process.env,
): TracingHandle {
  const env = new EnvReader(source);
  let enabled: boolean;
  let endpoint: string | undefined;
  try {
    enabled = env.bool('ENABLE_TRACING', true);
    endpoint = env.raw('JAEGER_ENDPOINT')
      ? env.url('JAEGER_ENDPOINT', undefined, ['http:', 'https:'])
      : undefined;
    env.done();
  } catch {
    return off('tracing off: ENABLE_TRACING or JAEGER_ENDPOINT is invalid');
  }
  if (!enabled) return off('tracing off: ENABLE_TRACING=false');
  if (!endpoint) return off('tracing off: JAEGER_ENDPOINT is not set');
  return startTracing({ serviceName, endpoint });
}

/**
 * The OTLP/HTTP traces URL for an endpoint: a bare collector address gets `/v1/traces`, a URL
 * with a path is used as given.
 */
export function otlpTracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/v1/traces';
  return url.toString();
}

function instrumentations() {
  return [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req: IncomingMessage) => UNTRACED_PATHS.test(req.url ?? ''),
    }),
    new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
    new PgInstrumentation({ requireParentSpan: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
    new UndiciInstrumentation(),
  ];
}

function off(description: string): TracingHandle {
  setTracingStatus(description);
  return { enabled: false, description, shutdown: async () => undefined };
}
