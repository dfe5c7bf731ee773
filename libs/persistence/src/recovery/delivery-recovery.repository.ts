import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ExclusiveRunRepository } from '../jobs/exclusive-run.repository';
import { returnedRows } from '../database/sql-results';
import { DeliveryRecoveryTrigger, TaskCreationRepository } from '../tasks/task-creation.repository';

/** Advisory lock held for a whole recovery pass, so one worker at a time walks the log. */
export const DELIVERY_RECOVERY_RUN_LOCK_KEY = '8122019431770004601';
/** Advisory lock held while deciding whether a scheduled pass is due (one task per interval). */
export const DELIVERY_RECOVERY_SCHEDULE_LOCK_KEY = '8122019431770004602';

/** Progress through one webhook's delivery log. Ids are GitHub's delivery (attempt) ids. */
export interface DeliveryRecoveryCursor {
  /** Every attempt with an id up to this one has been examined; null before the first pass. */
  lastDeliveryId: number | null;
  /** Where an unfinished walk resumes (GitHub's page cursor); null when none is unfinished. */
  walkPageCursor: string | null;
  /** Newest settled attempt the unfinished walk has examined. */
  walkMaxId: number | null;
  /** Oldest attempt the walk skipped as too fresh; the cursor must stay below it. */
  walkMinFreshId: number | null;
}

/** A redelivery about to be asked for. */
export interface RedeliveryClaim {
  guid: string;
  source: string;
  deliveryId: number;
  eventType: string | null;
  action: string | null;
  taskId: string | null;
}

/**
 * Persistence of delivery recovery: its cursor and the redeliveries it asked for (the tables
 * `delivery_recovery_state` and `delivery_redelivery_requests`); its tasks are created by the
 * task owner, under this repository's schedule lock.
 */
@Injectable()
export class DeliveryRecoveryRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tasks: TaskCreationRepository,
  ) {}

  /** A tracked `delivery_recovery` task (pending; the caller enqueues it). */
  createTask(trigger: DeliveryRecoveryTrigger, requestedBy: string): Promise<string> {
    return this.tasks.createRecovery(this.dataSource, trigger, requestedBy);
  }

  /**
   * Creates a scheduled task unless one is live or one was created less than `intervalMs` ago;
   * several workers ticking at once create one task between them (the schedule lock, held for
   * the transaction, serialises them). Returns its id, or null.
   */
  async createScheduledTaskIfDue(intervalMs: number): Promise<string | null> {
    return this.dataSource.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1::bigint)', [
        DELIVERY_RECOVERY_SCHEDULE_LOCK_KEY,
      ]);
      return this.tasks.createScheduledRecoveryIfDue(m, intervalMs);
    });
  }

  /**
   * Runs `work` holding the recovery lock on a session of its own (logged as an `exclusive_runs`
   * record of `holder`); `{ ran: false }` when another process holds it. PostgreSQL releases the
   * lock if this process dies.
   */
  async withRunLock<T>(
    work: () => Promise<T>,
    holder = 'unknown',
  ): Promise<{ ran: true; value: T } | { ran: false }> {
    return new ExclusiveRunRepository(this.dataSource).run('delivery_recovery', holder, work);
  }

  async loadCursor(source: string): Promise<DeliveryRecoveryCursor> {
    const rows: Array<Record<string, string | null>> = await this.dataSource.query(
      `SELECT last_delivery_id, walk_page_cursor, walk_max_id, walk_min_fresh_id
       FROM delivery_recovery_state WHERE source = $1`,
      [source],
    );
    const row = rows[0];
    return {
      lastDeliveryId: toNumber(row?.last_delivery_id),
      walkPageCursor: row?.walk_page_cursor ?? null,
      walkMaxId: toNumber(row?.walk_max_id),
      walkMinFreshId: toNumber(row?.walk_min_fresh_id),
    };
  }

  /** Saves where an unfinished walk stands (after each fully handled page). */
  async saveWalk(source: string, cursor: DeliveryRecoveryCursor): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO delivery_recovery_state (source, last_delivery_id, walk_page_cursor, walk_max_id,
         walk_min_fresh_id, last_run_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, now(), now())
       ON CONFLICT (source) DO UPDATE SET last_delivery_id = EXCLUDED.last_delivery_id,
         walk_page_cursor = EXCLUDED.walk_page_cursor, walk_max_id = EXCLUDED.walk_max_id,
         walk_min_fresh_id = EXCLUDED.walk_min_fresh_id, last_run_at = now(), updated_at = now()`,
      [
        source,
        cursor.lastDeliveryId,
        cursor.walkPageCursor,
        cursor.walkMaxId,
        cursor.walkMinFreshId,
      ],
    );
  }

  /** A walk reached the cursor (or the end of the log): the cursor moves up, the walk is done. */
  async completeWalk(
    source: string,
    lastDeliveryId: number | null,
    lastDeliveredAt: Date | null,
  ): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO delivery_recovery_state (source, last_delivery_id, last_delivered_at,
         last_run_at, last_completed_at, updated_at)
       VALUES ($1, $2, $3, now(), now(), now())
       ON CONFLICT (source) DO UPDATE SET
         last_delivery_id = greatest(delivery_recovery_state.last_delivery_id, EXCLUDED.last_delivery_id),
         last_delivered_at = greatest(delivery_recovery_state.last_delivered_at, EXCLUDED.last_delivered_at),
         walk_page_cursor = NULL, walk_max_id = NULL, walk_min_fresh_id = NULL,
         last_run_at = now(), last_completed_at = now(), updated_at = now()`,
      [source, lastDeliveryId, lastDeliveredAt],
    );
  }

  /** The given GUIDs that are stored (the delivery-id guard holds one row per stored event). */
  async storedDeliveryIds(guids: string[]): Promise<Set<string>> {
    if (guids.length === 0) return new Set();
    const rows: Array<{ delivery_id: string }> = await this.dataSource.query(
      `SELECT delivery_id FROM webhook_deliveries WHERE delivery_id = ANY($1::varchar[])`,
      [guids],
    );
    return new Set(rows.map((r) => r.delivery_id));
  }

  /** The given GUIDs whose redelivery was already asked for (or is being asked for). */
  async requestedGuids(guids: string[]): Promise<Set<string>> {
    if (guids.length === 0) return new Set();
    const rows: Array<{ guid: string }> = await this.dataSource.query(
      `SELECT guid FROM delivery_redelivery_requests WHERE guid = ANY($1::varchar[])`,
      [guids],
    );
    return new Set(rows.map((r) => r.guid));
  }

  /**
   * Records that a redelivery is about to be asked for; false when it already was. Written
   * before the request, so a crash in between can never lead to asking twice.
   */
  async claimRedelivery(claim: RedeliveryClaim): Promise<boolean> {
    const rows = returnedRows(
      await this.dataSource.query(
        `INSERT INTO delivery_redelivery_requests (guid, source, delivery_id, event_type, action,
           status, task_id)
         VALUES ($1, $2, $3, $4, $5, 'requesting', $6)
         ON CONFLICT (guid) DO NOTHING RETURNING guid`,
        [
          claim.guid,
          claim.source.slice(0, 255),
          claim.deliveryId,
          claim.eventType?.slice(0, 64) ?? null,
          claim.action?.slice(0, 64) ?? null,
          claim.taskId,
        ],
      ),
    );
    return rows.length === 1;
  }

  /** GitHub took the request, or refused it for good (`failed`, with its reason). */
  async finishRedelivery(
    guid: string,
    status: 'requested' | 'failed',
    error: string | null = null,
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE delivery_redelivery_requests SET status = $2, error_message = $3, updated_at = now()
       WHERE guid = $1`,
      [guid, status, error?.slice(0, 2000) ?? null],
    );
  }

  /** GitHub answered that it could not take the request (429, 5xx): a later pass may ask again. */
  async releaseRedelivery(guid: string): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM delivery_redelivery_requests WHERE guid = $1 AND status = 'requesting'`,
      [guid],
    );
  }

  /** Requests older than GitHub's log can be forgotten: their deliveries can never be listed again. */
  async pruneRequests(olderThanDays: number): Promise<number> {
    const rows = returnedRows(
      await this.dataSource.query(
        `DELETE FROM delivery_redelivery_requests
         WHERE requested_at < now() - ($1::int * interval '1 day') RETURNING guid`,
        [olderThanDays],
      ),
    );
    return rows.length;
  }
}

function toNumber(value: string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}
