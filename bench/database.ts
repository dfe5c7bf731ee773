import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { Client, Pool } from 'pg';
import type { QueryRunner } from 'typeorm';
import { MIGRATIONS } from '@app/persistence';
import { bullPrefix } from '@app/runtime';

const run = promisify(execFile);

/** The schema holding the baseline's tables, next to the orchestrator's in `public`. */
export const BASELINE_SCHEMA = 'baseline';

/** A database of the bench's own, created at start and dropped at the end. */
export class BenchDatabase {
  readonly url: string;
  private pool: Pool | null = null;

  constructor(
    private readonly adminUrl: string,
    readonly name: string,
  ) {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    this.url = url.toString();
  }

  async create(): Promise<void> {
    await this.admin(`CREATE DATABASE ${this.name}`);
  }

  async drop(): Promise<void> {
    await this.pool?.end();
    this.pool = null;
    await this.admin(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
  }

  /** Applies the migrations with the built runner, as a deployment does. */
  async migrate(appDir: string): Promise<string> {
    const { stdout } = await run(
      process.execPath,
      [`${appDir}/libs/persistence/src/database/migrate.js`],
      { env: { PATH: process.env.PATH ?? '', DATABASE_URL: this.url } },
    );
    return stdout.trim();
  }

  /**
   * The baseline's tables: the schema as the first migration created it (same columns, indexes,
   * constraints and foreign keys), in a schema of its own, without any later tuning.
   */
  async createBaselineSchema(): Promise<void> {
    const initial = MIGRATIONS[0];
    const client = new Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${BASELINE_SCHEMA}`);
      await client.query(`SET search_path = ${BASELINE_SCHEMA}`);
      // The migration only calls query(); a pg client stands in for TypeORM's runner.
      const runner = { query: (sql: string) => client.query(sql) } as unknown as QueryRunner;
      await new initial().up(runner);
    } finally {
      await client.end();
    }
  }

  async setPayloadCompression(method: 'pglz' | 'lz4'): Promise<void> {
    await this.db().query(
      `ALTER TABLE public.webhook_events ALTER COLUMN payload SET COMPRESSION ${method}`,
    );
  }

  db(): Pool {
    this.pool ??= new Pool({ connectionString: this.url, max: 2 });
    return this.pool;
  }

  async settings(): Promise<Record<string, string>> {
    const { rows } = await this.db().query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
       WHERE name IN ('server_version', 'shared_buffers', 'synchronous_commit', 'max_connections',
         'default_toast_compression', 'wal_level', 'fsync')`,
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  }

  /** Server processes (backends) of this database used by clients named `applicationName`. */
  async backendPids(applicationName: string): Promise<number[]> {
    const { rows } = await this.db().query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`,
      [this.name, applicationName],
    );
    return rows.map((r) => r.pid);
  }

  /** Of `deliveryIds`, how many are stored in `schema`, and how many of those have a task. */
  async countStored(
    schema: string,
    deliveryIds: string[],
  ): Promise<{ events: number; withTask: number }> {
    let events = 0;
    let withTask = 0;
    for (let i = 0; i < deliveryIds.length; i += 10_000) {
      const { rows } = await this.db().query<{ events: string; with_task: string }>(
        `SELECT count(*) AS events,
           count(*) FILTER (WHERE EXISTS (
             SELECT 1 FROM ${schema}.workflow_tasks t WHERE t.webhook_event_id = e.id)) AS with_task
         FROM ${schema}.webhook_events e WHERE e.delivery_id = ANY($1::text[])`,
        [deliveryIds.slice(i, i + 10_000)],
      );
      events += Number(rows[0].events);
      withTask += Number(rows[0].with_task);
    }
    return { events, withTask };
  }

  /** Task status counts of the orchestrator's tables. */
  async taskStatuses(): Promise<Record<string, number>> {
    const { rows } = await this.db().query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM public.workflow_tasks GROUP BY status`,
    );
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Completion time (epoch ms) and status of the task of each delivery. */
  async completions(
    deliveryIds: string[],
  ): Promise<Array<{ deliveryId: string; status: string; completedMs: number | null }>> {
    const out: Array<{ deliveryId: string; status: string; completedMs: number | null }> = [];
    for (let i = 0; i < deliveryIds.length; i += 10_000) {
      const { rows } = await this.db().query<{
        delivery_id: string;
        status: string;
        completed_ms: string | null;
      }>(
        `SELECT e.delivery_id, t.status,
           (extract(epoch FROM t.completed_at) * 1000)::float8 AS completed_ms
         FROM public.webhook_events e JOIN public.workflow_tasks t ON t.webhook_event_id = e.id
         WHERE e.delivery_id = ANY($1::text[])`,
        [deliveryIds.slice(i, i + 10_000)],
      );
      for (const r of rows) {
        out.push({
          deliveryId: r.delivery_id,
          status: r.status,
          completedMs: r.completed_ms === null ? null : Number(r.completed_ms),
        });
      }
    }
    return out;
  }

  async countUnfinished(deliveryIds: string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < deliveryIds.length; i += 10_000) {
      const { rows } = await this.db().query<{ n: string }>(
        `SELECT count(*) AS n
         FROM public.webhook_events e JOIN public.workflow_tasks t ON t.webhook_event_id = e.id
         WHERE e.delivery_id = ANY($1::text[])
           AND t.status NOT IN ('completed', 'failed', 'cancelled')`,
        [deliveryIds.slice(i, i + 10_000)],
      );
      n += Number(rows[0].n);
    }
    return n;
  }

  /** Empties the orchestrator's tables (between the intake and end-to-end phases). */
  async truncateOrchestratorTables(): Promise<void> {
    await this.db().query(
      `TRUNCATE public.webhook_events, public.webhook_deliveries, public.webhook_payload_digests, public.workflow_tasks, public.task_executions
       RESTART IDENTITY CASCADE`,
    );
  }

  private async admin(sql: string): Promise<void> {
    const client = new Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

/** Deletes every Redis key under the given Bull prefixes. */
export async function deleteRedisPrefixes(redisUrl: string, prefixes: string[]): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let deleted = 0;
  try {
    for (const prefix of prefixes.flatMap((p) => [p, bullPrefix(p)])) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Version and process id of the Redis server (same machine). */
export async function redisServer(redisUrl: string): Promise<{ version: string; pid: number }> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    const info = await redis.info('server');
    return {
      version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      pid: Number(/process_id:(\d+)/.exec(info)?.[1] ?? -1),
    };
  } finally {
    redis.disconnect();
  }
}
