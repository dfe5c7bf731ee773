/**
 * The online migration of `webhook_events` to monthly partitions, timed on a copy of the paging
 * bench's dataset while intake keeps writing. Run with
 * `npx ts-node --transpile-only -r tsconfig-paths/register bench/partition-migration.ts`.
 *
 * Creates `orchestrator_partmig_<id>` on the local PostgreSQL, applies every migration before
 * the partitioning one, fills PARTITION_ROWS events and tasks (default 1,000,000) with the paging
 * bench's builder, then runs the partitioning migration while PARTITION_WRITERS connections
 * (default 4) store deliveries as intake does: the previous version's statement until the swap,
 * this version's after it (as a rolling upgrade would). Reports the migration's duration, the
 * writes during it and their latency (median, p99, max: the longest wait is the swap's lock),
 * then how long retention takes to drop the month the old table became, against deleting the
 * same rows in batches. Drops the database at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { TaskType } from '@app/domain';
import {
  buildDataSourceOptions,
  ensureEventPartitions,
  EVENTS_LEGACY_PARTITION,
  WebhookEventRepository,
  MIGRATIONS,
  monthStart,
  runRetention,
} from '@app/persistence';
import { BenchDatabase } from './database';
import { fillPagingDataset } from './paging-dataset';
import { localUrl } from './settings';

const ROWS = Number(process.env.PARTITION_ROWS ?? 1_000_000);
const WRITERS = Number(process.env.PARTITION_WRITERS ?? 4);
const ADMIN_URL = localUrl(
  'BENCH_DATABASE_ADMIN_URL',
  process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
);
const PARTITIONING = 'PartitionedWebhookEvents1796400000000';

/** What the previous version's intake runs: the UNIQUE (delivery_id) of the single table. */
const PREVIOUS_INTAKE = `WITH ev AS (
    INSERT INTO webhook_events (delivery_id, event_type, action, repository, payload, headers,
      processed, processing_started_at, received_via)
    VALUES ($1, 'pull_request', 'opened', 'octo-org/app', $2::jsonb, '{}'::jsonb, false, now(),
      'webhook')
    ON CONFLICT (delivery_id) DO NOTHING RETURNING id)
  INSERT INTO workflow_tasks (task_id, webhook_event_id, task_type, status)
  SELECT gen_random_uuid(), ev.id, 'pull_request_analysis', 'pending' FROM ev`;

async function dataSource(url: string, migrations: typeof MIGRATIONS): Promise<DataSource> {
  const ds = new DataSource({
    ...buildDataSourceOptions({
      databaseUrl: url,
      databasePoolSize: WRITERS + 2,
      databaseConnectTimeoutMs: 10_000,
      applicationName: 'bench-partitions',
    }),
    migrations,
    extra: { max: WRITERS + 2, query_timeout: 600_000 },
  });
  await ds.initialize();
  return ds;
}

/** Creates missing month partitions, on a connection of its own (each month is a transaction). */
async function ensureMonths(ds: DataSource, from: Date, ahead: number): Promise<void> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await ensureEventPartitions(runner, ahead, from);
  } finally {
    await runner.release();
  }
}

const seconds = (ms: number): string => (ms / 1000).toFixed(1);
const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

async function main(): Promise<void> {
  const runId = randomBytes(4).toString('hex');
  const db = new BenchDatabase(ADMIN_URL, `orchestrator_partmig_${runId}`);
  await db.create();
  const sources: DataSource[] = [];
  const pool = new Pool({ connectionString: db.url, max: WRITERS });
  try {
    const before = await dataSource(
      db.url,
      MIGRATIONS.filter((M) => new M().name !== PARTITIONING),
    );
    sources.push(before);
    await before.runMigrations({ transaction: 'each' });
    const filling = performance.now();
    await fillPagingDataset(db.url, ROWS);
    console.log(
      `[partitions] ${ROWS.toLocaleString('en')} events and tasks written in ${seconds(performance.now() - filling)} s`,
    );
    const [{ size }] = await before.query<Array<{ size: string }>>(
      `SELECT pg_size_pretty(pg_total_relation_size('webhook_events')) AS size`,
    );

    // Intake keeps writing through the migration.
    let stop = false;
    let swapped = false;
    let refused = 0;
    const latencies: number[] = [];
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const guid = `live-${w}-${i}-${randomUUID()}`;
        const started = performance.now();
        try {
          if (!swapped) {
            await pool.query(PREVIOUS_INTAKE, [guid, '{"action":"opened","number":1}']);
          } else {
            await new WebhookEventRepository().insertWithTasks(
              pool,
              {
                deliveryId: guid,
                eventType: 'pull_request',
                action: 'opened',
                repository: 'octo-org/app',
                installationId: null,
                senderLogin: null,
                payloadJson: '{"action":"opened","number":1}',
                headers: {},
                processedAtIntake: false,
                receivedVia: 'webhook',
              },
              [
                {
                  taskId: randomUUID(),
                  taskType: TaskType.PullRequestAnalysis,
                  repository: 'octo-org/app',
                  prNumber: 1,
                  branch: null,
                  commitSha: null,
                  inputData: {},
                  maxRetries: 3,
                },
              ],
            );
          }
          latencies.push(performance.now() - started);
        } catch (error) {
          // 42P10: the previous version's ON CONFLICT (delivery_id) after the swap.
          if ((error as { code?: string }).code !== '42P10') throw error;
          refused++;
          swapped = true;
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = await dataSource(db.url, MIGRATIONS);
    sources.push(after);
    const migrating = performance.now();
    const written = latencies.length;
    await after.runMigrations({ transaction: 'each' });
    const migrationMs = performance.now() - migrating;
    const during = latencies.slice(written);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stop = true;
    await Promise.all(writers);
    const sorted = [...during].sort((a, b) => a - b);
    console.log(`\n| online migration, ${ROWS.toLocaleString('en')} rows (${size}) | figure |`);
    console.log('| --- | --- |');
    console.log(`| migration, start to end | ${seconds(migrationMs)} s |`);
    console.log(
      `| deliveries stored while it ran (${WRITERS} writers) | ${during.length.toLocaleString('en')} |`,
    );
    console.log(
      `| their latency: median / p99 / max | ${pct(sorted, 0.5).toFixed(1)} / ${pct(sorted, 0.99).toFixed(1)} / ${(sorted[sorted.length - 1] ?? 0).toFixed(1)} ms |`,
    );
    console.log(`| previous-version statements refused after the swap | ${refused} |`);

    // Retention on the same rows, moved 120 days back: months dropped whole, then (a task of
    // each month kept running, so no month can go) the same rows deleted in batches.
    await after.query(`ALTER TABLE webhook_events DETACH PARTITION ${EVENTS_LEGACY_PARTITION}`);
    const from = monthStart(new Date(Date.now() - 150 * 86_400_000));
    await ensureMonths(after, from, 2);
    const cases: Array<[string, boolean]> = [
      ['months dropped whole', false],
      ['rows deleted in batches (the previous retention)', true],
    ];
    console.log(`
| retention of ${ROWS.toLocaleString('en')} events and their tasks | seconds |`);
    console.log('| --- | --- |');
    for (const [label, holdMonths] of cases) {
      await after.query(
        `INSERT INTO webhook_events SELECT * FROM ${EVENTS_LEGACY_PARTITION}
          WHERE delivery_id LIKE 'paging-%'`,
      );
      await after.query(
        `UPDATE webhook_events SET created_at = created_at - interval '120 days'
          WHERE delivery_id LIKE 'paging-%'`,
      );
      await after.query(
        `INSERT INTO webhook_deliveries (delivery_id, event_id, received_at)
         SELECT delivery_id, id, created_at FROM webhook_events WHERE delivery_id LIKE 'paging-%'
         ON CONFLICT (delivery_id) DO NOTHING`,
      );
      await after.query(
        `INSERT INTO workflow_tasks (task_id, webhook_event_id, task_type, status)
         SELECT gen_random_uuid(), id, 'push_analysis', 'completed' FROM webhook_events
          WHERE delivery_id LIKE 'paging-%'
            AND NOT EXISTS (SELECT 1 FROM workflow_tasks t WHERE t.webhook_event_id = webhook_events.id)`,
      );
      await after.query(
        `UPDATE workflow_tasks SET status = $1 WHERE status IN ('pending', 'queued', 'running')`,
        ['completed'],
      );
      if (holdMonths) {
        await after.query(
          `UPDATE workflow_tasks SET status = 'running' WHERE webhook_event_id IN (
             SELECT DISTINCT ON (tableoid) id FROM webhook_events WHERE delivery_id LIKE 'paging-%'
              ORDER BY tableoid, id)`,
        );
      }
      await after.query('ANALYZE');
      const started = performance.now();
      const result = await runRetention(after, 30, 1000);
      console.log(
        `| ${label}: ${result.eventsDeleted.toLocaleString('en')} events, ${result.tasksDeleted.toLocaleString('en')} tasks, ${result.partitionsDropped.length} months dropped | ${seconds(performance.now() - started)} |`,
      );
      if (!holdMonths) await ensureMonths(after, from, 2);
    }
  } finally {
    await pool.end();
    for (const ds of sources) await ds.destroy().catch(() => undefined);
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
