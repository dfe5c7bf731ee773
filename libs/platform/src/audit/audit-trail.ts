import { createHash } from 'node:crypto';
import type { Logger } from 'winston';
import {
  AGGREGATED_AUDIT_TYPES,
  AuditDetails,
  AuditEvent,
  AuditRecord,
  auditText,
} from './audit-types';

/** Where records end up; {@link AuditLogRepository} in the apps. */
export interface AuditSink {
  write(records: readonly AuditRecord[]): Promise<void>;
}

/** Counts every event by type (`security_events_total`); see {@link createSecurityEventsCounter}. */
export interface AuditCounter {
  inc(labels: { type: string }): void;
}

export interface AuditTrailOptions {
  /** How often aggregated failures are written (and admin actions that missed a flush). */
  flushIntervalMs?: number;
  /** Single records waiting for the database; past it the oldest are dropped (they were logged). */
  maxPending?: number;
  /** Distinct aggregates held between flushes; past it new clients fold into one overflow record. */
  maxAggregates?: number;
  now?: () => number;
}

/** Client address of the aggregate that collects clients past `maxAggregates`. */
export const OVERFLOW_CLIENT = '(other addresses)';
const MINUTE_MS = 60_000;
const SAMPLE_DELIVERY_IDS = 5;

/**
 * The audit trail of the orchestrator. `record` is synchronous, constant-time and never throws:
 * it counts the event, and either adds it to an in-memory aggregate (failures an outsider can
 * cause at will, keyed by type, client address, reason, target and minute) or queues it (admin
 * actions). A background flush writes both with one statement and logs each record on the
 * `audit` channel. A slow or unavailable database never delays or fails the request described;
 * records that cannot be stored are still in the log.
 */
export class AuditTrail {
  private readonly aggregates = new Map<string, AuditRecord>();
  private pending: AuditRecord[] = [];
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Immediate | null = null;
  private dropped = 0;
  private readonly flushIntervalMs: number;
  private readonly maxPending: number;
  private readonly maxAggregates: number;
  private readonly now: () => number;

  constructor(
    private readonly sink: AuditSink,
    /** The `audit` log channel (a child logger with `channel: 'audit'`). */
    private readonly log: Logger,
    private readonly counter: AuditCounter | null,
    options: AuditTrailOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 2000;
    this.maxPending = options.maxPending ?? 1000;
    this.maxAggregates = options.maxAggregates ?? 5000;
    this.now = options.now ?? Date.now;
  }

  /** Starts the periodic flush; the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.kick(), this.flushIntervalMs);
    this.timer.unref();
  }

  /** Stops the timers and writes what is left. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearImmediate(this.soon);
    this.timer = null;
    this.soon = null;
    await this.flush();
  }

  /** Records one event. Never throws, never waits. */
  record(event: AuditEvent): void {
    try {
      this.counter?.inc({ type: event.type });
      const now = this.now();
      if (AGGREGATED_AUDIT_TYPES.has(event.type)) {
        this.aggregate(event, now);
        return;
      }
      const record = toRecord(event, now, null);
      this.writeLogLine(record);
      if (this.pending.length >= this.maxPending) {
        this.pending.shift();
        this.dropped++;
      }
      this.pending.push(record);
      // Admin actions should be queryable at once, not a flush interval later.
      this.soon ??= setImmediate(() => {
        this.soon = null;
        this.kick();
      });
    } catch (error) {
      this.log.error('audit event could not be recorded', { error: String(error) });
    }
  }

  /** Writes everything recorded so far; resolves when it is stored (or logged as lost). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    this.inFlight = this.flushNow();
    try {
      await this.inFlight;
    } finally {
      this.inFlight = null;
    }
  }

  /** Aggregates and single records waiting for the next flush (for tests and health). */
  get backlog(): { aggregates: number; pending: number; dropped: number } {
    return {
      aggregates: this.aggregates.size,
      pending: this.pending.length,
      dropped: this.dropped,
    };
  }

  private kick(): void {
    if (!this.inFlight) void this.flush();
  }

  private aggregate(event: AuditEvent, now: number): void {
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    let key = groupKey(event, minute);
    let record = this.aggregates.get(key);
    let overflow = false;
    if (!record && this.aggregates.size >= this.maxAggregates) {
      // A spray of addresses: one record per type, outcome and reason holds the rest.
      overflow = true;
      key = groupKey(
        { type: event.type, outcome: event.outcome, reason: event.reason },
        minute,
        true,
      );
      record = this.aggregates.get(key);
    }
    if (!record) {
      const base = toRecord(event, now, createHash('sha256').update(key).digest('hex'));
      record = overflow
        ? {
            ...base,
            clientAddress: OVERFLOW_CLIENT,
            actor: null,
            role: null,
            target: null,
            correlationId: null,
            details: {},
          }
        : base;
      record.count = 0;
      this.aggregates.set(key, record);
    }
    record.count++;
    record.lastSeenAt = new Date(now);
    const deliveryId = event.details?.delivery_id;
    if (!overflow && typeof deliveryId === 'string')
      addSample(record.details, auditText(deliveryId) ?? '');
  }

  private async flushNow(): Promise<void> {
    const aggregated = [...this.aggregates.values()];
    const records = [...this.pending, ...aggregated];
    this.aggregates.clear();
    this.pending = [];
    if (this.dropped > 0) {
      this.log.warn('audit buffer was full; the oldest records were only logged', {
        dropped: this.dropped,
      });
      this.dropped = 0;
    }
    if (records.length === 0) return;
    for (const record of aggregated) this.writeLogLine(record);
    try {
      await this.sink.write(records);
    } catch (error) {
      this.log.error('audit records could not be stored; they are in the audit log channel only', {
        records: records.length,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private writeLogLine(record: AuditRecord): void {
    this.log.info('audit', {
      type: record.type,
      outcome: record.outcome,
      actor: record.actor,
      role: record.role,
      client_address: record.clientAddress,
      target: record.target,
      reason: record.reason,
      correlation_id: record.correlationId ?? undefined,
      count: record.count,
      details: record.details,
      occurred_at: record.occurredAt.toISOString(),
      last_seen_at: record.lastSeenAt.toISOString(),
    });
  }
}

function toRecord(event: AuditEvent, now: number, aggregateKey: string | null): AuditRecord {
  const at = new Date(now);
  return {
    type: event.type,
    outcome: event.outcome,
    actor: auditText(event.actor, 200),
    role: auditText(event.role, 16),
    clientAddress: auditText(event.clientAddress, 64),
    target: auditText(event.target, 255),
    reason: auditText(event.reason, 64),
    correlationId: auditText(event.correlationId, 128),
    details: cleanDetails(event.details),
    occurredAt: at,
    lastSeenAt: at,
    count: 1,
    aggregateKey,
  };
}

/** At most 16 fields, short printable keys and values; arrays of at most 20 short strings. */
function cleanDetails(details: AuditDetails | undefined): AuditDetails {
  const out: AuditDetails = {};
  if (!details) return out;
  for (const [rawKey, value] of Object.entries(details).slice(0, 16)) {
    const key = auditText(rawKey, 64) as string;
    if (Array.isArray(value)) out[key] = value.slice(0, 20).map((v) => auditText(v) ?? '');
    else if (typeof value === 'string') out[key] = auditText(value, 255);
    else out[key] = value;
  }
  return out;
}

/** The grouping key from the event as reported (each part bounded, so keys stay small). */
function groupKey(
  event: Pick<AuditEvent, 'type' | 'outcome' | 'reason' | 'clientAddress' | 'target' | 'actor'>,
  minute: number,
  overflow = false,
): string {
  return [
    event.type,
    minute,
    event.outcome,
    overflow ? OVERFLOW_CLIENT : (event.clientAddress ?? '').slice(0, 128),
    (event.reason ?? '').slice(0, 64),
    (event.target ?? '').slice(0, 255),
    (event.actor ?? '').slice(0, 200),
  ].join('\u0000');
}

function addSample(details: AuditDetails, deliveryId: string): void {
  const samples = Array.isArray(details.delivery_ids) ? details.delivery_ids : [];
  if (samples.length >= SAMPLE_DELIVERY_IDS || samples.includes(deliveryId)) return;
  details.delivery_ids = [...samples, deliveryId];
}
