import type { Queue } from 'bull';
import { Gauge, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { QueueName } from '../queues/queue-names';
import { LIVE_TASK_STATUSES } from '@app/domain';
import type { WorkerHeartbeats } from '@app/platform';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'paused'] as const;

interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

interface LiveTaskRow {
  status: string;
  count: number | string;
  oldest_seconds: number | string | null;
}

interface SystemState {
  database: { live: Map<string, { count: number; oldestSeconds: number }> } | null;
  queues: Map<QueueName, Record<(typeof QUEUE_STATES)[number], number>> | null;
  workers: number | null;
}

/**
 * Gauges read at scrape time from the shared stores (PostgreSQL, Redis): live tasks and the age
 * of the oldest waiting one, Bull job counts, live workers, pool connections, and whether each
 * store answered. One refresh serves every gauge of a scrape, runs at most once per `cacheMs`,
 * and is bounded by `timeoutMs`, so a scrape never hangs on a dead store. Every instance reports
 * the same cluster-wide values: aggregate them with `max`, not `sum`.
 */
export class SystemStateCollector {
  private pending: Promise<SystemState> | null = null;
  private last: { at: number; state: SystemState } | null = null;

  constructor(
    registry: Registry,
    private readonly dataSource: DataSource,
    private readonly queues: ReadonlyMap<QueueName, Queue>,
    private readonly heartbeats: WorkerHeartbeats,
    private readonly options: {
      cacheMs?: number;
      timeoutMs?: number;
      /** Pools of this process besides TypeORM's (the intake's own), counted with it. */
      morePools?: () => Array<PoolCounts | null>;
    } = {},
  ) {
    const registers = [registry];
    const pool = (): PoolCounts | null => this.pool();
    new Gauge({
      name: 'database_connections_active',
      help: 'PostgreSQL connections of this process in use by a query',
      registers,
      collect() {
        const counts = pool();
        if (counts) this.set(counts.totalCount - counts.idleCount);
      },
    });
    new Gauge({
      name: 'database_connections_idle',
      help: 'PostgreSQL connections of this process open and idle',
      registers,
      collect() {
        const counts = pool();
        if (counts) this.set(counts.idleCount);
      },
    });
    new Gauge({
      name: 'database_connections_waiting',
      help: 'Queries of this process waiting for a free PostgreSQL connection',
      registers,
      collect() {
        const counts = pool();
        if (counts) this.set(counts.waitingCount);
      },
    });
    const state = (): Promise<SystemState> => this.state();
    new Gauge({
      name: 'dependency_up',
      help: 'Whether the store answered the last scrape-time read: 1 up, 0 down (database, redis)',
      labelNames: ['dependency'],
      registers,
      async collect() {
        const current = await state();
        this.set({ dependency: 'database' }, current.database ? 1 : 0);
        this.set({ dependency: 'redis' }, current.queues ? 1 : 0);
      },
    });
    new Gauge({
      name: 'workflow_tasks_live',
      help: 'Tasks not finished yet, by status (pending: stored, not in Redis yet; queued; running)',
      labelNames: ['status'],
      registers,
      async collect() {
        const { database } = await state();
        this.reset();
        if (!database) return;
        for (const status of LIVE_TASK_STATUSES) {
          this.set({ status }, database.live.get(status)?.count ?? 0);
        }
      },
    });
    new Gauge({
      name: 'workflow_oldest_pending_task_age_seconds',
      help: 'Age of the oldest task still waiting to run, by status (pending or queued); 0 when none waits',
      labelNames: ['status'],
      registers,
      async collect() {
        const { database } = await state();
        this.reset();
        if (!database) return;
        for (const status of ['pending', 'queued']) {
          this.set({ status }, database.live.get(status)?.oldestSeconds ?? 0);
        }
      },
    });
    new Gauge({
      name: 'bull_queue_jobs',
      help: "Bull jobs per queue and state (waiting, active, delayed, failed, paused); replaces the spec's celery_queue_size",
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const { queues } = await state();
        this.reset();
        if (!queues) return;
        for (const [queue, counts] of queues) {
          for (const jobState of QUEUE_STATES)
            this.set({ queue, state: jobState }, counts[jobState]);
        }
      },
    });
    new Gauge({
      name: 'bull_workers_active',
      help: 'Worker processes with a live heartbeat in Redis (0 while Redis cannot be read: no worker can take work then)',
      registers,
      async collect() {
        const { workers } = await state();
        this.set(workers ?? 0);
      },
    });
  }

  /** The current state, read once per `cacheMs` however many gauges and scrapers ask. */
  state(): Promise<SystemState> {
    const cacheMs = this.options.cacheMs ?? 1000;
    if (this.last && Date.now() - this.last.at < cacheMs) return Promise.resolve(this.last.state);
    this.pending ??= this.read()
      .then((state) => {
        this.last = { at: Date.now(), state };
        return state;
      })
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }

  private async read(): Promise<SystemState> {
    const [database, queues, workers] = await Promise.all([
      this.bounded(this.readDatabase()),
      this.bounded(this.readQueues()),
      this.bounded(this.heartbeats.live().then((live) => live.length)),
    ]);
    return { database, queues, workers };
  }

  private async readDatabase(): Promise<SystemState['database']> {
    const rows: LiveTaskRow[] = await this.dataSource.query(
      `SELECT status, count(*) AS count,
              extract(epoch FROM now() - min(created_at)) AS oldest_seconds
         FROM workflow_tasks
        WHERE status IN ('pending', 'queued', 'running')
        GROUP BY status`,
    );
    const live = new Map<string, { count: number; oldestSeconds: number }>();
    for (const row of rows) {
      live.set(row.status, {
        count: Number(row.count),
        oldestSeconds: Math.max(0, Number(row.oldest_seconds ?? 0)),
      });
    }
    return { live };
  }

  private async readQueues(): Promise<SystemState['queues']> {
    const out = new Map<QueueName, Record<(typeof QUEUE_STATES)[number], number>>();
    for (const [name, queue] of this.queues) {
      // A disconnected client would queue the command until Redis returns; report "down" now.
      if (queue.client.status !== 'ready') throw new Error(`redis is ${queue.client.status}`);
      const counts = (await queue.getJobCounts()) as unknown as Partial<Record<string, number>>;
      out.set(name, {
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        paused: counts.paused ?? 0,
      });
    }
    return out;
  }

  /** Resolves to null when the read fails or takes longer than `timeoutMs`. */
  private async bounded<T>(promise: Promise<T>): Promise<T | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.options.timeoutMs ?? 2000);
    });
    try {
      return await Promise.race([promise.catch(() => null), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private pool(): PoolCounts | null {
    // TypeORM keeps the pg Pool as `driver.master`; it has no typed accessor.
    const master = (this.dataSource.driver as unknown as { master?: Partial<PoolCounts> }).master;
    if (typeof master?.totalCount !== 'number') return null;
    const counts = {
      totalCount: master.totalCount,
      idleCount: master.idleCount ?? 0,
      waitingCount: master.waitingCount ?? 0,
    };
    for (const more of this.options.morePools?.() ?? []) {
      if (!more) continue;
      counts.totalCount += more.totalCount;
      counts.idleCount += more.idleCount;
      counts.waitingCount += more.waitingCount;
    }
    return counts;
  }
}
