import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { transports } from 'winston';
import { createJsonLogger } from '../logging/json-logger';
import { captureJobTelemetry, inSpan, runJobWithTelemetry } from './job-telemetry';
import { runWithLogContext } from '../logging/log-context';
import { startTracing, TracingHandle } from './tracing';

function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createJsonLogger('test', 'debug');
  logger.clear();
  logger.add(
    new transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    }),
  );
  return { logger, lines };
}

describe('job telemetry: a delivery continues into the worker', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: TracingHandle;

  beforeAll(() => {
    tracing = startTracing({ serviceName: 'unit', exporter, instrument: false });
  });
  afterAll(() => tracing.shutdown());
  beforeEach(() => exporter.reset());

  it('carries the correlation id, delivery id and trace from the request into the job', async () => {
    const { logger, lines } = captureLogs();
    const jobData = await runWithLogContext({ correlation_id: 'req-42' }, () =>
      inSpan('webhook.intake', {}, async () => {
        return runWithLogContext({ delivery_id: 'd-1' }, () => captureJobTelemetry());
      }),
    );
    expect(jobData).toMatchObject({ correlationId: 'req-42', deliveryId: 'd-1' });
    expect(jobData.traceContext?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    // The worker side runs in a fresh context: only the job data links it to the delivery.
    await runJobWithTelemetry({ ...jobData, taskId: 't-1' }, { queue: 'analysis' }, async () => {
      logger.info('working on it');
    });

    const intake = exporter.getFinishedSpans().find((s) => s.name === 'webhook.intake');
    const run = exporter.getFinishedSpans().find((s) => s.name === 'task.run');
    expect(run?.spanContext().traceId).toBe(intake?.spanContext().traceId);
    expect(run?.parentSpanContext?.spanId).toBe(intake?.spanContext().spanId);
    expect(run?.attributes).toMatchObject({ 'task.id': 't-1', 'correlation.id': 'req-42' });
    expect(lines).toEqual([
      expect.objectContaining({
        message: 'working on it',
        correlation_id: 'req-42',
        delivery_id: 'd-1',
        task_id: 't-1',
        trace_id: intake?.spanContext().traceId,
      }),
    ]);
  });

  it('ignores hostile job data instead of logging or trusting it', async () => {
    const { logger, lines } = captureLogs();
    await runJobWithTelemetry(
      {
        taskId: 't-2',
        correlationId: 'evil\n{"level":"error"}',
        deliveryId: 'x'.repeat(500),
        traceContext: { traceparent: 'not-a-traceparent' },
      },
      {},
      async () => logger.info('still works'),
    );
    const [line] = lines;
    expect(line).toMatchObject({ task_id: 't-2' });
    expect(line.correlation_id).toBeUndefined();
    expect(line.delivery_id).toBeUndefined();
    const run = exporter.getFinishedSpans().find((s) => s.name === 'task.run');
    expect(run?.parentSpanContext).toBeUndefined();
  });

  it('marks the span failed and rethrows when the attempt throws', async () => {
    await expect(
      runJobWithTelemetry({ taskId: 't-3' }, {}, async () => {
        throw new Error('GitHub said 502');
      }),
    ).rejects.toThrow('GitHub said 502');
    const run = exporter.getFinishedSpans().find((s) => s.name === 'task.run');
    expect(run?.status).toMatchObject({ code: 2, message: 'GitHub said 502' });
  });

  it('captures nothing outside a request or span (relay adds carry only the task id)', async () => {
    expect(captureJobTelemetry()).toEqual({});
    // Inside a span the trace is captured; once the span is over, nothing of it leaks into the
    // next job the process adds.
    const inside = await inSpan('relay.pass', {}, async () => captureJobTelemetry());
    expect(inside.traceContext?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(captureJobTelemetry()).toEqual({});
  });
});
