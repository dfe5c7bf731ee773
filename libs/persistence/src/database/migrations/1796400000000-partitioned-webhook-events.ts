import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  EVENTS_DEFAULT_PARTITION,
  EVENTS_LEGACY_PARTITION,
  ensureEventPartitions,
  sql,
} from '../../events/event-partitions';

const GUARD_TRIGGER = 'webhook_deliveries_backfill';
const LEGACY_KEY_INDEX = 'webhook_events_legacy_key';
const LEGACY_RANGE_CHECK = 'ck_webhook_events_legacy_range';
const BACKFILL_BATCH = 20_000;
const SWAP_ATTEMPTS = 20;

/**
 * `webhook_events` partitioned by month on `created_at`, online (docs/partitioning.md):
 *
 * 1. `webhook_deliveries` (the delivery-id guard: one row per stored event, primary key on the
 *    delivery id) is created, a trigger keeps it current for rows the running apps insert, and
 *    the existing rows are copied in batches.
 * 2. The old table gets, without blocking writes, what it needs to become a partition: a unique
 *    index on (id, created_at) (CONCURRENTLY) and a validated CHECK for its range.
 * 3. One short transaction swaps the names: the old table becomes `webhook_events_legacy`,
 *    attached for everything before the first month boundary after its newest row (no scan, no
 *    index build, no row copied), next to a DEFAULT partition and the months ahead.
 *
 * The delivery-id UNIQUE constraint cannot span partitions (it would have to include
 * `created_at`), so the guard table holds it; and `workflow_tasks.webhook_event_id` loses its
 * foreign key (a key to a partitioned table must name the partition key too, and a referenced
 * partition could not be dropped). Intake writes an event, its guard row and its tasks in one
 * statement; retention deletes a month's tasks and guard rows before it drops the month.
 *
 * Runs outside a transaction (CREATE INDEX CONCURRENTLY cannot run in one); every step can run
 * again after an interruption.
 */
export class PartitionedWebhookEvents1796400000000 implements MigrationInterface {
  name = 'PartitionedWebhookEvents1796400000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    if (await isPartitioned(q)) {
      await ensureEventPartitions(q);
      return;
    }
    await q.query(`
      CREATE TABLE IF NOT EXISTS webhook_deliveries (
        delivery_id varchar(64) PRIMARY KEY,
        event_id bigint NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Rows committed after this trigger exists write their own guard row; CREATE TRIGGER waits
    // for inserts in flight, so every row is either visible to the copy below or fires it.
    await q.query(`
      CREATE OR REPLACE FUNCTION ${GUARD_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO webhook_deliveries (delivery_id, event_id, received_at)
        VALUES (NEW.delivery_id, NEW.id, NEW.created_at) ON CONFLICT (delivery_id) DO NOTHING;
        RETURN NULL;
      END $$`);
    await q.query(`DROP TRIGGER IF EXISTS ${GUARD_TRIGGER} ON webhook_events`);
    await q.query(
      `CREATE TRIGGER ${GUARD_TRIGGER} AFTER INSERT ON webhook_events
         FOR EACH ROW EXECUTE FUNCTION ${GUARD_TRIGGER}()`,
    );
    for (let last = 0; ;) {
      const rows = await sql<Array<{ last: string | null; n: string }>>(
        q,
        `WITH batch AS (
           SELECT id, delivery_id, created_at FROM webhook_events
            WHERE id > $1 ORDER BY id LIMIT ${BACKFILL_BATCH}
         ), copied AS (
           INSERT INTO webhook_deliveries (delivery_id, event_id, received_at)
           SELECT delivery_id, id, created_at FROM batch ON CONFLICT (delivery_id) DO NOTHING
         )
         SELECT max(id) AS last, count(*) AS n FROM batch`,
        [last],
      );
      if (Number(rows[0].n) < BACKFILL_BATCH) break;
      last = Number(rows[0].last);
    }

    // The key a partition of the new table needs, built without blocking writes.
    const invalid = await sql<unknown[]>(
      q,
      `SELECT 1 FROM pg_index WHERE indexrelid = to_regclass($1) AND NOT indisvalid`,
      [LEGACY_KEY_INDEX],
    );
    if (invalid.length > 0) await q.query(`DROP INDEX CONCURRENTLY ${LEGACY_KEY_INDEX}`);
    await q.query(
      `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${LEGACY_KEY_INDEX}
         ON webhook_events (id, created_at)`,
    );

    // The old table's range ends at the first month boundary after its newest row and at least
    // a day from now (rows keep arriving until the swap); an empty table ends at this month.
    const [{ bound }] = await sql<Array<{ bound: Date }>>(
      q,
      `SELECT CASE WHEN max(created_at) IS NULL
                THEN date_trunc('month', now() AT TIME ZONE 'UTC')
                ELSE date_trunc('month', greatest(max(created_at), now() + interval '1 day')
                                         AT TIME ZONE 'UTC') + interval '1 month'
              END AT TIME ZONE 'UTC' AS bound
         FROM webhook_events`,
    );
    const upper = `'${bound.toISOString()}'`;
    await q.query(`ALTER TABLE webhook_events DROP CONSTRAINT IF EXISTS ${LEGACY_RANGE_CHECK}`);
    await q.query(
      `ALTER TABLE webhook_events ADD CONSTRAINT ${LEGACY_RANGE_CHECK}
         CHECK (created_at < ${upper}) NOT VALID`,
    );
    // VALIDATE takes SHARE UPDATE EXCLUSIVE: intake keeps writing while it scans.
    await q.query(`ALTER TABLE webhook_events VALIDATE CONSTRAINT ${LEGACY_RANGE_CHECK}`);

    for (let attempt = 1; ; attempt++) {
      try {
        await swap(q, upper);
        break;
      } catch (error) {
        // 55P03: a long reader held the table; try again rather than queue intake behind it.
        if ((error as { code?: string }).code !== '55P03' || attempt >= SWAP_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
    await ensureEventPartitions(q);
  }

  async down(q: QueryRunner): Promise<void> {
    // Back to one table: copies every row (not online; for development databases).
    await q.startTransaction();
    try {
      await q.query(`ALTER TABLE webhook_events RENAME TO webhook_events_partitioned`);
      await q.query(
        `CREATE TABLE webhook_events (LIKE webhook_events_partitioned INCLUDING DEFAULTS
           INCLUDING CONSTRAINTS INCLUDING COMPRESSION INCLUDING STORAGE)`,
      );
      await q.query(`INSERT INTO webhook_events SELECT * FROM webhook_events_partitioned`);
      await q.query(`ALTER SEQUENCE webhook_events_id_seq OWNED BY webhook_events.id`);
      const indexes = await sql<Array<{ def: string }>>(
        q,
        `SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
          WHERE i.indrelid = 'webhook_events_partitioned'::regclass AND NOT i.indisprimary`,
      );
      await q.query(`DROP TABLE webhook_events_partitioned`);
      await q.query(`ALTER TABLE webhook_events ADD PRIMARY KEY (id)`);
      await q.query(
        `ALTER TABLE webhook_events ADD CONSTRAINT uq_webhook_events_delivery_id UNIQUE (delivery_id)`,
      );
      for (const { def } of indexes) {
        await q.query(
          def.replace(' ON ONLY public.webhook_events_partitioned ', ' ON webhook_events '),
        );
      }
      await q.query(`DELETE FROM workflow_tasks t WHERE t.webhook_event_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.id = t.webhook_event_id)`);
      await q.query(
        `ALTER TABLE workflow_tasks ADD CONSTRAINT workflow_tasks_webhook_event_id_fkey
           FOREIGN KEY (webhook_event_id) REFERENCES webhook_events (id) ON DELETE CASCADE`,
      );
      await q.query(`DROP TABLE webhook_deliveries`);
      await q.commitTransaction();
    } catch (error) {
      await q.rollbackTransaction();
      throw error;
    }
  }
}

async function isPartitioned(q: QueryRunner): Promise<boolean> {
  const rows = await sql<Array<{ kind: string }>>(
    q,
    `SELECT relkind AS kind FROM pg_class WHERE oid = to_regclass('webhook_events')`,
  );
  return rows[0]?.kind === 'p';
}

/** The name an index of the old table takes, so the new table's index can have its name. */
function legacyIndexName(name: string): string {
  const renamed = name.startsWith('ix_webhook_events_')
    ? `ix_webhook_events_legacy_${name.slice('ix_webhook_events_'.length)}`
    : `${name}_legacy`;
  return renamed.slice(0, 63);
}

async function swap(q: QueryRunner, upper: string): Promise<void> {
  await q.startTransaction();
  try {
    await q.query(`SET LOCAL lock_timeout = '2s'`);
    await q.query(`LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE`);
    await q.query(`DROP TRIGGER ${GUARD_TRIGGER} ON webhook_events`);
    await q.query(`DROP FUNCTION ${GUARD_TRIGGER}()`);
    const keys = await sql<Array<{ name: string; table: string }>>(
      q,
      `SELECT conname AS name, conrelid::regclass::text AS "table" FROM pg_constraint
        WHERE contype = 'f' AND confrelid = 'webhook_events'::regclass`,
    );
    for (const key of keys) {
      if (key.table !== 'workflow_tasks') {
        throw new Error(
          `${key.table}.${key.name} references webhook_events (id); a partitioned webhook_events ` +
            `cannot keep it: drop or reshape it in an earlier migration`,
        );
      }
      await q.query(`ALTER TABLE workflow_tasks DROP CONSTRAINT ${key.name}`);
    }
    // The new table's indexes are the old table's, minus the two keys it cannot have.
    const indexes = await sql<Array<{ name: string; def: string }>>(
      q,
      `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'webhook_events'::regclass
          AND c.relname NOT IN ('webhook_events_pkey', 'uq_webhook_events_delivery_id', $1)
        ORDER BY c.relname`,
      [LEGACY_KEY_INDEX],
    );
    await q.query(`ALTER TABLE webhook_events RENAME TO ${EVENTS_LEGACY_PARTITION}`);
    await q.query(
      `ALTER TABLE ${EVENTS_LEGACY_PARTITION} DROP CONSTRAINT uq_webhook_events_delivery_id`,
    );
    await q.query(`ALTER TABLE ${EVENTS_LEGACY_PARTITION} DROP CONSTRAINT webhook_events_pkey`);
    await q.query(
      `ALTER TABLE ${EVENTS_LEGACY_PARTITION} ADD CONSTRAINT webhook_events_legacy_pkey
         PRIMARY KEY USING INDEX ${LEGACY_KEY_INDEX}`,
    );
    for (const index of indexes) {
      await q.query(`ALTER INDEX ${index.name} RENAME TO ${legacyIndexName(index.name)}`);
    }
    await q.query(
      `CREATE TABLE webhook_events (
         LIKE ${EVENTS_LEGACY_PARTITION} INCLUDING DEFAULTS INCLUDING CONSTRAINTS
           INCLUDING COMPRESSION INCLUDING STORAGE,
         CONSTRAINT webhook_events_pkey PRIMARY KEY (id, created_at)
       ) PARTITION BY RANGE (created_at)`,
    );
    await q.query(`ALTER TABLE webhook_events DROP CONSTRAINT ${LEGACY_RANGE_CHECK}`);
    // Dropping the legacy partition some day must not drop the id sequence with it.
    await q.query(`ALTER SEQUENCE webhook_events_id_seq OWNED BY webhook_events.id`);
    for (const index of indexes) await q.query(index.def);
    // Every index matches one the old table has, so attaching builds nothing and scans nothing.
    await q.query(
      `ALTER TABLE webhook_events ATTACH PARTITION ${EVENTS_LEGACY_PARTITION}
         FOR VALUES FROM (MINVALUE) TO (${upper})`,
    );
    await q.query(`ALTER TABLE ${EVENTS_LEGACY_PARTITION} DROP CONSTRAINT ${LEGACY_RANGE_CHECK}`);
    await q.query(`CREATE TABLE ${EVENTS_DEFAULT_PARTITION} PARTITION OF webhook_events DEFAULT`);
    await q.commitTransaction();
  } catch (error) {
    await q.rollbackTransaction();
    throw error;
  }
}
