import Redis from 'ioredis';
import { AppProcess } from '../support/app-process';
import { RoundRobinBalancer } from './balancer';
import { FAULT_SECRET, FaultRun } from './fault-run';
import {
  Delivery,
  FAULT_PRS,
  failedCheckRun,
  failedCheckSuite,
  newDelivery,
  postDelivery,
  pullRequestEvent,
  pushToDefaultBranch,
} from './payloads';

/**
 * The replicated fault run: sizes and knobs. The CI defaults keep the scenario well under two
 * minutes on a loaded 2-core box; FAULT_REPLICA_* raise them for a soak.
 */
export const REPLICA_SIZES = {
  deliveries: Number(process.env.FAULT_REPLICA_DELIVERIES ?? 360),
  rate: Number(process.env.FAULT_REPLICA_RATE ?? 12),
  kills: Number(process.env.FAULT_REPLICA_KILLS ?? 4),
  freezeMs: Number(process.env.FAULT_REPLICA_FREEZE_MS ?? 20_000),
  orchestrators: Number(process.env.FAULT_REPLICA_ORCHESTRATORS ?? 2),
  workers: Number(process.env.FAULT_REPLICA_WORKERS ?? 3),
  pullRequests: Number(process.env.FAULT_REPLICA_PRS ?? 8),
  createLimitPerMinute: Number(process.env.FAULT_REPLICA_CODEGEN_LIMIT ?? 6),
  drainMs: Number(process.env.FAULT_DRAIN_TIMEOUT_MS ?? 150_000),
  seed: Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31)),
};

/** TASK_TIMEOUT_MS of the run; an attempt's lease is this plus 5 s. */
export const REPLICA_TASK_TIMEOUT_MS = 8_000;

/** A small seeded generator (mulberry32): the printed seed replays the same choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REPO = 'Codertocat/Hello-World';

/**
 * The mix GitHub sends a busy repository: pushes to the default branch, pull requests moving to
 * new heads (synchronize), failing check runs and check suites on the pull requests' current
 * heads (several per commit, so they share a dedupe key), and redeliveries of deliveries already
 * sent. New heads are set on the GitHub stand-in before their event is sent, as GitHub does.
 */
export class ReplicaMix {
  private readonly prs: Array<{ number: number; sha: string }>;
  readonly sent: Delivery[] = [];
  private suiteId = 9_000_000;

  constructor(
    private readonly run: FaultRun,
    private readonly random: () => number,
  ) {
    this.prs = FAULT_PRS.slice(0, REPLICA_SIZES.pullRequests).map((p) => ({ ...p }));
    for (const pr of this.prs) this.setHead(pr.number, pr.sha);
  }

  /** The next delivery, or a redelivery (same GUID and body) of an earlier one. */
  next(i: number): { delivery: Delivery; redelivery: boolean } {
    const roll = this.random();
    if (roll < 0.12 && this.sent.length > 5) {
      const earlier = this.sent[Math.floor(this.random() * this.sent.length)];
      return { delivery: earlier, redelivery: true };
    }
    const pr = this.prs[Math.floor(this.random() * this.prs.length)];
    let delivery: Delivery;
    if (roll < 0.35) {
      delivery = newDelivery('push', pushToDefaultBranch(this.sha()));
    } else if (roll < 0.4) {
      pr.sha = this.sha();
      this.setHead(pr.number, pr.sha);
      delivery = newDelivery('pull_request', pullRequestEvent('synchronize', pr));
    } else if (roll < 0.8) {
      delivery = newDelivery('check_run', failedCheckRun(`unit tests ${i % 3}`, pr));
    } else {
      const suiteId = this.suiteId++;
      this.run.github.setCheckRuns(REPO, suiteId, [
        { name: 'integration', conclusion: 'failure' },
        { name: 'lint', conclusion: 'success' },
      ]);
      delivery = newDelivery('check_suite', failedCheckSuite(suiteId, pr));
    }
    this.sent.push(delivery);
    return { delivery, redelivery: false };
  }

  private setHead(prNumber: number, sha: string): void {
    this.run.github.setPullRequest(REPO, prNumber, { headSha: sha });
    this.run.github.setPullRequestFiles(REPO, prNumber, [{ filename: 'README.md' }]);
  }

  private sha(): string {
    let s = '';
    while (s.length < 40) s += Math.floor(this.random() * 16).toString(16);
    return s;
  }
}

export interface ReplicaLoadResult {
  sent: number;
  redeliveries: number;
  attempts: number;
  acknowledged: Set<string>;
  statusCounts: Record<string, number>;
  unacknowledged: number;
}

/**
 * Sends the mix through the balancer at a steady rate; each redelivery goes to every
 * orchestrator at once, straight to its port. Deliveries never acknowledged (a replica killed
 * under them) are sent again later, as delivery recovery asks GitHub to.
 */
export async function sendReplicaLoad(options: {
  mix: ReplicaMix;
  balancer: RoundRobinBalancer;
  ports: number[];
  total: number;
  ratePerSecond: number;
  progress: { sent: number };
}): Promise<ReplicaLoadResult> {
  const result: ReplicaLoadResult = {
    sent: 0,
    redeliveries: 0,
    attempts: 0,
    acknowledged: new Set(),
    statusCounts: {},
    unacknowledged: 0,
  };
  const post = async (base: string, d: Delivery): Promise<boolean> => {
    result.attempts++;
    let status = 'error';
    try {
      const { status: code, answer } = await postDelivery(base, d, FAULT_SECRET);
      status = String(code);
      // 409: this GUID was stored before (by this or the other replica): acknowledged. A 409 for
      // a replayed body under another id is a refusal, not an acknowledgement.
      const ok =
        (code >= 200 && code < 300) || (code === 409 && !answer.includes('duplicate payload'));
      if (ok) result.acknowledged.add(d.guid);
      return ok;
    } catch {
      return false;
    } finally {
      result.statusCounts[status] = (result.statusCounts[status] ?? 0) + 1;
    }
  };
  const failed: Delivery[] = [];
  const inflight = new Set<Promise<void>>();
  const interval = 1000 / options.ratePerSecond;
  const start = performance.now();
  for (let i = 0; i < options.total; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const { delivery, redelivery } = options.mix.next(i);
    result.sent++;
    options.progress.sent = result.sent;
    let p: Promise<void>;
    if (redelivery) {
      result.redeliveries++;
      p = Promise.all(options.ports.map((port) => post(`http://127.0.0.1:${port}`, delivery))).then(
        (oks) => {
          if (!oks.some(Boolean) && !result.acknowledged.has(delivery.guid)) failed.push(delivery);
        },
      );
    } else {
      p = post(options.balancer.url(), delivery).then((ok) => {
        if (!ok) failed.push(delivery);
      });
    }
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  for (let round = 0; round < 15 && failed.length > 0; round++) {
    await new Promise((r) => setTimeout(r, 1000));
    const batch = failed.splice(0, failed.length);
    for (const d of batch) if (!(await post(options.balancer.url(), d))) failed.push(d);
  }
  result.unacknowledged = failed.length;
  return result;
}

/** What the frozen worker held when it was stopped. */
export interface FreezeRecord {
  worker: AppProcess;
  workerId: string;
  /** The attempts (execution ids) it was running, and their tasks. */
  held: Array<{ executionId: number; taskId: number; taskType: string; midCreate: boolean }>;
  stoppedAt: number;
  resumedAt: number;
}

/** `hostname:pid`, the worker id each worker writes on its executions (WORKER_ID default). */
export function workerIdPattern(pid: number | undefined): string {
  return `%:${pid ?? -1}`;
}

/**
 * Stops (SIGSTOP) a worker in the middle of an attempt, preferring one waiting for Codegen's
 * answer to an agent-run create (the answers are held back a few seconds, and GitHub's slowed,
 * while a target is looked for), keeps it stopped for `freezeMs` (longer than an attempt's
 * lease), then resumes it (SIGCONT).
 */
export async function freezeWorkerMidAttempt(
  run: FaultRun,
  candidates: () => AppProcess[],
  freezeMs: number,
  log: (line: string) => void,
  paused: Set<AppProcess>,
): Promise<FreezeRecord | null> {
  run.codegen.setCreateAnswerDelay(4_000);
  run.github.setLatency(1_500);
  const started = Date.now();
  let target: AppProcess | null = null;
  try {
    while (!target && Date.now() - started < 30_000) {
      const preferCreate = Date.now() - started < 15_000;
      for (const w of candidates()) {
        if (!w.running || !w.pid) continue;
        const { rows } = await run.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM task_executions e JOIN workflow_tasks t ON t.id = e.task_id
            WHERE e.status = 'running' AND t.status = 'running' AND e.worker_id LIKE $1
              AND ($2::boolean IS FALSE OR (t.task_type = 'codegen_trigger'
                   AND t.agent_run_requested_at IS NOT NULL AND t.codegen_task_id IS NULL))`,
          [workerIdPattern(w.pid), preferCreate],
        );
        if (rows[0].n > 0) {
          target = w;
          break;
        }
      }
      if (!target) await new Promise((r) => setTimeout(r, 50));
    }
    if (!target) return null;
    paused.add(target);
    await target.signal('SIGSTOP');
  } finally {
    run.codegen.setCreateAnswerDelay(0);
    run.github.setLatency(0);
  }
  const stoppedAt = Date.now();
  const { rows } = await run.db.query<{
    execution_id: string;
    task_id: string;
    task_type: string;
    mid_create: boolean;
    worker_id: string;
  }>(
    `SELECT e.id AS execution_id, t.id AS task_id, t.task_type, e.worker_id,
            (t.task_type = 'codegen_trigger' AND t.agent_run_requested_at IS NOT NULL
             AND t.codegen_task_id IS NULL) AS mid_create
       FROM task_executions e JOIN workflow_tasks t ON t.id = e.task_id
      WHERE e.status = 'running' AND e.worker_id LIKE $1`,
    [workerIdPattern(target.pid)],
  );
  const record: FreezeRecord = {
    worker: target,
    workerId: rows[0]?.worker_id ?? workerIdPattern(target.pid),
    held: rows.map((r) => ({
      executionId: Number(r.execution_id),
      taskId: Number(r.task_id),
      taskType: r.task_type,
      midCreate: r.mid_create,
    })),
    stoppedAt,
    resumedAt: 0,
  };
  log(
    `SIGSTOP ${target.name} pid ${target.pid} for ${freezeMs / 1000} s holding ${record.held.length} attempt(s): ${record.held
      .map((h) => `${h.taskType}${h.midCreate ? ' (agent-run create in flight)' : ''}`)
      .join(', ')}`,
  );
  await new Promise((r) => setTimeout(r, freezeMs));
  await target.signal('SIGCONT');
  paused.delete(target);
  record.resumedAt = Date.now();
  log(`SIGCONT ${target.name} pid ${target.pid}`);
  return record;
}

/** Largest number of times within any `windowMs` (sliding), and where that window starts. */
export function maxInSlidingWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi] - sorted[lo] >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** Pairs of runs of one exclusive job whose [started, finished] intervals overlap. */
export function overlappingRuns(
  runs: Array<{ job: string; holder: string; started: number; finished: number }>,
): Array<[string, string, string]> {
  const overlaps: Array<[string, string, string]> = [];
  const byJob = new Map<string, typeof runs>();
  for (const r of runs) byJob.set(r.job, [...(byJob.get(r.job) ?? []), r]);
  for (const [job, list] of byJob) {
    list.sort((a, b) => a.started - b.started);
    for (let i = 1; i < list.length; i++) {
      for (let j = 0; j < i; j++) {
        if (list[i].started < list[j].finished)
          overlaps.push([job, list[j].holder, list[i].holder]);
      }
    }
  }
  return overlaps;
}

/** For a failed drain: each live task and where its Bull job is, to say what held it. */
export async function describeLiveTasks(run: FaultRun): Promise<string[]> {
  const { rows } = await run.db.query<{
    task_id: string;
    task_type: string;
    status: string;
    retry_count: number;
    error_message: string | null;
    updated_at: Date;
    lease_expires_at: Date | null;
  }>(
    `SELECT task_id, task_type, status, retry_count, error_message, updated_at, lease_expires_at
       FROM workflow_tasks WHERE status IN ('pending', 'queued', 'running') ORDER BY id LIMIT 20`,
  );
  const redis = new Redis(run.redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  const lines: string[] = [];
  try {
    await redis.connect();
    for (const t of rows) {
      const where: string[] = [];
      for (const queue of ['analysis', 'codegen', 'agent-run-poll']) {
        // Bull's keys sit under the hash-tagged prefix (bullPrefix): `{prefix}:queue:…`.
        const base = `{${run.queuePrefix}}:${queue}`;
        if (!(await redis.exists(`${base}:${t.task_id}`))) continue;
        for (const list of ['wait', 'active', 'paused']) {
          if ((await redis.lpos(`${base}:${list}`, t.task_id)) !== null)
            where.push(`${queue}:${list}`);
        }
        for (const set of ['delayed', 'completed', 'failed']) {
          const score = await redis.zscore(`${base}:${set}`, t.task_id);
          if (score !== null) where.push(`${queue}:${set}`);
        }
        if (where.length === 0) where.push(`${queue}:job hash only`);
      }
      lines.push(
        `live ${t.task_type} ${t.task_id} ${t.status} retries ${t.retry_count} updated ${t.updated_at.toISOString()} lease ${t.lease_expires_at?.toISOString() ?? '-'} job ${where.join(',') || 'none'} error ${t.error_message ?? '-'}`,
      );
    }
  } finally {
    redis.disconnect();
  }
  return lines;
}
