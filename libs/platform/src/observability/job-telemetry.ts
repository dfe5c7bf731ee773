import {
  Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { currentLogContext, runWithLogContext } from '../logging/log-context';

/** Name of the tracer behind every span this code base starts itself. */
export const TRACER_NAME = 'webhook-orchestrator';

/**
 * What a Bull job carries besides the task id so the worker continues the delivery's logs and
 * trace. Every field is optional: jobs added by the relay (outside any request) have none.
 */
export interface JobTelemetry {
  /** The delivery's correlation id (X-Request-ID / X-Correlation-ID, or generated). */
  correlationId?: string;
  /** GitHub's X-GitHub-Delivery of the delivery that implied the task. */
  deliveryId?: string;
  /** W3C trace context (`traceparent`, `tracestate`) of the span that enqueued the job. */
  traceContext?: Record<string, string>;
}

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

/**
 * The current request's or job's ids and trace context, to put in the job data. Cheap: two
 * lookups and, with tracing on, one `traceparent` string.
 */
export function captureJobTelemetry(): JobTelemetry {
  const out: JobTelemetry = {};
  const fields = currentLogContext();
  if (fields?.correlation_id) out.correlationId = fields.correlation_id;
  if (fields?.delivery_id) out.deliveryId = fields.delivery_id;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (carrier.traceparent) {
    out.traceContext = { traceparent: carrier.traceparent };
    if (carrier.tracestate) out.traceContext.tracestate = carrier.tracestate;
  }
  return out;
}

/**
 * Runs one job attempt as a `task.run` span continuing the trace the job carries, with the
 * delivery's correlation id, delivery id and the task id on every log line. Job data comes from
 * Redis, so each field is checked before use.
 */
export function runJobWithTelemetry<T>(
  data: JobTelemetry & { taskId: string },
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  const correlationId = saneId(data.correlationId);
  const deliveryId = saneId(data.deliveryId);
  const parent = extractTraceContext(data.traceContext);
  const tracer = trace.getTracer(TRACER_NAME);
  return runWithLogContext(
    { correlation_id: correlationId, delivery_id: deliveryId, task_id: data.taskId },
    () =>
      tracer.startActiveSpan(
        'task.run',
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            ...attributes,
            'task.id': data.taskId,
            ...(correlationId ? { 'correlation.id': correlationId } : {}),
            ...(deliveryId ? { 'github.delivery_id': deliveryId } : {}),
          },
        },
        parent,
        (span) => endSpanAfter(span, fn),
      ),
  );
}

/**
 * Runs `fn` inside a new active span; errors are recorded on it and rethrown. A no-op span when
 * tracing is off.
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return trace
    .getTracer(TRACER_NAME)
    .startActiveSpan(name, { kind, attributes }, (span) => endSpanAfter(span, () => fn(span)));
}

/** Marks a span failed with the error's message (never its stack or data). */
export function recordSpanError(span: Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: message.slice(0, 300) });
  span.setAttribute('error.type', error instanceof Error ? error.name : typeof error);
}

async function endSpanAfter<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    recordSpanError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

function extractTraceContext(carrier: unknown): typeof ROOT_CONTEXT {
  if (typeof carrier !== 'object' || carrier === null) return ROOT_CONTEXT;
  const clean: Record<string, string> = {};
  for (const name of TRACE_HEADERS) {
    const value = (carrier as Record<string, unknown>)[name];
    if (typeof value === 'string' && value.length <= 512) clean[name] = value;
  }
  // The propagator validates the traceparent format itself and ignores a bad one.
  return clean.traceparent ? propagation.extract(ROOT_CONTEXT, clean) : ROOT_CONTEXT;
}

function saneId(value: unknown): string | undefined {
  return typeof value === 'string' && SANE_ID.test(value) ? value : undefined;
}
