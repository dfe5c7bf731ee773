import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { TaskType } from '@app/domain';
import {
  buildDataSourceOptions,
  EVENTS_DEFAULT_PARTITION,
  EVENTS_LEGACY_PARTITION,
  ensureEventPartitions,
  WebhookEventRepository,
  listEventPartitions,
  maintainEventPartitions,
  monthPartitionName,
  monthStart,
  MIGRATIONS,
  NewEvent,
  runRetention,
} from '@app/persistence';

/*
 * `webhook_events` partitioned by month: the online migration from the single table, the
 * partitions the worker's job creates ahead, retention dropping whole months, and the
 * delivery-id guard across partitions. Each suite works on a database of its own (it reshapes
 * partitions), dropped at the end.
 */

const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const created: string[] = [];
const sources: DataSource[] = [];

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function database(migrations = MIGRATIONS): Promise<DataSource> {
  const name = `${process.env.TEST_DATABASE_NAME}_p${randomBytes(3).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  created.push(name);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return migrate(url.toString(), migrations);
}

async function migrate(url: string, migrations = MIGRATIONS): Promise<DataSource> {
  const ds = new DataSource({
    ...buildDataSourceOptions({
      databaseUrl: url,
      databasePoolSize: 4,
      databaseConnectTimeoutMs: 5000,
      applicationName: 'partitions-test',
    }),
    migrations,
  });
  await ds.initialize();
  sources.push(ds);
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}

afterAll(async () => {
  for (const ds of sources) await ds.destroy().catch(() => undefined);
  for (const name of created) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

function event(deliveryId: string): NewEvent {
  return {
    deliveryId,
    eventType: 'pull_request',
    action: 'opened',
    repository: 'octo-org/app',
    installationId: null,
    senderLogin: 'octocat',
    payloadJson: JSON.stringify({ action: 'opened', number: 1 }),
    headers: { 'x-github-event': 'pull_request' },
    processedAtIntake: false,
    receivedVia: 'webhook',
  };
}

async function store(ds: DataSource, deliveryId: string, tasks = 1): Promise<number | null> {
  const stored = await new WebhookEventRepository().insertWithTasks(
    ds,
    event(deliveryId),
    Array.from({ length: tasks }, () => ({
      taskId: randomUUID(),
      taskType: TaskType.PullRequestAnalysis,
      repository: 'octo-org/app',
      prNumber: 1,
      branch: null,
      commitSha: null,
      inputData: {},
      maxRetries: 3,
    })),
  );
  return stored.kind === 'stored' ? stored.eventId : null;
}

/** Moves an event (and its guard row's time) to another month, as if received then. */
async function receivedAt(ds: DataSource, eventId: number, at: Date): Promise<void> {
  await ds.query(`UPDATE webhook_events SET created_at = $2 WHERE id = $1`, [eventId, at]);
  await ds.query(`UPDATE webhook_deliveries SET received_at = $2 WHERE event_id = $1`, [
    eventId,
    at,
  ]);
}

async function partitionOf(ds: DataSource, eventId: number): Promise<string | null> {
  const rows = await ds.query<Array<{ p: string }>>(
    `SELECT tableoid::regclass::text AS p FROM webhook_events WHERE id = $1`,
    [eventId],
  );
  return rows[0]?.p ?? null;
}

const BEFORE_PARTITIONING = MIGRATIONS.filter(
  (M) => new M().name !== 'PartitionedWebhookEvents1796400000000',
);

/** Creates the partitions of `months` months from `from` that are missing. */
async function ensureMonths(ds: DataSource, from: Date, months: number): Promise<void> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await ensureEventPartitions(runner, months - 1, from);
  } finally {
    await runner.release();
  }
}

const urlOf = (ds: DataSource): string => (ds.options as { url: string }).url;

const count = async (ds: DataSource, sql: string, params: unknown[] = []): Promise<number> =>
  Number((await ds.query<Array<{ n: string }>>(sql, params))[0].n);

describe('online migration of webhook_events to monthly partitions', () => {
  it('keeps every row, its tasks and its delivery id, and the replay guard holds after it', async () => {
    const ds = await database(BEFORE_PARTITIONING);
    // Rows from four months back to now, with tasks, the way the single table held them.
    await ds.query(
      `INSERT INTO webhook_events (delivery_id, event_type, payload, created_at)
       SELECT 'old-' || g, 'push', jsonb_build_object('n', g), now() - (g * interval '1 hour')
         FROM generate_series(1, 3000) g`,
    );
    await ds.query(
      `INSERT INTO workflow_tasks (task_id, webhook_event_id, task_type, status)
       SELECT gen_random_uuid(), id, 'push_analysis', 'completed' FROM webhook_events`,
    );
    const [{ max }] = await ds.query<Array<{ max: string }>>(
      'SELECT max(id) AS max FROM webhook_events',
    );

    const after = await migrate(urlOf(ds));
    const [{ kind }] = await after.query<Array<{ kind: string }>>(
      `SELECT relkind AS kind FROM pg_class WHERE oid = 'webhook_events'::regclass`,
    );
    expect(kind).toBe('p');
    expect(await count(after, 'SELECT count(*) AS n FROM webhook_events')).toBe(3000);
    expect(await count(after, 'SELECT count(*) AS n FROM webhook_deliveries')).toBe(3000);
    expect(
      await count(
        after,
        `SELECT count(*) AS n FROM workflow_tasks t JOIN webhook_events e ON e.id = t.webhook_event_id`,
      ),
    ).toBe(3000);

    // The old table is the legacy partition, up to the month boundary after its newest row.
    const partitions = await listEventPartitions(after);
    const legacy = partitions.find((p) => p.name === EVENTS_LEGACY_PARTITION);
    expect(legacy?.from).toBeNull();
    expect(legacy?.to?.getUTCDate()).toBe(1);
    expect(partitions.some((p) => p.isDefault)).toBe(true);
    // Months ahead start where the legacy range ends.
    expect(partitions.some((p) => p.from?.getTime() === legacy?.to?.getTime())).toBe(true);

    // A stored id is a duplicate; a new one is stored, with an id after the old ones.
    expect(await store(after, 'old-17')).toBeNull();
    const fresh = await store(after, 'new-1');
    expect(fresh).toBeGreaterThan(Number(max));
    // No trigger, function or CHECK of the migration's own is left behind.
    expect(
      await count(
        after,
        `SELECT count(*) AS n FROM pg_trigger WHERE tgrelid = 'webhook_events_legacy'::regclass
            AND NOT tgisinternal`,
      ),
    ).toBe(0);
    expect(
      await count(
        after,
        `SELECT count(*) AS n FROM pg_constraint WHERE conname = 'ck_webhook_events_legacy_range'`,
      ),
    ).toBe(0);
  });

  it('keeps rows inserted while the guard was being filled in, each guarded once', async () => {
    const ds = await database(BEFORE_PARTITIONING);
    await ds.query(
      `INSERT INTO webhook_events (delivery_id, event_type, payload)
       SELECT 'seed-' || g, 'push', '{}' FROM generate_series(1, 50000) g`,
    );
    // The running (old) apps keep inserting through the single table until the swap.
    let stop = false;
    let written = 0;
    const writer = (async () => {
      while (!stop) {
        try {
          await ds.query(
            `INSERT INTO webhook_events (delivery_id, event_type, payload)
             VALUES ($1, 'push', '{}') ON CONFLICT (delivery_id) DO NOTHING`,
            [`live-${written}`],
          );
          written++;
        } catch {
          // After the swap the old statement has no UNIQUE (delivery_id) to lean on.
          stop = true;
        }
      }
    })();
    const after = await migrate(urlOf(ds));
    stop = true;
    await writer;
    expect(written).toBeGreaterThan(0);
    const events = await count(after, 'SELECT count(*) AS n FROM webhook_events');
    expect(events).toBe(50000 + written);
    expect(await count(after, 'SELECT count(*) AS n FROM webhook_deliveries')).toBe(events);
    expect(
      await count(
        after,
        `SELECT count(*) AS n FROM webhook_events e
           JOIN webhook_deliveries g ON g.delivery_id = e.delivery_id AND g.event_id = e.id`,
      ),
    ).toBe(events);
  });
});

describe('monthly partitions of webhook_events', () => {
  let ds: DataSource;
  const now = new Date();

  beforeAll(async () => {
    ds = await database();
    // As if partitioned long ago: no legacy range, months from five back to three ahead.
    await ds.query(`ALTER TABLE webhook_events DETACH PARTITION ${EVENTS_LEGACY_PARTITION}`);
    await ds.query(`DROP TABLE ${EVENTS_LEGACY_PARTITION}`);
    await ensureMonths(ds, monthStart(now, -5), 9);
  });

  beforeEach(async () => {
    await ds.query('TRUNCATE webhook_events, webhook_deliveries, workflow_tasks CASCADE');
  });

  it('the partition job creates this month and the next three, and fills gaps it finds', async () => {
    const ahead = monthPartitionName(monthStart(now, 3));
    await ds.query(`DROP TABLE ${ahead}`);
    expect((await listEventPartitions(ds)).map((p) => p.name)).not.toContain(ahead);
    const result = await maintainEventPartitions(ds);
    expect(result?.created).toEqual([ahead]);
    const names = (await listEventPartitions(ds)).map((p) => p.name);
    for (let i = 0; i <= 3; i++) expect(names).toContain(monthPartitionName(monthStart(now, i)));
    // Again: nothing to do.
    expect((await maintainEventPartitions(ds))?.created).toEqual([]);
  });

  it('intake never fails for want of a partition: the DEFAULT partition takes the row, the job moves it', async () => {
    const far = monthStart(now, 6);
    const id = await store(ds, 'far-future');
    await receivedAt(ds, id as number, new Date(far.getTime() + 3_600_000));
    expect(await partitionOf(ds, id as number)).toBe(EVENTS_DEFAULT_PARTITION);

    const result = await maintainEventPartitions(ds);
    expect(result?.created).toContain(monthPartitionName(far));
    expect(result?.rowsMoved).toBe(1);
    expect(await partitionOf(ds, id as number)).toBe(monthPartitionName(far));
    expect(await count(ds, `SELECT count(*) AS n FROM ${EVENTS_DEFAULT_PARTITION}`)).toBe(0);
    // Still one delivery, still a duplicate when it comes again.
    expect(await store(ds, 'far-future')).toBeNull();
    await ds.query(`DROP TABLE ${monthPartitionName(far)}`);
  });

  it('two workers running the job at once create each month once', async () => {
    const ahead = [monthStart(now, 2), monthStart(now, 3)].map(monthPartitionName);
    for (const name of ahead) await ds.query(`DROP TABLE ${name}`);
    const results = await Promise.all([maintainEventPartitions(ds), maintainEventPartitions(ds)]);
    const createdNames = results.flatMap((r) => r?.created ?? []);
    expect(createdNames.sort()).toEqual(ahead.sort());
  });

  it('a delivery id is a duplicate across partitions, and concurrent deliveries of one id store one event', async () => {
    const id = await store(ds, 'same-guid');
    // The first one now lives two months back, in another partition.
    await receivedAt(ds, id as number, monthStart(now, -2));
    expect(await partitionOf(ds, id as number)).toBe(monthPartitionName(monthStart(now, -2)));
    expect(await store(ds, 'same-guid')).toBeNull();

    const racers = await Promise.all(Array.from({ length: 8 }, () => store(ds, 'racing-guid', 2)));
    expect(racers.filter((r) => r !== null)).toHaveLength(1);
    expect(
      await count(ds, `SELECT count(*) AS n FROM webhook_events WHERE delivery_id = 'racing-guid'`),
    ).toBe(1);
    expect(await count(ds, 'SELECT count(*) AS n FROM workflow_tasks')).toBe(1 + 2);
  });

  it('retention drops whole months past the cutoff and deletes only the rows at the edge', async () => {
    const cutoff = new Date(now.getTime() - 30 * 86_400_000);
    const edgeMonth = monthStart(cutoff);
    const place = async (guid: string, at: Date, live = false): Promise<number> => {
      const id = (await store(ds, guid)) as number;
      await receivedAt(ds, id, at);
      await ds.query(`UPDATE workflow_tasks SET status = $2 WHERE webhook_event_id = $1`, [
        id,
        live ? 'running' : 'completed',
      ]);
      await ds.query(
        `INSERT INTO task_executions (execution_id, task_id, attempt, status, started_at, worker_id, queue_name)
         SELECT gen_random_uuid(), id, 1, 'completed', now(), 'w', 'q' FROM workflow_tasks
          WHERE webhook_event_id = $1`,
        [id],
      );
      return id;
    };
    const old = monthStart(cutoff, -2);
    const older = monthStart(cutoff, -3);
    await place('old-1', new Date(old.getTime() + 86_400_000));
    await place('old-2', new Date(old.getTime() + 2 * 86_400_000));
    // A month with a task still running keeps that event (row deletes skip it).
    const held = await place('older-live', new Date(older.getTime() + 86_400_000), true);
    await place('older-done', new Date(older.getTime() + 2 * 86_400_000));
    // At the edge: one row before the cutoff, one after (both in the cutoff's month or later).
    const beforeEdge = new Date(Math.max(edgeMonth.getTime(), cutoff.getTime() - 3_600_000));
    await place('edge-old', beforeEdge);
    const kept = await place('edge-new', new Date(cutoff.getTime() + 3_600_000));
    const recent = await place('recent', now);

    const result = await runRetention(ds, 30, 1);

    // Every month before the edge goes, empty ones too, but the one holding a live task.
    expect(result.partitionsDropped).toContain(monthPartitionName(old));
    expect(result.partitionsDropped).not.toContain(monthPartitionName(older));
    expect(result.eventsDeleted).toBe(2 + 1 + 1);
    expect(result.tasksDeleted).toBe(4);
    expect(result.executionsDeleted).toBe(4);
    const names = (await listEventPartitions(ds)).map((p) => p.name);
    expect(names).not.toContain(monthPartitionName(old));
    expect(names).toContain(monthPartitionName(older));
    expect(names).toContain(monthPartitionName(edgeMonth));

    const left = await ds.query<Array<{ id: string }>>('SELECT id FROM webhook_events ORDER BY id');
    expect(left.map((r) => Number(r.id))).toEqual([held, kept, recent]);
    const guards = await ds.query<Array<{ delivery_id: string }>>(
      'SELECT delivery_id FROM webhook_deliveries ORDER BY delivery_id',
    );
    expect(guards.map((g) => g.delivery_id)).toEqual(['edge-new', 'older-live', 'recent']);
    expect(await count(ds, 'SELECT count(*) AS n FROM workflow_tasks')).toBe(3);
    expect(await count(ds, 'SELECT count(*) AS n FROM task_executions')).toBe(3);
    // The dropped month is gone whole; the job would create it again only if rows came for it.
    expect(await store(ds, 'edge-new')).toBeNull();
  });

  it('retention finishes a month an interrupted run had detached', async () => {
    const month = monthStart(now, -4);
    await ensureMonths(ds, month, 1);
    const id = (await store(ds, 'interrupted')) as number;
    await receivedAt(ds, id, new Date(month.getTime() + 86_400_000));
    await ds.query(`DELETE FROM workflow_tasks WHERE webhook_event_id = $1`, [id]);
    const name = monthPartitionName(month);
    const retired = name.replace('webhook_events_', 'webhook_events_retired_');
    await ds.query(`ALTER TABLE webhook_events DETACH PARTITION ${name}`);
    await ds.query(`ALTER TABLE ${name} RENAME TO ${retired}`);

    const result = await runRetention(ds, 30, 1);
    expect(result.partitionsDropped).toContain(name);
    expect(
      await count(ds, `SELECT count(*) AS n FROM pg_class WHERE relname = $1`, [retired]),
    ).toBe(0);
    expect(
      await count(
        ds,
        `SELECT count(*) AS n FROM webhook_deliveries WHERE delivery_id = 'interrupted'`,
      ),
    ).toBe(0);
  });
});
