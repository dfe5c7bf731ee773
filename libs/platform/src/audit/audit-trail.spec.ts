import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { transports } from 'winston';
import { createJsonLogger } from '../logging/json-logger';
import { AuditSink, AuditTrail, OVERFLOW_CLIENT } from './audit-trail';
import { AuditEvent, AuditRecord, auditText, AuditType } from './audit-types';
import { createSecurityEventsCounter } from './security-metrics';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createJsonLogger('orchestrator', 'info');
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
  return { log: logger.child({ channel: 'audit' }), lines };
}

class MemorySink implements AuditSink {
  readonly written: AuditRecord[][] = [];
  fail = false;
  hold: Promise<void> | null = null;
  async write(records: readonly AuditRecord[]): Promise<void> {
    if (this.hold) await this.hold;
    if (this.fail) throw new Error('connection refused');
    this.written.push([...records]);
  }
  get all(): AuditRecord[] {
    return this.written.flat();
  }
}

const forged = (client: string, reason = 'mismatch', deliveryId = 'd-1'): AuditEvent => ({
  type: AuditType.WebhookSignatureFailure,
  outcome: 'denied',
  reason,
  clientAddress: client,
  correlationId: `c-${deliveryId}`,
  details: { delivery_id: deliveryId, event: 'push' },
});

function setup(options: ConstructorParameters<typeof AuditTrail>[3] = {}) {
  let now = Date.parse('2024-05-01T10:00:05Z');
  const sink = new MemorySink();
  const { log, lines } = capture();
  const registry = new Registry();
  const counter = createSecurityEventsCounter(registry);
  const trail = new AuditTrail(sink, log, counter, { now: () => now, ...options });
  const advance = (ms: number) => (now += ms);
  const counted = async (type: AuditType) =>
    (await registry.getSingleMetric('security_events_total')!.get()).values.find(
      (v) => v.labels.type === type,
    )?.value;
  return { trail, sink, lines, advance, counted, registry };
}

describe('AuditTrail', () => {
  it('folds a flood of forged deliveries from one address into one record per minute', async () => {
    const { trail, sink, counted } = setup();
    for (let i = 0; i < 500; i++) trail.record(forged('203.0.113.9', 'mismatch', `d-${i}`));
    await trail.flush();
    expect(sink.all).toHaveLength(1);
    expect(sink.all[0]).toMatchObject({
      type: AuditType.WebhookSignatureFailure,
      outcome: 'denied',
      reason: 'mismatch',
      clientAddress: '203.0.113.9',
      count: 500,
      correlationId: 'c-d-0',
      aggregateKey: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The first delivery id, and a handful of samples, never all 500.
    expect(sink.all[0].details.delivery_id).toBe('d-0');
    expect(sink.all[0].details.delivery_ids).toEqual(['d-0', 'd-1', 'd-2', 'd-3', 'd-4']);
    expect(await counted(AuditType.WebhookSignatureFailure)).toBe(500);
  });

  it('keeps clients, reasons and minutes apart; the same key across flushes adds up in storage', async () => {
    const { trail, sink, advance } = setup();
    trail.record(forged('203.0.113.9', 'mismatch'));
    trail.record(forged('203.0.113.9', 'missing'));
    trail.record(forged('198.51.100.1', 'mismatch'));
    await trail.flush();
    expect(sink.all.map((r) => [r.clientAddress, r.reason, r.count])).toEqual([
      ['203.0.113.9', 'mismatch', 1],
      ['203.0.113.9', 'missing', 1],
      ['198.51.100.1', 'mismatch', 1],
    ]);
    // Same minute, next flush: same key, so the repository's upsert adds the counts.
    trail.record(forged('203.0.113.9', 'mismatch'));
    await trail.flush();
    expect(sink.written[1][0].aggregateKey).toBe(sink.written[0][0].aggregateKey);
    // Next minute: a new record.
    advance(60_000);
    trail.record(forged('203.0.113.9', 'mismatch'));
    await trail.flush();
    expect(sink.written[2][0].aggregateKey).not.toBe(sink.written[0][0].aggregateKey);
  });

  it('bounds memory and rows under a spray of addresses', async () => {
    const { trail, sink } = setup({ maxAggregates: 100 });
    for (let i = 0; i < 10_000; i++) trail.record(forged(`2001:db8::${i.toString(16)}`));
    expect(trail.backlog.aggregates).toBeLessThanOrEqual(101);
    await trail.flush();
    expect(sink.all).toHaveLength(101);
    const overflow = sink.all.find((r) => r.clientAddress === OVERFLOW_CLIENT);
    expect(overflow?.count).toBe(9_900);
    expect(sink.all.reduce((sum, r) => sum + r.count, 0)).toBe(10_000);
  });

  it('stores every admin action as its own record and logs it on the audit channel at once', async () => {
    const { trail, sink, lines, counted } = setup();
    const action: AuditEvent = {
      type: AuditType.TaskRetry,
      outcome: 'succeeded',
      actor: 'alice',
      role: 'operator',
      clientAddress: '10.0.0.5',
      target: 'task:5d8f',
      correlationId: 'req-42',
      details: { force: true },
    };
    trail.record(action);
    trail.record(action);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      channel: 'audit',
      service: 'orchestrator',
      message: 'audit',
      type: 'admin.task_retry',
      outcome: 'succeeded',
      actor: 'alice',
      role: 'operator',
      target: 'task:5d8f',
      correlation_id: 'req-42',
      count: 1,
      details: { force: true },
    });
    await trail.flush();
    expect(sink.all).toHaveLength(2);
    expect(sink.all.every((r) => r.aggregateKey === null && r.count === 1)).toBe(true);
    expect(await counted(AuditType.TaskRetry)).toBe(2);
  });

  it('writes admin actions without waiting for the periodic flush', async () => {
    const { trail, sink } = setup({ flushIntervalMs: 60_000 });
    trail.start();
    try {
      trail.record({ type: AuditType.Cleanup, outcome: 'succeeded', actor: 'a' });
      // Written on its own, long before the 60 s flush (polled: a loaded machine may be slow).
      for (let waited = 0; sink.all.length === 0 && waited < 5000; waited += 20)
        await new Promise((r) => setTimeout(r, 20));
      expect(sink.all).toHaveLength(1);
    } finally {
      await trail.stop();
    }
  });

  it('never throws and never waits, whatever the database does', async () => {
    const { trail, sink, lines } = setup();
    sink.fail = true;
    trail.record(forged('203.0.113.9'));
    trail.record({ type: AuditType.Cleanup, outcome: 'succeeded', actor: 'a' });
    await expect(trail.flush()).resolves.toBeUndefined();
    expect(
      lines.some((l) => l.level === 'error' && String(l.message).includes('could not be stored')),
    ).toBe(true);
    // A hung database: record() still returns at once and the backlog stays bounded.
    sink.fail = false;
    let release!: () => void;
    sink.hold = new Promise((r) => (release = r));
    const trailSmall = new AuditTrail(sink, capture().log, null, { maxPending: 10 });
    trailSmall.record({ type: AuditType.Cleanup, outcome: 'succeeded' });
    const stuck = trailSmall.flush();
    const started = performance.now();
    for (let i = 0; i < 1000; i++)
      trailSmall.record({ type: AuditType.Cleanup, outcome: 'succeeded' });
    // Waiting on the hung database would never end; 1000 records take milliseconds, and 2 s
    // leaves room for a loaded machine.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(trailSmall.backlog.pending).toBe(10);
    expect(trailSmall.backlog.dropped).toBe(990);
    release();
    await stuck;
    sink.hold = null;
    await trailSmall.flush();
  });

  it('survives a counter that throws', () => {
    const { log } = capture();
    const trail = new AuditTrail(new MemorySink(), log, {
      inc: () => {
        throw new Error('registry broke');
      },
    });
    expect(() => trail.record(forged('203.0.113.9'))).not.toThrow();
  });

  it('stores hostile text as printable, bounded text', async () => {
    const { trail, sink, lines } = setup();
    trail.record({
      type: AuditType.ApiAuthFailure,
      outcome: 'denied',
      reason: 'invalid',
      clientAddress: '1.2.3.4\r\n{"level":"info","message":"forged"}',
      target: 'GET /api/v1/tasks',
      correlationId: 'x'.repeat(1000),
      actor: 'mallory\u0000\u202e',
    });
    await trail.flush();
    const [record] = sink.all;
    expect(record.clientAddress).not.toMatch(/[\r\n]/);
    expect(record.clientAddress!.length).toBeLessThanOrEqual(64);
    expect(record.correlationId).toHaveLength(128);
    expect(record.actor).toBe('mallory??');
    // One line per record: the injected JSON did not become a line of its own.
    expect(lines.filter((l) => l.message === 'forged')).toHaveLength(0);
  });
});

describe('auditText', () => {
  it('keeps printable ASCII, replaces the rest and truncates', () => {
    expect(auditText('abc')).toBe('abc');
    expect(auditText('a\nb\tc\u00e9')).toBe('a?b?c?');
    expect(auditText('x'.repeat(300), 10)).toBe('x'.repeat(10));
    expect(auditText(undefined)).toBeNull();
    expect(auditText(42)).toBe('42');
  });
});

describe('security_events_total', () => {
  it('is registered once per registry, with a zero series for every type', async () => {
    const registry = new Registry();
    const a = createSecurityEventsCounter(registry);
    const b = createSecurityEventsCounter(registry);
    expect(a).toBe(b);
    const text = await registry.metrics();
    for (const type of Object.values(AuditType)) {
      expect(text).toContain(`security_events_total{type="${type}"} 0`);
    }
  });
});
