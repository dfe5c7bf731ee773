import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { runAutocannon } from './autocannon';
import { BASELINE_SCHEMA, BenchDatabase, deleteRedisPrefixes, redisServer } from './database';
import {
  deliveryRequest,
  DeliveryLog,
  LoadPlan,
  MIX,
  mixedPlan,
  newDeliveryLog,
  pushPlan,
} from './load';
import {
  ChildApp,
  cpuBetween,
  cpuOfPids,
  freePort,
  sampleMachine,
  sampleProcess,
  sleep,
} from './processes';
import {
  BenchResult,
  E2ePhase,
  printSummary,
  printTurn,
  summarize,
  TargetName,
  Turn,
  updateDocs,
  writeResult,
} from './report';
import { BenchSettings, readSettings } from './settings';
import { percentile, round } from './stats';

/**
 * `npm run bench`: the orchestrator (built, as a process) against the hand-written baseline in
 * bench/baseline-server.ts, alternating rounds, then the end-to-end phase with the worker.
 * Everything runs on 127.0.0.1, in a database and Bull prefixes of its own, removed at the end.
 */

const ROOT = resolve(__dirname, '..');
const RESULTS_DIR = join(ROOT, 'bench/results');
const BUILD_DIR = join(ROOT, 'bench/dist');
const DOCS_FILE = join(ROOT, 'docs/performance.md');

interface Target {
  name: TargetName;
  kind: 'orchestrator' | 'baseline';
  app: ChildApp;
  port: number;
  log: DeliveryLog;
  /** The database and schema its deliveries go to. */
  database: BenchDatabase;
  schema: string;
  /** application_name of its PostgreSQL connections, to find its backends. */
  pgApplicationName: string;
}

const cleanups: Array<() => Promise<void>> = [];
const children = new Set<ChildApp>();

function say(message: string): void {
  process.stdout.write(`[bench] ${message}\n`);
}

async function main(): Promise<void> {
  const settings = readSettings();
  const started = new Date();
  const runId = `${started.getTime().toString(36)}_${randomBytes(3).toString('hex')}`;
  const appDir = builtApp(settings.appDir);
  const watchdog = setTimeout(() => {
    say(`still running after ${settings.maxSeconds} s (BENCH_MAX_SECONDS): stopping`);
    void shutdown(2);
  }, settings.maxSeconds * 1000);
  watchdog.unref();

  const secret = randomBytes(24).toString('hex');
  const prefix = `bench_${runId}`;
  const prefixes: string[] = [];
  const databases: BenchDatabase[] = [];
  const logDir = join(RESULTS_DIR, `logs-${runId}`);
  mkdirSync(logDir, { recursive: true });
  cleanups.push(async () => {
    for (const db of databases) {
      if (settings.keepDatabase) say(`kept database ${db.name} (BENCH_KEEP_DATABASE)`);
      else await db.drop();
    }
    const n = await deleteRedisPrefixes(settings.redisUrl, prefixes);
    say(`cleaned up: ${settings.keepDatabase ? '' : 'databases dropped, '}${n} Redis keys removed`);
  });
  const newDatabase = async (suffix: string, dir: string): Promise<BenchDatabase> => {
    const db = new BenchDatabase(settings.adminUrl, `orchestrator_bench_${runId}${suffix}`);
    await db.create();
    databases.push(db);
    say(`${db.name}: ${await db.migrate(dir)}`);
    return db;
  };
  const queuePrefix = (name: string): string => {
    prefixes.push(`${prefix}_${name}`);
    return `${prefix}_${name}`;
  };

  say(`run ${runId} (${settings.mode}); logs in ${logDir}`);
  const database = await newDatabase('', appDir);
  await database.createBaselineSchema();
  if (settings.payloadCompression) {
    await database.setPayloadCompression(settings.payloadCompression);
  }

  const redis = await redisServer(settings.redisUrl);
  const machine = await describeMachine(database, redis.version);
  const plan = mixedPlan(secret);
  const notes: string[] = [];
  const secretKey = randomBytes(32).toString('hex');
  const orchestratorEnv = (db: BenchDatabase, queue: string): Record<string, string> => ({
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    REDIS_URL: settings.redisUrl,
    QUEUE_PREFIX: queue,
    GITHUB_WEBHOOK_SECRET: secret,
    SECRET_KEY: secretKey,
    HOST: '127.0.0.1',
    ...settings.orchestratorEnv,
  });
  const profile = (name: string): string[] =>
    settings.cpuProfDir
      ? [
          '--cpu-prof',
          '--cpu-prof-dir',
          resolve(settings.cpuProfDir),
          `--cpu-prof-name=${name}-${runId}.cpuprofile`,
        ]
      : [];

  // Intake: every server up for the whole phase, measured in rotating rounds.
  const targets: Target[] = [];
  const startOrchestrator = async (
    name: string,
    dir: string,
    db: BenchDatabase,
    env: Record<string, string> = {},
    nodeArgs: string[] = [],
  ): Promise<Target> => {
    const port = await freePort();
    const app = startChild(
      name,
      [
        ...SHIPPED_NODE_FLAGS,
        ...settings.nodeArgs,
        ...nodeArgs,
        ...profile(name),
        join(dir, ORCHESTRATOR_MAIN),
      ],
      { ...orchestratorEnv(db, queuePrefix(name)), ...env, PORT: String(port) },
      logDir,
    );
    await app.waitForHttp(port);
    return {
      name,
      kind: 'orchestrator',
      app,
      port,
      log: newDeliveryLog(),
      database: db,
      schema: 'public',
      pgApplicationName: 'orchestrator',
    };
  };
  for (const name of settings.targets) {
    if (name === 'orchestrator') {
      targets.push(await startOrchestrator(name, appDir, database));
      continue;
    }
    const port = await freePort();
    const app = startChild(
      name,
      [...profile(name), buildBaseline()],
      {
        BASELINE_PORT: String(port),
        BASELINE_DATABASE_URL: database.url,
        BASELINE_SCHEMA,
        BASELINE_SECRET: secret,
        BASELINE_REDIS_URL: settings.redisUrl,
        BASELINE_QUEUE_PREFIX: queuePrefix(name),
        BASELINE_POOL_SIZE: String(settings.baselinePoolSize),
      },
      logDir,
    );
    await app.waitForHttp(port);
    targets.push({
      name,
      kind: 'baseline',
      app,
      port,
      log: newDeliveryLog(),
      database,
      schema: BASELINE_SCHEMA,
      pgApplicationName: 'bench-baseline',
    });
  }
  if (settings.accessLogOff) {
    // The same build without its line per request: the access log's cost, in the same rounds.
    const db = await newDatabase(`_${NO_ACCESS_LOG}`, appDir);
    targets.push(await startOrchestrator(NO_ACCESS_LOG, appDir, db, { ACCESS_LOG: 'false' }));
  }
  for (const variant of settings.variants) {
    const dir = builtApp(variant.appDir);
    const db = await newDatabase(`_${variant.name}`, dir);
    targets.push(await startOrchestrator(variant.name, dir, db, variant.env, variant.nodeArgs));
  }

  if (settings.initialWarmupS > 0) {
    say(`initial warm-up: ${settings.initialWarmupS} s per server`);
    for (const target of targets) await drive(target, plan, settings, settings.initialWarmupS);
  }
  const turns: Turn[] = [];
  for (let r = 1; r <= settings.rounds; r++) {
    // Each server takes each position in turn, so drifts of the machine hit all of them.
    const shift = (r - 1) % targets.length;
    const order = [...targets.slice(shift), ...targets.slice(0, shift)];
    for (const [i, target] of order.entries()) {
      await sleep(1500);
      if (settings.warmupS > 0) await drive(target, plan, settings, settings.warmupS);
      const turn = await measure(target, plan, settings, redis.pid, r, i + 1);
      turns.push(turn);
      printTurn(turn);
    }
  }

  const summary: BenchResult['summary'] = {};
  await sleep(2000);
  for (const target of targets) {
    const acknowledged = [...target.log.acknowledged.keys()];
    const stored = await target.database.countStored(target.schema, acknowledged);
    const peak = sampleProcess(target.app.pid).peakRssMb;
    const exitCode = await stopChild(target.app);
    if (target.log.refused.size > 0) {
      notes.push(
        `${target.name} refused: ${[...target.log.refused].map(([s, n]) => `${n}×${s}`).join(', ')};` +
          ` e.g. ${target.log.samples[0] ?? ''}`,
      );
    }
    summary[target.name] = summarize(turns, target.name, {
      peakRssMb: peak,
      acknowledged: acknowledged.length,
      stored: stored.events,
      lost: acknowledged.length - stored.events,
      withoutTask: stored.events - stored.withTask,
      exitCode,
    });
    if (target.kind === 'orchestrator') {
      notes.push(
        `${target.name} task statuses after intake (no worker running): ` +
          JSON.stringify(await target.database.taskStatuses()),
      );
    }
  }

  const e2e: E2ePhase[] = settings.skipE2e
    ? []
    : await endToEnd(
        settings,
        database,
        orchestratorEnv(database, queuePrefix('e2e')),
        appDir,
        secret,
        logDir,
      );

  const ratios = computeRatios(turns, summary);
  const orch = summary.orchestrator;
  const verdict = {
    throughputOk: ratios.throughput >= 1,
    p99Ok: ratios.p99 > 0 && ratios.p99 <= 1,
    lostOk: orch !== undefined && Object.values(summary).every((s) => s.lost === 0),
    met: false,
  };
  verdict.met = verdict.throughputOk && verdict.p99Ok && verdict.lostOk;

  const result: BenchResult = {
    runId,
    mode: settings.mode,
    standard:
      settings.mode === 'full' &&
      settings.targets.length === 2 &&
      settings.variants.length === 0 &&
      !settings.skipE2e &&
      settings.durationS >= 15 &&
      settings.payloadCompression === undefined &&
      settings.cpuProfDir === undefined &&
      settings.nodeArgs.length === 0 &&
      Object.keys(settings.orchestratorEnv).length === 0,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    settings,
    load: {
      mix: MIX.map(([e, slots]) => `${e} ${slots * 5}%`).join(', '),
      templates: [...plan.templates.values()]
        .flat()
        .map((t) => t.label)
        .join(' '),
      bodyBytesMean: Math.round(
        plan.pattern.reduce((n, e) => {
          const t = plan.templates.get(e) ?? [];
          return n + t.reduce((m, x) => m + x.body.length, 0) / Math.max(1, t.length);
        }, 0) / plan.pattern.length,
      ),
    },
    turns,
    summary,
    ratios,
    e2e,
    verdict,
    notes,
  };
  printSummary(result);
  const file = writeResult(RESULTS_DIR, result);
  say(`results: ${file}`);
  if (settings.writeDocs && result.standard) {
    updateDocs(DOCS_FILE, RESULTS_DIR);
    say(`updated ${DOCS_FILE}`);
  }
  clearTimeout(watchdog);
  // Correctness failures fail the command (CI); the speed target is reported, not enforced.
  const broken =
    !verdict.lostOk ||
    Object.values(summary).some((s) => s.non2xx > 0 || s.errors > 0 || s.withoutTask > 0) ||
    e2e.some((p) => p.unfinished > 0 || p.failed > 0);
  await shutdown(broken ? 1 : 0);
}

const ORCHESTRATOR_MAIN = 'apps/orchestrator/src/main.js';
/** The orchestrator with ACCESS_LOG=false (BenchSettings.accessLogOff). */
const NO_ACCESS_LOG = 'no_access_log';
/** The orchestrator runs with the node flags it ships with (`npm run start:orchestrator`). */
const SHIPPED_NODE_FLAGS = shippedNodeFlags();
const WORKER_MAIN = 'apps/worker/src/main.js';

/** The absolute path of a build, after checking both apps are in it. */
function builtApp(dir: string): string {
  const abs = resolve(ROOT, dir);
  if (!existsSync(join(abs, ORCHESTRATOR_MAIN)) || !existsSync(join(abs, WORKER_MAIN))) {
    throw new Error(`no built apps in ${abs}: run npm run build first`);
  }
  return abs;
}

function startChild(
  name: string,
  args: string[],
  env: Record<string, string>,
  logDir: string,
): ChildApp {
  const app = ChildApp.start(name, args, env, join(logDir, `${name}.log`));
  children.add(app);
  say(`started ${name} (pid ${app.pid})`);
  return app;
}

async function stopChild(app: ChildApp): Promise<number | null> {
  const code = await app.stop();
  children.delete(app);
  return code;
}

/** Transpiles the baseline to plain JS so it runs without ts-node in its process. */
function buildBaseline(): string {
  const source = readFileSync(join(ROOT, 'bench/baseline-server.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  mkdirSync(BUILD_DIR, { recursive: true });
  const file = join(BUILD_DIR, 'baseline-server.js');
  writeFileSync(file, outputText);
  return file;
}

/** Drives `target` for `seconds` with the load; returns autocannon's result. */
function drive(
  target: Target,
  plan: LoadPlan,
  settings: BenchSettings,
  seconds: number,
): ReturnType<typeof runAutocannon> {
  return runAutocannon({
    url: `http://127.0.0.1:${target.port}`,
    connections: settings.connections,
    duration: seconds,
    timeout: 10,
    requests: [deliveryRequest(plan, target.log)],
  });
}

async function measure(
  target: Target,
  plan: LoadPlan,
  settings: BenchSettings,
  redisPid: number,
  roundNo: number,
  position: number,
): Promise<Turn> {
  const backends = async (): Promise<Map<number, number>> =>
    cpuOfPids(await target.database.backendPids(target.pgApplicationName));
  const pgBefore = await backends();
  const redisBefore = cpuOfPids([redisPid]);
  const cpuBefore = sampleProcess(target.app.pid);
  const loadBefore = process.cpuUsage();
  const machineBefore = sampleMachine();
  const result = await drive(target, plan, settings, settings.durationS);
  const cpuAfter = sampleProcess(target.app.pid);
  const loadCpu = process.cpuUsage(loadBefore);
  const machineAfter = sampleMachine();
  const redisAfter = cpuOfPids([redisPid]);
  const pgAfter = await backends();
  const completed = result['2xx'] + result.non2xx;
  const perRequest = (ms: number): number => round(ms / Math.max(1, completed), 4);
  return {
    round: roundNo,
    target: target.name,
    position,
    seconds: result.duration,
    completed,
    ok: result['2xx'],
    reqPerSec: round(result['2xx'] / result.duration, 1),
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: round(result.latency.mean, 2),
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    cpuMsPerReq: perRequest(cpuAfter.cpuMs - cpuBefore.cpuMs),
    sysMsPerReq: perRequest(cpuAfter.sysMs - cpuBefore.sysMs),
    pgMsPerReq: perRequest(cpuBetween(pgBefore, pgAfter)),
    redisMsPerReq: perRequest(cpuBetween(redisBefore, redisAfter)),
    loadGeneratorMsPerReq: perRequest((loadCpu.user + loadCpu.system) / 1000),
    machineBusyPct: round(
      (100 * (machineAfter.busy - machineBefore.busy)) /
        Math.max(1, machineAfter.total - machineBefore.total),
      1,
    ),
  };
}

function computeRatios(turns: Turn[], summary: BenchResult['summary']): BenchResult['ratios'] {
  const o = summary.orchestrator;
  const b = summary.baseline;
  const perRound: Array<{ throughput: number; p99: number }> = [];
  for (const r of new Set(turns.map((t) => t.round))) {
    const ot = turns.find((t) => t.round === r && t.target === 'orchestrator');
    const bt = turns.find((t) => t.round === r && t.target === 'baseline');
    if (ot && bt) {
      perRound.push({
        throughput: round(ot.reqPerSec / Math.max(1, bt.reqPerSec), 3),
        p99: round(ot.latencyMs.p99 / Math.max(1, bt.latencyMs.p99), 3),
      });
    }
  }
  const byTarget: BenchResult['ratios']['byTarget'] = {};
  for (const [name, s] of Object.entries(summary)) {
    if (name === 'baseline' || !b) continue;
    byTarget[name] = {
      throughput: round(s.reqPerSec / Math.max(1, b.reqPerSec), 3),
      p99: round(s.p99Ms / Math.max(1, b.p99Ms), 3),
    };
  }
  return {
    throughput: o && b ? round(o.reqPerSec / Math.max(1, b.reqPerSec), 3) : 0,
    p99: o && b ? round(o.p99Ms / Math.max(1, b.p99Ms), 3) : 0,
    perRound,
    byTarget,
  };
}

/**
 * Push deliveries to the default branch, through the orchestrator and the worker, to the task's
 * completed_at: first paced (latency when the system keeps up), then a burst drained by the
 * worker (tasks completed per second).
 */
async function endToEnd(
  settings: BenchSettings,
  database: BenchDatabase,
  env: Record<string, string>,
  appDir: string,
  secret: string,
  logDir: string,
): Promise<E2ePhase[]> {
  await database.truncateOrchestratorTables();
  const port = await freePort();
  const orchestrator = startChild(
    'orchestrator-e2e',
    [...SHIPPED_NODE_FLAGS, join(appDir, ORCHESTRATOR_MAIN)],
    { ...env, PORT: String(port) },
    logDir,
  );
  const worker = startChild(
    'worker-e2e',
    [join(appDir, WORKER_MAIN)],
    {
      NODE_ENV: 'development',
      DATABASE_URL: env.DATABASE_URL,
      REDIS_URL: env.REDIS_URL,
      QUEUE_PREFIX: env.QUEUE_PREFIX,
      // Nothing outside is called: push analysis reads no repository rules file here (that read
      // is one contents request per repository per REPOSITORY_RULES_REFRESH_MS in a deployment);
      // should anything try, it stays on this machine.
      REPOSITORY_RULES_ENABLED: 'false',
      GITHUB_API_URL: 'http://127.0.0.1:9',
      CODEGEN_BASE_URL: 'http://127.0.0.1:9',
      // Its health/metrics listener: loopback, any free port (never a fixed one others use).
      WORKER_HEALTH_HOST: '127.0.0.1',
      WORKER_HEALTH_PORT: '0',
    },
    logDir,
  );
  try {
    await orchestrator.waitForHttp(port);
    await sleep(2000); // the worker has no HTTP port; give it time to attach to its queues
    if (!worker.running) throw new Error(`the worker exited at start; see ${worker.logFile}`);
    const plan = pushPlan(secret);
    const url = `http://127.0.0.1:${port}`;
    const phases: E2ePhase[] = [];

    // The burst first: what the worker sustains decides the pace of the latency phase.
    const burst = newDeliveryLog();
    say(
      `e2e burst: ${settings.e2eBurst} deliveries as fast as ${settings.connections} connections go`,
    );
    await runAutocannon({
      url,
      connections: settings.connections,
      amount: settings.e2eBurst,
      timeout: 10,
      requests: [deliveryRequest(plan, burst)],
    });
    const burstPhase = await drain('burst', 0, burst, database);

    // Paced below that capacity, so the latency is the pipeline's, not a queue's.
    const rate = settings.e2eRate ?? Math.max(1, Math.floor(burstPhase.tasksPerSec / 2));
    const paced = newDeliveryLog();
    say(`e2e paced: ${rate} deliveries/s for ${settings.e2eDurationS} s`);
    await runAutocannon({
      url,
      connections: Math.min(settings.connections, rate),
      overallRate: rate,
      duration: settings.e2eDurationS,
      timeout: 10,
      requests: [deliveryRequest(plan, paced)],
    });
    phases.push(await drain('paced', rate, paced, database), burstPhase);
    return phases;
  } finally {
    await stopChild(orchestrator);
    await stopChild(worker);
  }
}

async function drain(
  name: string,
  rate: number,
  log: DeliveryLog,
  database: BenchDatabase,
): Promise<E2ePhase> {
  const ids = [...log.acknowledged.keys()];
  const deadline = Date.now() + 60_000 + ids.length * 20;
  let unfinished = ids.length;
  let last = -1;
  let lastChange = Date.now();
  while (Date.now() < deadline) {
    unfinished = await database.countUnfinished(ids);
    if (unfinished === 0) break;
    if (unfinished !== last) lastChange = Date.now();
    // Nothing moved for 30 s: the worker is stuck; report what is there.
    if (Date.now() - lastChange > 30_000) break;
    last = unfinished;
    await sleep(200);
  }
  const rows = await database.completions(ids);
  const latencies: number[] = [];
  let firstSent = Infinity;
  let lastDone = 0;
  for (const row of rows) {
    const sent = log.acknowledged.get(row.deliveryId) ?? 0;
    firstSent = Math.min(firstSent, sent);
    if (row.status === 'completed' && row.completedMs !== null) {
      latencies.push(row.completedMs - sent);
      lastDone = Math.max(lastDone, row.completedMs);
    }
  }
  const phase: E2ePhase = {
    name,
    ratePerSec: rate,
    acknowledged: ids.length,
    completed: latencies.length,
    failed: rows.filter((r) => r.status === 'failed').length,
    unfinished,
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    maxMs: round(Math.max(0, ...latencies), 1),
    tasksPerSec:
      latencies.length > 0 ? round(latencies.length / ((lastDone - firstSent) / 1000), 0) : 0,
  };
  say(
    `e2e ${name}: ${phase.completed}/${phase.acknowledged} completed, p50 ${phase.p50Ms} ms, p99 ${phase.p99Ms} ms, ${phase.tasksPerSec} tasks/s`,
  );
  return phase;
}

async function describeMachine(
  database: BenchDatabase,
  redis: string,
): Promise<Record<string, string | number>> {
  const pg = await database.settings();
  return {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    kernel: release(),
    node: process.version,
    postgres: pg.server_version ?? 'unknown',
    synchronousCommit: pg.synchronous_commit ?? 'unknown',
    sharedBuffers: `${Math.round((Number(pg.shared_buffers) * 8) / 1024)} MB`,
    defaultToastCompression: pg.default_toast_compression ?? 'unknown',
    redis,
    loadAverageAtStart: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

let shuttingDown = false;

async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const child of children) {
    await child.stop(5000).catch(() => undefined);
  }
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch((error: unknown) => say(`cleanup failed: ${String(error)}`));
  }
  process.exit(code);
}

process.once('SIGINT', () => void shutdown(130));
process.once('SIGTERM', () => void shutdown(143));
process.once('exit', () => {
  for (const child of children) child.killNow();
});

main().catch(async (error: unknown) => {
  say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await shutdown(1);
});

/**
 * The node flags of `start:orchestrator` in package.json (the Docker entry point and
 * `npm run up` use the same; the deployment checks compare them), so the bench measures the
 * orchestrator as it is run, not a bare `node main.js`.
 */
function shippedNodeFlags(): string[] {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = manifest.scripts['start:orchestrator'].split(/\s+/);
  const main = words.findIndex((w) => w.endsWith(ORCHESTRATOR_MAIN));
  if (words[0] !== 'node' || main === -1) {
    throw new Error('package.json start:orchestrator is not `node [flags] …/main.js`');
  }
  return words.slice(1, main);
}
