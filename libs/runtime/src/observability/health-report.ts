import type { Queue } from 'bull';
import type { DataSource } from 'typeorm';
import {
  lifecycle,
  CheckStatus,
  evaluateServiceHealth,
  overallStatus,
  OverallStatus,
  ServiceSnapshot,
  WorkerSnapshot,
} from '@app/platform';
import { QueueName } from '../queues/queue-names';
import type { WorkerHeartbeats } from '@app/platform';

/** The `GET /health` body of the spec, plus `details` for the operator. */
export interface HealthBody {
  status: OverallStatus;
  timestamp: string;
  checks: {
    database: CheckStatus;
    redis: CheckStatus;
    workers: CheckStatus;
    github_api: CheckStatus;
    codegen_api: CheckStatus;
  };
  /** Seconds since the process started. */
  uptime: number;
  details: {
    draining: boolean;
    live_workers: number | null;
    github_api: ServiceSummary;
    codegen_api: ServiceSummary;
  };
}

interface ServiceSummary {
  workers_reporting: number;
  circuits: Partial<Record<ServiceSnapshot['circuit'], number>>;
  rate_limit_remaining?: number | null;
  /** Why a worker sees the service degraded although it answers (e.g. `plan_limit_reached`). */
  degraded_reasons?: string[];
  /** GitHub: identities waiting out a rate limit, and until when (ISO time), soonest first. */
  rate_limited?: Array<{ identity: string; kind: string; until: string }>;
}

export interface HealthReport {
  httpStatus: 200 | 503;
  body: HealthBody;
}

export interface HealthReporterOptions {
  /** Checks whose failure makes the app unhealthy (503); others only degrade it. */
  critical: ReadonlyArray<keyof HealthBody['checks']>;
  /** Per-check deadline. Default 1000 ms. */
  timeoutMs?: number;
}

/** Below this GitHub budget the GitHub check is degraded (the spec's alert threshold). */
export const GITHUB_RATE_LIMIT_FLOOR = 100;

/**
 * Builds the `GET /health` answer: PostgreSQL and Redis are pinged (bounded), workers and the
 * GitHub/Codegen state come from the workers' heartbeats, so a probe costs no API quota.
 */
export class HealthReporter {
  private localSnapshot: (() => WorkerSnapshot) | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly queues: ReadonlyMap<QueueName, Queue>,
    private readonly heartbeats: WorkerHeartbeats,
    private readonly options: HealthReporterOptions,
  ) {}

  /** In the worker: its own heartbeat, fresher than Redis and available without it. */
  useLocalSnapshot(snapshot: () => WorkerSnapshot): void {
    this.localSnapshot = snapshot;
  }

  async report(): Promise<HealthReport> {
    const [database, redis, workers] = await Promise.all([
      this.checkDatabase(),
      this.checkRedis(),
      this.readWorkers(),
    ]);
    const now = Date.now();
    const github = workers.snapshots.flatMap((w) => (w.services.github ? [w.services.github] : []));
    const codegen = workers.snapshots.flatMap((w) =>
      w.services.codegen ? [w.services.codegen] : [],
    );
    const checks: HealthBody['checks'] = {
      database,
      redis,
      workers: workers.live === null ? 'unknown' : workers.live > 0 ? 'healthy' : 'unhealthy',
      github_api: evaluateServiceHealth(github, {
        now,
        minRateLimitRemaining: GITHUB_RATE_LIMIT_FLOOR,
      }),
      codegen_api: evaluateServiceHealth(codegen, { now }),
    };
    const draining = lifecycle.draining;
    const status = draining ? 'unhealthy' : overallStatus(checks, this.options.critical);
    return {
      httpStatus: status === 'unhealthy' ? 503 : 200,
      body: {
        status,
        timestamp: new Date(now).toISOString(),
        checks,
        uptime: Math.round(process.uptime() * 1000) / 1000,
        details: {
          draining,
          live_workers: workers.live,
          github_api: summarize(github, true, now),
          codegen_api: summarize(codegen, false),
        },
      },
    };
  }

  private async checkDatabase(): Promise<CheckStatus> {
    return (await this.bounded(this.dataSource.query('SELECT 1'))) ? 'healthy' : 'unhealthy';
  }

  private async checkRedis(): Promise<CheckStatus> {
    const pings = [...this.queues.values()].map((queue) =>
      queue.client.status === 'ready' ? this.bounded(queue.client.ping()) : Promise.resolve(false),
    );
    return (await Promise.all(pings)).every(Boolean) ? 'healthy' : 'unhealthy';
  }

  private async readWorkers(): Promise<{ live: number | null; snapshots: WorkerSnapshot[] }> {
    const local = this.localSnapshot?.();
    let snapshots: WorkerSnapshot[] | null = null;
    try {
      snapshots = await this.heartbeats.live();
    } catch {
      snapshots = null;
    }
    if (snapshots === null) return { live: local ? 1 : null, snapshots: local ? [local] : [] };
    // This worker's own view is fresher than what it last wrote.
    if (local) snapshots = [local, ...snapshots.filter((s) => s.worker_id !== local.worker_id)];
    return { live: snapshots.length, snapshots };
  }

  /** True when the call answered within the deadline. */
  private async bounded(promise: Promise<unknown>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.timeoutMs ?? 1000);
    });
    try {
      return await Promise.race([
        promise.then(
          () => true,
          () => false,
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function summarize(
  snapshots: ServiceSnapshot[],
  withRateLimit: boolean,
  now = Date.now(),
): ServiceSummary {
  const circuits: ServiceSummary['circuits'] = {};
  for (const s of snapshots) circuits[s.circuit] = (circuits[s.circuit] ?? 0) + 1;
  const summary: ServiceSummary = { workers_reporting: snapshots.length, circuits };
  const reasons = [
    ...new Set(snapshots.flatMap((s) => (s.degraded_reason ? [s.degraded_reason] : []))),
  ];
  if (reasons.length > 0) summary.degraded_reasons = reasons;
  if (withRateLimit) {
    const known = snapshots
      .map((s) => s.rate_limit_remaining)
      .filter((v): v is number => typeof v === 'number');
    summary.rate_limit_remaining = known.length > 0 ? Math.min(...known) : null;
    // Workers share installations: one entry per identity, its latest end.
    const until = new Map<string, { kind: string; until: number }>();
    for (const limit of snapshots.flatMap((s) => s.rate_limited ?? [])) {
      if (limit.until <= now) continue;
      const known = until.get(limit.identity);
      if (!known || known.until < limit.until) until.set(limit.identity, limit);
    }
    summary.rate_limited = [...until]
      .sort((a, b) => a[1].until - b[1].until)
      .slice(0, 20)
      .map(([identity, limit]) => ({
        identity,
        kind: limit.kind,
        until: new Date(limit.until).toISOString(),
      }));
  }
  return summary;
}
