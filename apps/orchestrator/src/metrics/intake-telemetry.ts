import { Inject, Injectable } from '@nestjs/common';
import { context, Span, SpanKind, trace } from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  annotateLogContext,
  DomainError,
  ErrorCode,
  labelCombinations,
  METRICS_REGISTRY,
  recordSpanError,
  secondsSince,
  startAtZero,
  TRACER_NAME,
} from '@app/platform';
import { TaskTelemetry } from '@app/runtime';
import {
  acceptedEventLabels,
  eventTypeLabel,
  rejectedEventLabels,
  WebhookEventLabel,
  webhookEventLabelSets,
  webhookEventTypes,
} from './webhook-labels';

/** `error_type` of `webhook_errors_total`. */
export type WebhookErrorType =
  'signature' | 'payload_too_large' | 'duplicate' | 'invalid' | 'unavailable' | 'internal';

const ERROR_TYPES: readonly WebhookErrorType[] = [
  'signature',
  'payload_too_large',
  'duplicate',
  'invalid',
  'unavailable',
  'internal',
];

/** The same shape the intake accepts; anything else is not worth a log field. */
const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** What the intake answered, as far as the metrics care. */
interface AcceptedResult {
  event_type: string;
  result: Record<string, unknown>;
}

/** One delivery being observed, from the first byte to the answer. */
export interface ObservedDelivery {
  /** Runs the intake inside the delivery's span, so the tasks it enqueues continue the trace. */
  run<T>(work: () => Promise<T>): Promise<T>;
  accepted<T extends AcceptedResult>(answer: T): T;
  rejected(error: unknown): void;
}

/**
 * Intake metrics (`webhook_events_total`, `webhook_processing_duration_seconds`,
 * `webhook_errors_total`) and the `webhook.intake` span. Labels come from allow-lists, never raw
 * header values. Per delivery: one span, two counter increments and one histogram observation.
 */
@Injectable()
export class IntakeTelemetry {
  private readonly events: Counter<WebhookEventLabel>;
  private readonly duration: Histogram<'event_type' | 'outcome'>;
  private readonly errors: Counter<'error_type'>;
  private inflightBytes: () => number = () => 0;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly tasks: TaskTelemetry,
  ) {
    const registers = [registry];
    this.events = new Counter({
      name: 'webhook_events_total',
      help: 'Requests to the webhook endpoint, by event type, action and outcome (queued, ignored, processed, pong, rejected)',
      labelNames: ['event_type', 'action', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'webhook_processing_duration_seconds',
      help: 'Time from the start of a webhook request to its answer, by event type and outcome (accepted, rejected)',
      labelNames: ['event_type', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.errors = new Counter({
      name: 'webhook_errors_total',
      help: 'Webhook requests refused, by error type (signature, payload_too_large, duplicate, invalid, internal)',
      labelNames: ['error_type'],
      registers,
    });
    const watched = (): number => this.inflightBytes();
    new Gauge({
      name: 'webhook_unverified_bytes_in_flight',
      help: 'Bytes of webhook bodies buffered before their signature is checked (capped by WEBHOOK_INFLIGHT_MAX_BYTES)',
      registers,
      collect() {
        this.set(watched());
      },
    });
    // Every series exists at 0 from the start, so rate() counts the first request of each.
    startAtZero(this.events, webhookEventLabelSets());
    startAtZero(this.errors, labelCombinations({ error_type: ERROR_TYPES }));
    startAtZero(
      this.duration,
      labelCombinations({ event_type: webhookEventTypes(), outcome: ['accepted', 'rejected'] }),
    );
  }

  begin(req: IncomingMessage): ObservedDelivery {
    const started = performance.now();
    const eventType = eventTypeLabel(req.headers['x-github-event']);
    const deliveryId = req.headers['x-github-delivery'];
    const validId = typeof deliveryId === 'string' && DELIVERY_ID.test(deliveryId);
    if (validId) annotateLogContext({ delivery_id: deliveryId });
    const span: Span = trace.getTracer(TRACER_NAME).startSpan('webhook.intake', {
      kind: SpanKind.INTERNAL,
      attributes: {
        'github.event': eventType,
        ...(validId ? { 'github.delivery_id': deliveryId } : {}),
        ...(req.correlationId ? { 'correlation.id': req.correlationId } : {}),
      },
    });
    return {
      run: (work) => context.with(trace.setSpan(context.active(), span), work),
      accepted: (answer) => {
        const labels = acceptedEventLabels(eventType, answer.result.action, answer.result.status);
        this.events.inc(labels);
        this.duration.observe(
          { event_type: eventType, outcome: 'accepted' },
          secondsSince(started),
        );
        span.setAttributes({ 'github.action': labels.action, 'webhook.outcome': labels.outcome });
        span.end();
        return answer;
      },
      rejected: (error) => {
        const errorType = webhookErrorType(error);
        this.events.inc(rejectedEventLabels(eventType));
        this.errors.inc({ error_type: errorType });
        this.duration.observe(
          { event_type: eventType, outcome: 'rejected' },
          secondsSince(started),
        );
        span.setAttribute('webhook.error_type', errorType);
        recordSpanError(span, error);
        span.end();
      },
    };
  }

  /** The intake's count of unverified bytes in flight, read at each scrape. */
  watchInflight(bytes: () => number): void {
    this.inflightBytes = bytes;
  }

  /** Tasks the delivery committed. */
  tasksCreated(tasks: ReadonlyArray<{ taskType: string }>): void {
    this.tasks.tasksCreated(tasks);
  }
}

/** Maps an intake failure to its `error_type`, before the failure limiter may turn it into 429. */
export function webhookErrorType(error: unknown): WebhookErrorType {
  if (!(error instanceof DomainError)) return 'internal';
  switch (error.code) {
    case ErrorCode.InvalidSignature:
      return 'signature';
    case ErrorCode.PayloadTooLarge:
      return 'payload_too_large';
    case ErrorCode.Duplicate:
      return 'duplicate';
    case ErrorCode.InvalidInput:
    case ErrorCode.UnsupportedMediaType:
    case ErrorCode.Unauthenticated:
    case ErrorCode.Forbidden:
    case ErrorCode.NotFound:
    case ErrorCode.MethodNotAllowed:
    case ErrorCode.RateLimited:
      return 'invalid';
    case ErrorCode.Unavailable:
      // 503: the in-flight byte cap, or PostgreSQL out of reach. Not a bug of ours.
      return 'unavailable';
    case ErrorCode.Internal:
      return 'internal';
  }
}
