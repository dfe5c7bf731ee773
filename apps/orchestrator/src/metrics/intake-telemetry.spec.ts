import type { Request } from 'express';
import { Registry } from 'prom-client';
import { TaskType } from '@app/domain';
import { DomainError, ErrorCode } from '@app/platform';
import { TaskTelemetry } from '@app/runtime';
import { IntakeTelemetry, webhookErrorType } from './intake-telemetry';

function request(headers: Record<string, string>): Request {
  return { headers, correlationId: 'c-1' } as unknown as Request;
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('IntakeTelemetry', () => {
  let registry: Registry;
  let telemetry: IntakeTelemetry;

  beforeEach(() => {
    registry = new Registry();
    telemetry = new IntakeTelemetry(registry, new TaskTelemetry(registry, Object.values(TaskType)));
  });

  it('counts an accepted delivery by event type, action and outcome, and times it', async () => {
    const observed = telemetry.begin(request({ 'x-github-event': 'pull_request' }));
    const answer = await observed.run(async () => ({
      event_type: 'pull_request',
      result: { status: 'queued', action: 'opened' },
    }));
    expect(observed.accepted(answer)).toBe(answer);

    const text = await registry.metrics();
    expect(
      sample(
        text,
        'webhook_events_total{event_type="pull_request",action="opened",outcome="queued"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'webhook_processing_duration_seconds_count{event_type="pull_request",outcome="accepted"}',
      ),
    ).toBe(1);
  });

  it('counts a refusal by error type, with a hostile event header reduced to "other"', async () => {
    const observed = telemetry.begin(request({ 'x-github-event': '<script>' }));
    observed.rejected(new DomainError(ErrorCode.InvalidSignature, 'invalid signature'));

    const text = await registry.metrics();
    expect(sample(text, 'webhook_errors_total{error_type="signature"}')).toBe(1);
    expect(sample(text, 'webhook_errors_total{error_type="duplicate"}')).toBe(0);
    expect(
      sample(text, 'webhook_events_total{event_type="other",action="none",outcome="rejected"}'),
    ).toBe(1);
    expect(text).not.toContain('<script>');
  });

  it('exports every bounded label set at 0 before the first request', async () => {
    const text = await registry.metrics();
    const zero = (series: string) =>
      expect({ series, value: sample(text, series) }).toEqual({ series, value: 0 });
    zero('webhook_events_total{event_type="pull_request",action="opened",outcome="queued"}');
    zero('webhook_events_total{event_type="pull_request",action="closed",outcome="ignored"}');
    zero('webhook_events_total{event_type="push",action="none",outcome="queued"}');
    zero('webhook_events_total{event_type="ping",action="none",outcome="pong"}');
    zero('webhook_events_total{event_type="installation",action="created",outcome="processed"}');
    zero('webhook_events_total{event_type="issues",action="opened",outcome="ignored"}');
    for (const eventType of ['pull_request', 'check_run', 'push', 'ping', 'other']) {
      zero(`webhook_events_total{event_type="${eventType}",action="none",outcome="rejected"}`);
    }
    for (const errorType of [
      'signature',
      'payload_too_large',
      'duplicate',
      'invalid',
      'unavailable',
      'internal',
    ]) {
      zero(`webhook_errors_total{error_type="${errorType}"}`);
    }
    zero('workflow_tasks_total{task_type="pull_request_analysis",status="created"}');
    // The duration histogram too: every event type × outcome, buckets, sum and count.
    for (const eventType of ['pull_request', 'check_run', 'push', 'ping', 'other']) {
      for (const outcome of ['accepted', 'rejected']) {
        const labels = `event_type="${eventType}",outcome="${outcome}"`;
        zero(`webhook_processing_duration_seconds_bucket{le="0.005",${labels}}`);
        zero(`webhook_processing_duration_seconds_bucket{le="+Inf",${labels}}`);
        zero(`webhook_processing_duration_seconds_sum{${labels}}`);
        zero(`webhook_processing_duration_seconds_count{${labels}}`);
      }
    }
    const series = text.split('\n').filter((l) => l.startsWith('webhook_events_total{'));
    // Bounded: each event type's own actions, not every action for every event type.
    expect(series.length).toBeGreaterThan(100);
    expect(series.length).toBeLessThan(200);
  });

  it('labels an action that event type does not have "other", so it stays in the bounded set', async () => {
    const observed = telemetry.begin(request({ 'x-github-event': 'push' }));
    observed.accepted({ event_type: 'push', result: { status: 'queued', action: 'opened' } });
    const text = await registry.metrics();
    expect(
      sample(text, 'webhook_events_total{event_type="push",action="other",outcome="queued"}'),
    ).toBe(1);
    expect(text).not.toContain('event_type="push",action="opened"');
  });

  it('maps every intake failure to one of the six documented error types', () => {
    const types = [
      webhookErrorType(new DomainError(ErrorCode.InvalidSignature, 'x')),
      webhookErrorType(new DomainError(ErrorCode.PayloadTooLarge, 'x')),
      webhookErrorType(new DomainError(ErrorCode.Duplicate, 'x')),
      webhookErrorType(new DomainError(ErrorCode.InvalidInput, 'x')),
      webhookErrorType(new DomainError(ErrorCode.Unavailable, 'x')),
      webhookErrorType(new Error('bug')),
    ];
    expect(types).toEqual([
      'signature',
      'payload_too_large',
      'duplicate',
      'invalid',
      'unavailable',
      'internal',
    ]);
  });
});
