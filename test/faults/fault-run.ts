import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Client, Pool } from 'pg';
import { runMigrations } from '@app/persistence';
import { CodegenFake, GithubFake } from '../fakes';
import { ScratchRedis } from '../support/redis-server';
import { exampleRepositories } from '../support/example-repositories';
import { AppProcess, ORCHESTRATOR_MAIN, WORKER_MAIN } from '../support/app-process';
import { LoadResult, percentile } from './load';
import { FAULT_PRS } from './payloads';

export const FAULT_SECRET = 'fault-run-webhook-secret-0123456789abcdef';
const CODEGEN_TOKEN = 'codegen-test-token';

/**
 * Sizes. The defaults are the default run's (`npm test`): 200 deliveries at 40/s, enough for every
 * fault to land mid-load, and a 10 s Redis freeze, twice the run's Bull lock (QUEUE_LOCK_DURATION_MS
 * 5 s), so jobs' locks lapse while it is frozen. FAULT_* size a soak (docs/reliability.md).
 */
export const SIZES = {
  deliveries: Number(process.env.FAULT_DELIVERIES ?? 200),
  rate: Number(process.env.FAULT_RATE ?? 40),
  drainMs: Number(process.env.FAULT_DRAIN_TIMEOUT_MS ?? 150_000),
  freezeMs: Number(process.env.FAULT_REDIS_FREEZE_MS ?? 10_000),
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface FaultRun {
  name: string;
  databaseUrl: string;
  redis: ScratchRedis;
  github: GithubFake;
  codegen: CodegenFake;
  /** The first orchestrator (scenarios with one). */
  orchestrator: AppProcess;
  /** Every orchestrator, each on a port of its own. */
  orchestrators: AppProcess[];
  workers: AppProcess[];
  /** The first orchestrator's port. */
  port: number;
  /** Port of each orchestrator, in `orchestrators` order. */
  ports: number[];
  db: Pool;
  /** Bull's key prefix of the run (QUEUE_PREFIX). */
  queuePrefix: string;
  faults: string[];
  url(): string;
  newWorker(extra?: Record<string, string>): AppProcess;
  close(): Promise<void>;
}

/**
 * Everything one scenario needs, all its own: a database (on the shared server, or the one
 * given), a redis-server, GitHub and Codegen fakes, and the BUILT apps as processes.
 */
export async function startFaultRun(
  name: string,
  options: {
    databaseUrl?: string;
    env?: Record<string, string>;
    workers?: number;
    orchestrators?: number;
  } = {},
): Promise<FaultRun> {
  const id = `${name}_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  let databaseUrl = options.databaseUrl;
  let dropDatabase: (() => Promise<void>) | null = null;
  if (!databaseUrl) {
    const adminUrl =
      process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    // Named after the run's database when there is one, so the run's teardown can vouch for it.
    const dbName = process.env.TEST_DATABASE_NAME
      ? `${process.env.TEST_DATABASE_NAME}_f${randomBytes(3).toString('hex')}`
      : `orchestrator_faults_${id}`;
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    databaseUrl = url.toString();
    dropDatabase = async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
    };
  }
  await runMigrations(databaseUrl);
  const redis = await ScratchRedis.start();
  const github = await GithubFake.start();
  const codegen = await CodegenFake.start({
    token: CODEGEN_TOKEN,
    autoCompleteAfterGets: 1,
    repositories: exampleRepositories(),
  });
  const repo = 'Codertocat/Hello-World';
  for (const pr of FAULT_PRS) {
    github.setPullRequest(repo, pr.number, { headSha: pr.sha });
    github.setPullRequestFiles(repo, pr.number, [{ filename: 'README.md' }]);
  }
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `faults_${id}`,
    GITHUB_WEBHOOK_SECRET: FAULT_SECRET,
    SECRET_KEY: 'fault-run-secret-key-0123456789abcdef0123',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: String(port),
    WORKER_HEALTH_PORT: '0',
    GITHUB_API_URL: github.url,
    CODEGEN_BASE_URL: codegen.url,
    CODEGEN_TOKEN,
    CODEGEN_ORG_ID: '42',
    CODEGEN_POLL_INTERVAL_MS: '200',
    CODEGEN_POLL_MAX_INTERVAL_MS: '400',
    CODEGEN_CREATE_LIMIT_PER_MINUTE: '10000',
    CODEGEN_READ_LIMIT_PER_30S: '100000',
    // A trigger killed between its request mark and its request looks this long for a run.
    CODEGEN_RECONCILE_GRACE_MS: '3000',
    AGENT_MAX_RUNS_PER_PR_PER_DAY: '1000',
    // The load reuses a few example pull requests and one author: the daily budgets would cut it.
    AGENT_MAX_RUNS_PER_REPO_PER_DAY: '100000',
    AGENT_MAX_RUNS_PER_AUTHOR_PER_DAY: '100000',
    TASK_BACKOFF_BASE_MS: '200',
    TASK_BACKOFF_MAX_MS: '2000',
    TASK_TIMEOUT_MS: '10000',
    RELAY_INTERVAL_MS: '500',
    RELAY_PENDING_AGE_MS: '1000',
    RELAY_QUEUED_CHECK_AGE_MS: '2000',
    CIRCUIT_BREAKER_RECOVERY_MS: '1000',
    DATABASE_CONNECT_TIMEOUT_MS: '1000',
    SHUTDOWN_GRACE_MS: '5000',
    QUEUE_LOCK_DURATION_MS: '5000',
    ...options.env,
  };
  const ports = [port];
  for (let i = 1; i < (options.orchestrators ?? 1); i++) ports.push(await freePort());
  const orchestrators = ports.map(
    (p, i) =>
      new AppProcess(
        i === 0 ? 'orchestrator' : `orchestrator-${i + 1}`,
        ORCHESTRATOR_MAIN,
        { ...env, PORT: String(p) },
        { ready: 'orchestrator listening', boundOutput: true },
      ),
  );
  const orchestrator = orchestrators[0];
  const workers: AppProcess[] = [];
  const db = new Pool({ connectionString: databaseUrl, max: 2 });
  db.on('error', () => undefined);
  const run: FaultRun = {
    name,
    databaseUrl,
    redis,
    github,
    codegen,
    orchestrator,
    orchestrators,
    workers,
    port,
    ports,
    db,
    queuePrefix: `faults_${id}`,
    faults: [],
    url: () => `http://127.0.0.1:${port}`,
    newWorker: (extra = {}) => {
      const w = new AppProcess(
        `worker-${workers.length + 1}`,
        WORKER_MAIN,
        { ...env, ...extra },
        { ready: 'worker started', boundOutput: true },
      );
      workers.push(w);
      return w;
    },
    close: async () => {
      await Promise.all([...orchestrators, ...workers].map((p) => p.stop()));
      await db.end().catch(() => undefined);
      await redis.kill();
      await github.stop();
      await codegen.stop();
      if (dropDatabase) await dropDatabase();
    },
  };
  try {
    // Two boots at a time (the apps do not wait for each other): one per core of a 2-core box,
    // with a bound generous for a loaded one.
    const queue = [...orchestrators];
    for (let i = 0; i < (options.workers ?? 1); i++) queue.push(run.newWorker());
    const boot = async (): Promise<void> => {
      try {
        for (let p = queue.shift(); p; p = queue.shift()) await p.start(60_000);
      } catch (error) {
        queue.length = 0; // start nothing more
        throw error;
      }
    };
    // Both settle before close() below, so no process starts after it.
    const booted = await Promise.allSettled([boot(), boot()]);
    for (const b of booted) if (b.status === 'rejected') throw b.reason;
  } catch (error) {
    await run.close();
    throw error;
  }
  return run;
}

export interface InvariantReport {
  lines: string[];
  /** The report's failing lines, so a failed assertion shows what broke. */
  failed: string[];
}

/** Waits until no task is live (or the bound passes), then checks I1–I3 and prints a report. */
export async function checkInvariants(
  run: FaultRun,
  load: LoadResult,
  loadEndedAt: number,
  drainMs = SIZES.drainMs,
): Promise<InvariantReport> {
  const deadline = Date.now() + drainMs;
  let live = -1;
  while (Date.now() < deadline) {
    try {
      const { rows } = await run.db.query<{ n: string }>(
        `SELECT count(*) AS n FROM workflow_tasks WHERE status IN ('pending', 'queued', 'running')`,
      );
      live = Number(rows[0].n);
      if (live === 0) break;
    } catch {
      // the database may be coming back
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const drainSeconds = (Date.now() - loadEndedAt) / 1000;

  const acked = [...load.acknowledged];
  const { rows: stored } = await run.db.query<{ delivery_id: string; n: string }>(
    `SELECT delivery_id, count(*) AS n FROM webhook_events WHERE delivery_id = ANY($1) GROUP BY delivery_id`,
    [acked],
  );
  const storedOnce = stored.filter((r) => Number(r.n) === 1).length;
  const i1 = storedOnce === acked.length;

  const i2 = live === 0;

  const { rows: doubles } = await run.db.query<{ task_id: string }>(
    `SELECT task_id FROM task_executions WHERE status = 'completed' GROUP BY task_id HAVING count(*) > 1`,
  );
  const runsByKey = new Map<string, number>();
  for (const created of run.codegen.createdRuns) {
    const m = created.metadata ?? {};
    const key = `${String(m.repository)}#${String(m.pr_number)}@${String(m.head_sha)}:${String(m.trigger_kind)}`;
    runsByKey.set(key, (runsByKey.get(key) ?? 0) + 1);
  }
  const duplicateRuns = [...runsByKey.values()].filter((n) => n > 1).length;
  const i3 = doubles.length === 0 && duplicateRuns === 0;

  const { rows: byStatus } = await run.db.query<{ status: string; n: string }>(
    `SELECT status, count(*) AS n FROM workflow_tasks GROUP BY status ORDER BY status`,
  );
  const { rows: events } = await run.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM webhook_events`,
  );
  // Why tasks failed, so a run's report says whether a failure was the fault's doing.
  const { rows: failures } = await run.db.query<{ task_type: string; error: string; n: string }>(
    `SELECT task_type, left(coalesce(error_message, ''), 200) AS error, count(*) AS n
       FROM workflow_tasks WHERE status = 'failed' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5`,
  );
  const lines = [
    `── fault scenario: ${run.name} ──`,
    `deliveries sent ${load.sent}, attempts ${load.attempts}, acknowledged ${acked.length}, never acknowledged ${load.unacknowledged}, stored ${events[0].n}`,
    `answers: ${Object.entries(load.statusCounts)
      .map(([k, v]) => `${k}×${v}`)
      .join(
        ' ',
      )}; latency p50 ${percentile(load.latencies, 50).toFixed(0)} ms, p99 ${percentile(load.latencies, 99).toFixed(0)} ms, max ${percentile(load.latencies, 100).toFixed(0)} ms`,
    `tasks: ${byStatus.map((r) => `${r.status} ${r.n}`).join(', ')}; agent runs created ${run.codegen.createdRuns.length}`,
    ...failures.map((f) => `failed: ${f.n}× ${f.task_type}: ${f.error}`),
    `faults: ${run.faults.join('; ') || 'none'}`,
    `drained ${live === 0 ? 'in' : 'NOT within'} ${drainSeconds.toFixed(1)} s after the load stopped`,
    `I1 every acknowledged GUID stored exactly once: ${i1 ? 'PASS' : `FAIL (${acked.length - storedOnce} missing)`}`,
    `I2 no task left non-terminal: ${i2 ? 'PASS' : `FAIL (${live} live)`}`,
    `I3 at most one successful execution per task, one agent run per dedupe key: ${i3 ? 'PASS' : `FAIL (${doubles.length} tasks, ${duplicateRuns} keys)`}`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  const failed = lines.filter((line) => /: FAIL|NOT within/.test(line));
  return { lines, failed };
}
