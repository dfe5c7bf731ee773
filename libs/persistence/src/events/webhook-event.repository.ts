import { createHash } from 'node:crypto';
import { DatabaseError } from 'pg';
import type { Pool } from 'pg';
import { Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { Queryable } from '../database/sql-results';
import {
  eventTasksInsertSql,
  eventTasksParameter,
  NewTask,
} from '../tasks/task-creation.repository';

/** The pg pool behind a TypeORM postgres DataSource: same size, timeouts and instrumentation. */
export function pgPoolOf(dataSource: DataSource): Pool {
  return (dataSource.driver as PostgresDriver).master as Pool;
}

/**
 * Runs a few fixed statements as named prepared statements on a pg pool, so PostgreSQL parses
 * and plans each once per connection instead of on every call (for the intake statement about
 * 0.2–0.4 ms of server CPU per delivery; docs/performance.md). Resolves with the result rows,
 * as DataSource.query does for a statement whose last part is a SELECT.
 */
export class PreparedStatements implements Queryable {
  private readonly names = new Map<string, string>();

  constructor(private readonly pool: () => Pool) {}

  async query<T = unknown>(sql: string, parameters: unknown[] = []): Promise<T> {
    let name = this.names.get(sql);
    if (name === undefined) {
      // Named by content, so two instances on one pool can never clash over a name.
      name = `stmt_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
      this.names.set(sql, name);
    }
    // Not pool.query: that drops the connection on any error, and an error PostgreSQL answered
    // (a statement_timeout's cancellation, a refused value) leaves it usable, its prepared
    // statements included; reconnecting then would cost most when storage is already slow.
    // A broken connection also emits 'error' while checked out; every pooled client listens for
    // its own (SessionGuardedClient), and the query rejects with the same error.
    const client = await this.pool().connect();
    let broken: Error | undefined;
    try {
      const result = await client.query({ name, text: sql, values: parameters });
      return result.rows as T;
    } catch (error) {
      if (!answeredByServer(error)) broken = error as Error;
      throw error;
    } finally {
      // With an error, pg-pool closes the connection instead of keeping it (as it does anyway
      // for one that is no longer usable).
      client.release(broken);
    }
  }
}

/**
 * An error PostgreSQL sent for the statement, after which the session goes on. Not the ones it
 * ends the session with (operator intervention 57P*, as when it is shutting down or the backend
 * was terminated; connection exceptions 08*): dropped at once, so no next delivery races the
 * close. Anything else, such as pg's own read timeout with the statement still running, leaves
 * the connection in an unknown state.
 */
function answeredByServer(error: unknown): boolean {
  if (!(error instanceof DatabaseError)) return false;
  const code = error.code ?? '';
  return !code.startsWith('57P') && !code.startsWith('08');
}

export interface NewEvent {
  deliveryId: string;
  eventType: string;
  action: string | null;
  repository: string | null;
  installationId: number | null;
  senderLogin: string | null;
  /**
   * The payload as JSON text: stored as received, without a second serialisation. Either a
   * string or its bytes (valid UTF-8), which go to PostgreSQL as they are, a binary `text`
   * parameter: the intake passes the body it verified, so no copy of it as a JS string is held
   * while the statement runs (docs/performance.md).
   */
  payloadJson: string | Buffer;
  headers: Record<string, string>;
  /** True when the event implies no task, so there is nothing left to process. */
  processedAtIntake: boolean;
  receivedVia: 'webhook' | 'recovered' | 'replayed';
  /**
   * The payload replay guard: the SHA-256 of the body as received and how long it refuses the
   * same body under another delivery id. Absent: no payload guard (recovered deliveries, pings).
   */
  payloadGuard?: PayloadGuard | null;
}

export interface PayloadGuard {
  sha256: Buffer;
  windowHours: number;
}

/**
 * A task stored with the event only when a pending agent-run outcome of `repository` is about
 * one of `prNumbers` (its pull request or one the agent opened) or about the commit `sha`, or,
 * for a completed check of a pull request (`check`), its run is still working and failed that
 * check (it may be on a pull request the agent opened and Codegen has not reported yet): the
 * conditions of AgentRunOutcomeRepository.pendingFor, looked up in the intake's own statement, so
 * a delivery no run touched costs no extra round trip and creates nothing.
 */
export interface PendingOutcomeTask {
  task: NewTask;
  repository: string;
  prNumbers: readonly number[];
  sha: string | null;
  check: { scope: string; name: string } | null;
}

/**
 * What the intake's insert did: stored (`judged`: the pending-outcome task was stored with it),
 * or refused by one of the two replay guards.
 */
export type InsertResult =
  | { kind: 'stored'; eventId: number; judged: boolean }
  | { kind: 'duplicate_delivery' }
  | { kind: 'duplicate_payload' };

/** Postgres error codes for text the jsonb type refuses (for example `\u0000`). */
const INVALID_JSON_TEXT = new Set(['22P02', '22P05', '22025']);

export class InvalidStoredJsonError extends Error {}

/** Postgres error codes for JSON no rewrite can store: numbers past numeric's range, deep nesting. */
const UNSTORABLE_JSON = new Set(['22003', '54001']);

/** A payload jsonb cannot hold at all (`1e-16384`, `1e131072`): bad input, not an outage. */
export class UnstorableJsonError extends Error {}

/**
 * The intake's one statement: payload guard, delivery-id guard, the event and its tasks. The
 * task rows are written by the task owner's part ({@link eventTasksInsertSql}) composed into
 * this statement, not by a second statement: one round trip and one implicit transaction per
 * delivery is the measured hot path, and splitting it would add a round trip and an explicit
 * transaction. Built once, so the prepared statement's text (and name) never changes.
 */
const INTAKE_STATEMENT = `WITH digest AS (
     INSERT INTO webhook_payload_digests AS d (digest, delivery_id, stored_at)
     SELECT $12::bytea, $1::varchar, now()
      WHERE $12::bytea IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.delivery_id = $1)
     ON CONFLICT (digest) DO UPDATE
       SET delivery_id = EXCLUDED.delivery_id,
           stored_at = CASE WHEN d.delivery_id = EXCLUDED.delivery_id THEN d.stored_at
                            ELSE EXCLUDED.stored_at END
     WHERE d.delivery_id = EXCLUDED.delivery_id
        OR d.stored_at < now() - $13::int * interval '1 hour'
     RETURNING 1
   ), payload_ok AS (
     SELECT $12::bytea IS NULL OR EXISTS (SELECT 1 FROM digest)
            OR EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.delivery_id = $1) AS ok
   ), guard AS (
     INSERT INTO webhook_deliveries (delivery_id, event_id, received_at)
     SELECT $1, nextval('webhook_events_id_seq'), now()
       FROM payload_ok WHERE payload_ok.ok
     ON CONFLICT (delivery_id) DO NOTHING
     RETURNING event_id, received_at
   ), judging AS (
     SELECT $14::jsonb AS task
      WHERE $14::jsonb IS NOT NULL AND EXISTS (
        SELECT 1 FROM agent_run_outcomes o
         WHERE o.outcome = 'pending' AND o.repository = $15::text
           AND (o.pr_number = ANY($16::int[]) OR o.agent_pr_numbers && $16::int[]
                OR ($17::text IS NOT NULL AND o.agent_head_sha = $17::text)
                OR ($18::text IS NOT NULL AND o.finished_at IS NULL
                    AND o.check_scope = $18::text AND $19::text = ANY(o.failing_checks))))
   ), ev AS (
     INSERT INTO webhook_events (id, delivery_id, event_type, action, repository,
       installation_id, sender_login, payload, headers, processed, processing_started_at,
       processing_completed_at, received_via, created_at, updated_at)
     SELECT guard.event_id, $1, $2::text, $3::text, $4::text, $5::bigint, $6::text,
       $7::text::jsonb, $8::jsonb, done.processed, now(), CASE WHEN done.processed THEN now() END,
       $10::text, guard.received_at, guard.received_at
     FROM guard,
       (SELECT $9::boolean AND NOT EXISTS (SELECT 1 FROM judging) AS processed) AS done
     RETURNING id
   ), t AS (
     ${eventTasksInsertSql('ev', "($11::jsonb || coalesce((SELECT task FROM judging), '[]'))")}
   )
   SELECT (SELECT id FROM ev) AS event_id, (SELECT ok FROM payload_ok) AS payload_ok,
     EXISTS (SELECT 1 FROM judging) AS judged, (SELECT count(*) FROM t) AS task_count`;

/**
 * The one writer of `webhook_events` and of its replay guards (`webhook_deliveries`,
 * `webhook_payload_digests`): the intake's insert (with its tasks, in one statement), the
 * bookkeeping of whether an event is fully processed, and retention's deletes. Methods that take a `db` run on the
 * caller's transaction, so an event's state changes with the tasks that decide it.
 */
@Injectable()
export class WebhookEventRepository {
  /**
   * Stores an event and its tasks atomically, in one round trip: either both are there, or
   * neither. `webhook_deliveries` holds one row per stored event keyed by its delivery id (the
   * delivery-id replay guard; a UNIQUE constraint on the partitioned `webhook_events` would have
   * to include `created_at`). A concurrent intake of the same id waits on the guard row and then
   * stores nothing.
   *
   * With a payload guard, `webhook_payload_digests` is written first, in the same statement: a
   * body already stored under another delivery id within the window is refused (nothing else is
   * written); a row older than the window is taken over; a row of the same delivery id (GitHub's
   * redelivery) lets the delivery-id guard decide, as without the payload guard. A concurrent
   * intake of the same body waits on the digest row, so exactly one of them is stored. No digest
   * row is written for a delivery id that is already stored.
   *
   * `ifPending` is stored as one more task when a pending agent-run outcome matches it (looked up
   * in the same statement); the event then counts as having a task (`processedAtIntake` is
   * overridden to false).
   */
  async insertWithTasks(
    db: Queryable,
    event: NewEvent,
    tasks: NewTask[],
    ifPending: PendingOutcomeTask | null = null,
  ): Promise<InsertResult> {
    const guard = event.payloadGuard ?? null;
    const params = [
      event.deliveryId,
      event.eventType,
      event.action,
      event.repository,
      event.installationId,
      event.senderLogin,
      event.payloadJson,
      JSON.stringify(event.headers),
      event.processedAtIntake,
      event.receivedVia,
      eventTasksParameter(tasks),
      guard?.sha256 ?? null,
      guard?.windowHours ?? 0,
      ifPending === null ? null : eventTasksParameter([ifPending.task]),
      ifPending?.repository.toLowerCase() ?? null,
      ifPending === null ? null : [...ifPending.prNumbers],
      ifPending?.sha ?? null,
      ifPending?.check?.scope ?? null,
      ifPending?.check?.name ?? null,
    ];
    try {
      const rows: Array<{ event_id: string | null; payload_ok: boolean; judged: boolean }> =
        await db.query(INTAKE_STATEMENT, params);
      const id = rows[0]?.event_id;
      if (id !== null && id !== undefined) {
        return { kind: 'stored', eventId: Number(id), judged: rows[0].judged === true };
      }
      return rows[0]?.payload_ok === false
        ? { kind: 'duplicate_payload' }
        : { kind: 'duplicate_delivery' };
    } catch (error) {
      if (INVALID_JSON_TEXT.has((error as { code?: string }).code ?? '')) {
        throw new InvalidStoredJsonError((error as Error).message);
      }
      if (UNSTORABLE_JSON.has((error as { code?: string }).code ?? '')) {
        throw new UnstorableJsonError((error as Error).message);
      }
      throw error;
    }
  }

  /**
   * An event is processed once none of its tasks is live; its error names the failed tasks of
   * this round (a cancelled task is not a failure). Events with a live task are left as they are.
   */
  async markProcessedIfDone(db: Queryable, eventIds: number[]): Promise<void> {
    if (eventIds.length === 0) return;
    await db.query(
      `UPDATE webhook_events e SET processed = true, processing_completed_at = now(), updated_at = now(),
         error_message = (
           SELECT CASE WHEN count(*) = 0 THEN NULL
             ELSE count(*) || ' task(s) failed: ' || string_agg(t.task_type, ', ' ORDER BY t.id) END
           FROM workflow_tasks t WHERE t.webhook_event_id = e.id AND t.status = 'failed'
             -- Only this round: tasks replaced by a reprocess are history.
             AND t.created_at >= coalesce(e.processing_started_at, '-infinity'))
       WHERE e.id = ANY($1::bigint[]) AND NOT EXISTS (
         SELECT 1 FROM workflow_tasks t
         WHERE t.webhook_event_id = e.id AND t.status IN ('pending', 'queued', 'running'))`,
      [eventIds],
    );
  }

  /** A task of this event is live again (released, retried): the event is live until it ends. */
  async reopen(db: Queryable, eventId: number): Promise<void> {
    await db.query(
      `UPDATE webhook_events SET processed = false, processing_completed_at = NULL, updated_at = now()
       WHERE id = $1`,
      [eventId],
    );
  }

  /**
   * A reprocess starts a new round for the event: counted, error cleared, processed only when
   * the round has no task (`live` false).
   */
  async startNewRound(db: Queryable, eventId: number, live: boolean): Promise<void> {
    await db.query(
      `UPDATE webhook_events SET retry_count = retry_count + 1, error_message = NULL, updated_at = now(),
         processed = $2, processing_started_at = now(),
         processing_completed_at = CASE WHEN $2 THEN now() ELSE NULL END
       WHERE id = $1`,
      [eventId, !live],
    );
  }

  /**
   * Retention's choice of events: up to `limit` created before `cutoff` with no live task,
   * oldest first, locked until the caller's transaction ends (a reprocess adding tasks to one
   * of them waits, then finds it gone). Run with {@link deleteEvents} in one transaction.
   */
  async lockEndedBefore(m: Queryable, cutoff: Date, limit: number): Promise<EventRef[]> {
    const rows = await m.query<Array<{ id: string; delivery_id: string }>>(
      `SELECT e.id, e.delivery_id FROM webhook_events e
        WHERE e.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM workflow_tasks t
                          WHERE t.webhook_event_id = e.id AND t.status IN ('pending', 'queued', 'running'))
        ORDER BY e.id LIMIT $2
        FOR UPDATE OF e`,
      [cutoff, limit],
    );
    return rows.map((r) => ({ id: Number(r.id), deliveryId: r.delivery_id }));
  }

  /** Deletes these events with their delivery-id guard rows; returns how many events went. */
  async deleteEvents(db: Queryable, events: readonly EventRef[]): Promise<number> {
    if (events.length === 0) return 0;
    const rows = await db.query<Array<{ events: string }>>(
      `WITH victims AS (
         SELECT * FROM unnest($1::bigint[], $2::varchar[]) AS v(id, delivery_id)
       ), guards_deleted AS (
         DELETE FROM webhook_deliveries g USING victims v
          WHERE g.delivery_id = v.delivery_id AND g.event_id = v.id
       ), deleted AS (
         DELETE FROM webhook_events WHERE id IN (SELECT id FROM victims) RETURNING id
       )
       SELECT count(*) AS events FROM deleted`,
      [events.map((e) => e.id), events.map((e) => e.deliveryId)],
    );
    return Number(rows[0].events);
  }

  /** Up to `limit` event ids of one partition (or detached month) after `afterId`, in order. */
  async idsIn(db: Queryable, table: string, afterId: number, limit: number): Promise<number[]> {
    const rows = await db.query<Array<{ id: string }>>(
      `SELECT id FROM ${table} WHERE id > $1 ORDER BY id LIMIT $2`,
      [afterId, limit],
    );
    return rows.map((r) => Number(r.id));
  }

  /**
   * Deletes the delivery-id guard rows of up to `limit` events of a detached month after
   * `afterId` (the month is dropped whole afterwards); returns the last event id seen and how
   * many events the batch covered.
   */
  async deleteGuardsOfRetired(
    db: Queryable,
    table: string,
    afterId: number,
    limit: number,
  ): Promise<{ last: number; events: number }> {
    const rows = await db.query<Array<{ last: string | null; n: string }>>(
      `WITH events AS (
         SELECT id, delivery_id FROM ${table} WHERE id > $1 ORDER BY id LIMIT $2
       ), deleted AS (
         DELETE FROM webhook_deliveries g USING events e
          WHERE g.delivery_id = e.delivery_id AND g.event_id = e.id
       )
       SELECT max(id) AS last, count(*) AS n FROM events`,
      [afterId, limit],
    );
    return { last: Number(rows[0].last ?? afterId), events: Number(rows[0].n) };
  }

  /**
   * Up to `limit` payload replay guard rows stored before `cutoff`. The guard's window is at most
   * MIN_RETENTION_DAYS, so a row older than any retention cutoff guards nothing any more.
   */
  async deletePayloadDigestsBefore(db: Queryable, cutoff: Date, limit: number): Promise<number> {
    const rows = await db.query<Array<{ deleted: string }>>(
      `WITH victims AS (
         SELECT digest FROM webhook_payload_digests WHERE stored_at < $1 LIMIT $2
       ), deleted AS (
         DELETE FROM webhook_payload_digests d USING victims v
          WHERE d.digest = v.digest AND d.stored_at < $1 RETURNING 1
       )
       SELECT count(*) AS deleted FROM deleted`,
      [cutoff, limit],
    );
    return Number(rows[0].deleted);
  }
}

/** An event as retention deletes it: its id and the delivery id of its guard row. */
export interface EventRef {
  id: number;
  deliveryId: string;
}
