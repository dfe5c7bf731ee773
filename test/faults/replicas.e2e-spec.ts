import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { AppProcess, ORCHESTRATOR_MAIN, WORKER_MAIN } from '../support/app-process';
import { RoundRobinBalancer } from './balancer';
import { checkInvariants, FaultRun, startFaultRun } from './fault-run';
import {
  describeLiveTasks,
  freezeWorkerMidAttempt,
  FreezeRecord,
  maxInSlidingWindow,
  overlappingRuns,
  REPLICA_SIZES,
  REPLICA_TASK_TIMEOUT_MS,
  ReplicaMix,
  seededRandom,
  sendReplicaLoad,
} from './replicas';

/**
 * The product as it is deployed: 2 orchestrators behind a round-robin balancer and 3 workers
 * (the BUILT apps as processes; `npm run build` first), one PostgreSQL, one Redis. A seeded mix
 * of pull request events, failing checks on the same commits, pushes, and redeliveries of one
 * GUID to both orchestrators at once; meanwhile replicas are SIGKILLed and restarted at random
 * and one worker is stopped (SIGSTOP) mid-attempt for longer than its lease. Invariants come
 * from the database and from what the GitHub and Codegen stand-ins received. FAULT_SEED replays
 * a run; FAULT_REPLICA_* size a soak (see docs/reliability.md).
 */
jest.setTimeout(600_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('replicated deployment under faults: one truth', () => {
  let run: FaultRun | null = null;
  let balancer: RoundRobinBalancer | null = null;

  beforeAll(() => {
    if (!existsSync(ORCHESTRATOR_MAIN) || !existsSync(WORKER_MAIN)) {
      throw new Error('dist/ is missing: run `npm run build` first');
    }
  });
  afterAll(async () => {
    await balancer?.stop();
    await run?.close();
  });

  it('keeps every invariant with replicas killed, restarted and frozen', async () => {
    const S = REPLICA_SIZES;
    const started = Date.now();
    process.stdout.write(`replicated fault run: seed ${S.seed} (FAULT_SEED=${S.seed} replays)\n`);
    run = await startFaultRun('replicas', {
      orchestrators: S.orchestrators,
      workers: S.workers,
      env: {
        GITHUB_TOKEN: 'ghp_fault_run_token_0123456789abcdefABCDEF',
        CODEGEN_CREATE_LIMIT_PER_MINUTE: String(S.createLimitPerMinute),
        TASK_TIMEOUT_MS: String(REPLICA_TASK_TIMEOUT_MS),
        DELIVERY_RECOVERY_HOOK: 'repos/Codertocat/Hello-World/hooks/17',
        DELIVERY_RECOVERY_INTERVAL_MS: '2000',
      },
    });
    const r = run;
    const lb = (balancer = await RoundRobinBalancer.start(() => r.ports));
    const mix = new ReplicaMix(r, seededRandom(S.seed));
    const chaos = seededRandom(S.seed ^ 0x5bd1e995);
    const progress = { sent: 0 };
    const until = async (fraction: number): Promise<void> => {
      while (progress.sent < Math.floor(S.deliveries * fraction)) await sleep(50);
    };
    const log = (line: string): void => {
      r.faults.push(line);
    };
    const paused = new Set<AppProcess>();
    let kills = 0;

    // SIGKILL a random replica at random points, restart it after a random pause; never the
    // stopped worker, and never the last live replica of a kind.
    const killPlan = Array.from({ length: S.kills }, () => 0.08 + chaos() * 0.8).sort();
    const killing = (async () => {
      for (const at of killPlan) {
        await until(at);
        const orchestrator = chaos() < 0.5;
        const pool = (orchestrator ? r.orchestrators : r.workers).filter((p) => !paused.has(p));
        if (pool.some((p) => !p.running) || pool.length < 2) continue;
        const victim = pool[Math.floor(chaos() * pool.length)];
        log(`SIGKILL ${victim.name} pid ${victim.pid}`);
        kills++;
        await victim.signal('SIGKILL');
        await sleep(200 + Math.floor(chaos() * 1500));
        // A loaded box can take a while to boot a Nest app.
        await victim.start(90_000);
      }
    })();
    // One worker stopped in the middle of an attempt, for longer than the attempt's lease.
    let frozen: FreezeRecord | null = null;
    const freezing = (async () => {
      await until(0.25);
      frozen = await freezeWorkerMidAttempt(r, () => r.workers, S.freezeMs, log, paused);
    })();
    // Operators asking for retention and delivery recovery twice at once, on different workers.
    const operatorTasks = (async () => {
      for (const at of [0.2, 0.5, 0.8]) {
        await until(at);
        for (const [type, input] of [
          ['cleanup', { retention_days: 30, batch_size: 100 }],
          ['cleanup', { retention_days: 30, batch_size: 100 }],
          ['delivery_recovery', { trigger: 'operator', requested_by: 'fault-run' }],
          ['delivery_recovery', { trigger: 'operator', requested_by: 'fault-run' }],
        ] as const) {
          await r.db.query(
            `INSERT INTO workflow_tasks (task_id, task_type, status, input_data, max_retries)
             VALUES ($1, $2, 'pending', $3::jsonb, 2)`,
            [randomUUID(), type, JSON.stringify(input)],
          );
        }
      }
    })();

    const load = await sendReplicaLoad({
      mix,
      balancer: lb,
      ports: r.ports,
      total: S.deliveries,
      ratePerSecond: S.rate,
      progress,
    });
    await Promise.all([killing, freezing, operatorTasks]);
    const loadEnded = Date.now();
    const report = await checkInvariants(
      r,
      { ...load, latencies: [] },
      loadEnded,
      Math.max(S.drainMs, 90_000),
    );

    if (report.failed.length > 0)
      process.stdout.write(`${(await describeLiveTasks(r)).join('\n')}\n`);
    // Which tasks share a key that got several runs, and how each ended.
    const keyOf = (m: Record<string, unknown> | null): string =>
      `${String(m?.repository)}#${String(m?.pr_number)}@${String(m?.head_sha)}:${String(m?.trigger_kind)}`;
    const perKey = new Map<string, string[]>();
    for (const c of r.codegen.createdRuns)
      perKey.set(keyOf(c.metadata), [
        ...(perKey.get(keyOf(c.metadata)) ?? []),
        String(c.metadata?.task_id),
      ]);
    for (const [key, tasks] of perKey) {
      if (tasks.length < 2) continue;
      const { rows: shared } = await r.db.query(
        `SELECT task_id, status, error_message, codegen_task_id, agent_run_requested_at, created_at, updated_at
           FROM workflow_tasks WHERE task_id = ANY($1::uuid[])`,
        [tasks],
      );
      process.stdout.write(`several runs for ${key}: ${JSON.stringify(shared)}\n`);
    }

    // R4 one PR comment per agent run (the commenter edits it in place).
    const commentsByTask = new Map<string, number>();
    for (const c of r.github.comments) {
      const task = /agent-run task=([0-9a-f-]+)/.exec(c.body)?.[1] ?? `comment ${c.id}`;
      commentsByTask.set(task, (commentsByTask.get(task) ?? 0) + 1);
    }
    const doubleComments = [...commentsByTask.entries()].filter(([, n]) => n > 1);
    const runsByTask = new Map<string, number>();
    for (const c of r.codegen.createdRuns) {
      const task = String(c.metadata?.task_id);
      runsByTask.set(task, (runsByTask.get(task) ?? 0) + 1);
    }
    const doubleRunsPerTask = [...runsByTask.values()].filter((n) => n > 1).length;
    // R5 Codegen creations in any sliding 60 s window, across the workers, at Codegen's side.
    const createTimes = r.codegen.requests
      .filter((q) => q.method === 'POST' && /\/agent\/run$/.test(q.path.split('?')[0]))
      .map((q) => q.at);
    const busiestMinute = maxInSlidingWindow(createTimes, 60_000);
    // R6 exclusive jobs: from their own run records.
    const { rows: exclusive } = await r.db
      .query<{
        job: string;
        holder: string;
        started: string;
        finished: string | null;
      }>(
        `SELECT job, holder, (extract(epoch FROM started_at) * 1000)::bigint AS started,
              (extract(epoch FROM finished_at) * 1000)::bigint AS finished
         FROM exclusive_runs ORDER BY id`,
      )
      .catch(() => ({ rows: [] }));
    const exclusiveRuns = exclusive.map((x) => ({
      job: x.job,
      holder: x.holder,
      started: Number(x.started),
      finished: x.finished === null ? Number.POSITIVE_INFINITY : Number(x.finished),
    }));
    const overlaps = overlappingRuns(exclusiveRuns);
    const runsPerJob = new Map<string, Set<string>>();
    for (const x of exclusiveRuns)
      runsPerJob.set(x.job, (runsPerJob.get(x.job) ?? new Set()).add(x.holder));
    const jobCounts = ['relay', 'delivery_recovery', 'retention'].map(
      (job) =>
        `${job} ${exclusiveRuns.filter((x) => x.job === job).length} runs by ${runsPerJob.get(job)?.size ?? 0} holders`,
    );
    const { rows: skippedOps } = await r.db.query<{ task_type: string; n: number }>(
      `SELECT task_type, count(*)::int AS n FROM workflow_tasks
        WHERE task_type IN ('cleanup', 'delivery_recovery') AND output_data->>'skipped' = 'true'
        GROUP BY task_type`,
    );
    // R7 the frozen worker: attempts it held were taken over; it finished none of those, and its
    // late side effects were not repeated.
    const f = frozen as FreezeRecord | null;
    const frozenProblems: string[] = [];
    let takenOver = 0;
    for (const held of f?.held ?? []) {
      // Taken over: another attempt claimed the task before the frozen one's attempt ended.
      const { rows: execs } = await r.db.query<{
        id: string;
        status: string;
        over: boolean;
        later: boolean;
      }>(
        `SELECT x.id, x.status,
            EXISTS (SELECT 1 FROM task_executions y WHERE y.task_id = x.task_id AND y.id > x.id
              AND y.started_at < coalesce(x.completed_at, 'infinity')) AS over,
            EXISTS (SELECT 1 FROM task_executions y WHERE y.task_id = x.task_id AND y.id > x.id) AS later
           FROM task_executions x WHERE x.id = $1`,
        [held.executionId],
      );
      const own = execs[0];
      if (own && (own.over || (own.later && own.status === 'abandoned'))) takenOver++;
      if (own?.over && own.status !== 'abandoned')
        frozenProblems.push(`execution ${own.id} ended ${own.status} after a takeover`);
      const { rows: t } = await r.db.query<{ task_id: string }>(
        `SELECT task_id FROM workflow_tasks WHERE id = $1`,
        [held.taskId],
      );
      const taskId = t[0]?.task_id ?? '';
      if ((runsByTask.get(taskId) ?? 0) > 1) frozenProblems.push(`task ${taskId}: two agent runs`);
      if ((commentsByTask.get(taskId) ?? 0) > 1)
        frozenProblems.push(`task ${taskId}: two comments`);
    }
    const frozenLog = f?.worker.log ?? '';

    const lines = [
      `seed ${S.seed}; ${S.orchestrators} orchestrators, ${S.workers} workers; deliveries ${load.sent} (${load.redeliveries} redeliveries to every orchestrator at once), acknowledged ${load.acknowledged.size}, never ${load.unacknowledged}`,
      `answers: ${Object.entries(load.statusCounts)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ')}; balancer connections per port: ${[...lb.connections.entries()]
        .map(([p, n]) => `${p}×${n}`)
        .join(' ')}`,
      `kills ${kills}; freeze ${f ? `${((f.resumedAt - f.stoppedAt) / 1000).toFixed(1)} s holding ${f.held.length} attempt(s), ${takenOver} taken over` : 'none'}`,
      `agent runs ${r.codegen.createdRuns.length}, PR comments ${r.github.comments.length}; exclusive jobs: ${jobCounts.join(', ')}; operator passes skipped while another ran: ${skippedOps.map((s) => `${s.task_type} ${s.n}`).join(', ') || 'none'}`,
      `R4 one PR comment per agent run: ${doubleComments.length === 0 && doubleRunsPerTask === 0 ? 'PASS' : `FAIL (${doubleComments.length} tasks with several comments, ${doubleRunsPerTask} with several runs)`}`,
      `R5 Codegen creations in any 60 s window ≤ ${S.createLimitPerMinute}: ${busiestMinute <= S.createLimitPerMinute ? 'PASS' : 'FAIL'} (busiest window ${busiestMinute})`,
      `R6 relay, delivery recovery, retention never ran twice at once: ${overlaps.length === 0 ? 'PASS' : `FAIL (${overlaps.map((o) => o.join(' / ')).join('; ')})`}`,
      `R7 the frozen worker finished nothing taken over and repeated no side effect: ${f && f.held.length > 0 && frozenProblems.length === 0 ? 'PASS' : `FAIL (${f ? frozenProblems.join('; ') || 'held no attempt' : 'no worker could be stopped mid-attempt'})`}`,
      `duration ${((Date.now() - started) / 1000).toFixed(1)} s`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    expect([...report.failed, ...lines.filter((l) => /: FAIL/.test(l))]).toEqual([]);
    // Every orchestrator took deliveries: the balancer spreads connections, but the load's HTTP
    // client keeps its connections alive, so one orchestrator may hold them all; the redeliveries
    // are what reach every orchestrator, each sent to all of them at once.
    expect(lb.connections.size).toBeGreaterThanOrEqual(1);
    expect(load.redeliveries).toBeGreaterThan(0);
    expect(frozenLog).not.toMatch(/unhandled/i);
  });
});
