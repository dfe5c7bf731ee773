import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchSettings } from './settings';
import { median, round } from './stats';

/** `orchestrator`, `baseline`, or the name of an orchestrator variant (BENCH_VARIANTS). */
export type TargetName = string;

/** One measured window of one target. */
export interface Turn {
  round: number;
  target: TargetName;
  /** 1 when this target went first in its round. */
  position: number;
  seconds: number;
  completed: number;
  ok: number;
  /** 2xx answers per second: deliveries stored per second. */
  reqPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU time (user + system) of the server process per completed request. */
  cpuMsPerReq: number;
  /** The kernel's part of cpuMsPerReq. */
  sysMsPerReq: number;
  /** CPU of the server's PostgreSQL backends, of Redis, and of the load generator, per request. */
  pgMsPerReq: number;
  redisMsPerReq: number;
  loadGeneratorMsPerReq: number;
  /** Busy share of the whole machine (both cores) during the window. */
  machineBusyPct: number;
}

export interface TargetSummary {
  rounds: number;
  /** Medians over the rounds. */
  reqPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** The largest latency of any round. */
  maxMs: number;
  cpuMsPerReq: number;
  pgMsPerReq: number;
  redisMsPerReq: number;
  /** Sums over the rounds. */
  non2xx: number;
  errors: number;
  timeouts: number;
  peakRssMb: number;
  /** Deliveries answered 2xx (warm-ups included), found in the database afterwards, lost. */
  acknowledged: number;
  stored: number;
  lost: number;
  /** Stored deliveries without their task (every load payload implies one). */
  withoutTask: number;
  exitCode: number | null;
}

export interface E2ePhase {
  name: string;
  /** Deliveries per second asked for (0 = as fast as possible). */
  ratePerSec: number;
  acknowledged: number;
  completed: number;
  failed: number;
  unfinished: number;
  /** POST written → task completed_at. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Completed tasks / (last completed_at − first POST). */
  tasksPerSec: number;
}

export interface BenchResult {
  runId: string;
  mode: BenchSettings['mode'];
  /** A full run with default shape (both servers, end to end, no overrides): goes in the note. */
  standard: boolean;
  startedAt: string;
  finishedAt: string;
  machine: Record<string, string | number>;
  settings: Omit<BenchSettings, 'orchestratorEnv'> & { orchestratorEnv: Record<string, string> };
  load: Record<string, string | number>;
  turns: Turn[];
  summary: Record<TargetName, TargetSummary>;
  ratios: {
    throughput: number;
    p99: number;
    perRound: Array<{ throughput: number; p99: number }>;
    /** Every non-baseline server against the baseline (the orchestrator and its variants). */
    byTarget: Record<TargetName, { throughput: number; p99: number }>;
  };
  e2e: E2ePhase[];
  verdict: { throughputOk: boolean; p99Ok: boolean; lostOk: boolean; met: boolean };
  notes: string[];
}

export function summarize(
  turns: Turn[],
  target: TargetName,
  extra: Pick<
    TargetSummary,
    'peakRssMb' | 'acknowledged' | 'stored' | 'lost' | 'withoutTask' | 'exitCode'
  >,
): TargetSummary {
  const mine = turns.filter((t) => t.target === target);
  const sum = (f: (t: Turn) => number): number => mine.reduce((n, t) => n + f(t), 0);
  return {
    rounds: mine.length,
    reqPerSec: round(median(mine.map((t) => t.reqPerSec)), 0),
    p50Ms: median(mine.map((t) => t.latencyMs.p50)),
    p90Ms: median(mine.map((t) => t.latencyMs.p90)),
    p99Ms: median(mine.map((t) => t.latencyMs.p99)),
    maxMs: Math.max(0, ...mine.map((t) => t.latencyMs.max)),
    cpuMsPerReq: round(median(mine.map((t) => t.cpuMsPerReq)), 3),
    pgMsPerReq: round(median(mine.map((t) => t.pgMsPerReq)), 3),
    redisMsPerReq: round(median(mine.map((t) => t.redisMsPerReq)), 3),
    non2xx: sum((t) => t.non2xx),
    errors: sum((t) => t.errors),
    timeouts: sum((t) => t.timeouts),
    ...extra,
    peakRssMb: round(extra.peakRssMb, 0),
  };
}

export function printTurn(t: Turn): void {
  process.stdout.write(
    `  round ${t.round} ${t.target.padEnd(12)} ${String(Math.round(t.reqPerSec)).padStart(5)} req/s` +
      `  p50 ${t.latencyMs.p50} p90 ${t.latencyMs.p90} p99 ${t.latencyMs.p99} max ${t.latencyMs.max} ms` +
      `  non-2xx ${t.non2xx} errors ${t.errors}  cpu ms/req: server ${t.cpuMsPerReq.toFixed(3)} (sys ${t.sysMsPerReq.toFixed(3)})` +
      ` pg ${t.pgMsPerReq.toFixed(3)} redis ${t.redisMsPerReq.toFixed(3)} load ${t.loadGeneratorMsPerReq.toFixed(3)}` +
      `  machine ${t.machineBusyPct.toFixed(0)}% busy\n`,
  );
}

export function printSummary(result: BenchResult): void {
  const out: string[] = ['', `== ${result.mode} run ${result.runId} ==`];
  for (const [name, s] of Object.entries(result.summary)) {
    out.push(
      `${name.padEnd(12)} ${s.reqPerSec} req/s (median of ${s.rounds})  p50 ${s.p50Ms} p90 ${s.p90Ms}` +
        ` p99 ${s.p99Ms} max ${s.maxMs} ms  non-2xx ${s.non2xx}  errors ${s.errors}` +
        `  cpu ms/req: server ${s.cpuMsPerReq} pg ${s.pgMsPerReq} redis ${s.redisMsPerReq}  peak RSS ${s.peakRssMb} MiB` +
        `  acknowledged ${s.acknowledged} stored ${s.stored} lost ${s.lost}`,
    );
  }
  for (const [name, r] of Object.entries(result.ratios.byTarget)) {
    if (name === 'orchestrator') continue;
    out.push(
      `ratio ${name}/baseline: throughput ${r.throughput.toFixed(2)}x, p99 ${r.p99.toFixed(2)}x`,
    );
  }
  if (result.summary.orchestrator && result.summary.baseline) {
    out.push(
      `ratio orchestrator/baseline: throughput ${result.ratios.throughput.toFixed(2)}x,` +
        ` p99 ${result.ratios.p99.toFixed(2)}x (per round: ` +
        result.ratios.perRound
          .map((r) => `${r.throughput.toFixed(2)}/${r.p99.toFixed(2)}`)
          .join(', ') +
        ')',
    );
  }
  const cost = accessLogCost(result);
  if (cost) out.push(`access log (orchestrator on / no_access_log off): ${cost}`);
  for (const p of result.e2e) {
    out.push(
      `e2e ${p.name}: ${p.completed}/${p.acknowledged} completed (${p.failed} failed, ${p.unfinished} unfinished)` +
        `  POST→completed p50 ${p.p50Ms} p99 ${p.p99Ms} max ${p.maxMs} ms  ${p.tasksPerSec} tasks/s`,
    );
  }
  const v = result.verdict;
  out.push(
    `target: throughput ${v.throughputOk ? 'ok' : 'MISSED'}, p99 ${v.p99Ok ? 'ok' : 'MISSED'},` +
      ` lost ${v.lostOk ? 'ok' : 'MISSED'} → ${v.met ? 'MET' : 'NOT MET'}`,
  );
  for (const n of result.notes) out.push(`note: ${n}`);
  process.stdout.write(out.join('\n') + '\n');
}

export function writeResult(dir: string, result: BenchResult): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.startedAt.replace(/[:.]/g, '-')}-${result.mode}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

const START = '<!-- bench:runs:start (written by npm run bench) -->';
const END = '<!-- bench:runs:end -->';

/** Rewrites the generated block of the note with the last two full runs found in `dir`. */
export function updateDocs(docsFile: string, dir: string): void {
  const runs = readdirSync(dir)
    .filter((f) => f.endsWith('-full.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as BenchResult)
    .filter((r) => r.standard)
    .slice(-2);
  if (runs.length === 0) return;
  const block = [START, '', renderRuns(runs), '', END].join('\n');
  const current = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : '# Performance\n';
  const at = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    at >= 0 && end > at
      ? current.slice(0, at) + block + current.slice(end + END.length)
      : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(docsFile, next);
}

function renderRuns(runs: BenchResult[]): string {
  const head = `| | ${runs.map((r) => `run ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`).join(' | ')} |`;
  const rule = `|---|${runs.map(() => '---').join('|')}|`;
  const rows: Array<[string, (r: BenchResult) => string]> = [];
  for (const name of ['orchestrator', 'baseline'] as const) {
    const s = (r: BenchResult): TargetSummary | undefined => r.summary[name];
    rows.push(
      [`${name}: deliveries/s (median)`, (r) => String(s(r)?.reqPerSec ?? '–')],
      [
        `${name}: latency p50 / p90 / p99 / max, ms`,
        (r) => {
          const x = s(r);
          return x ? `${x.p50Ms} / ${x.p90Ms} / ${x.p99Ms} / ${x.maxMs}` : '–';
        },
      ],
      [`${name}: non-2xx / errors`, (r) => `${s(r)?.non2xx ?? '–'} / ${s(r)?.errors ?? '–'}`],
      [`${name}: CPU per request, ms`, (r) => String(s(r)?.cpuMsPerReq ?? '–')],
      [
        `${name}: its PostgreSQL backends' / Redis CPU per request, ms`,
        (r) => `${s(r)?.pgMsPerReq ?? '–'} / ${s(r)?.redisMsPerReq ?? '–'}`,
      ],
      [`${name}: peak RSS, MiB`, (r) => String(s(r)?.peakRssMb ?? '–')],
      [
        `${name}: acknowledged / lost`,
        (r) => `${s(r)?.acknowledged ?? '–'} / ${s(r)?.lost ?? '–'}`,
      ],
    );
  }
  rows.push([
    'access log on / off (same build, same rounds): deliveries/s, p99 ms, CPU ms per request',
    (r) => accessLogCost(r) ?? '–',
  ]);
  rows.push(
    ['ratio throughput (orch/base)', (r) => `**${r.ratios.throughput.toFixed(2)}×**`],
    ['ratio p99 (orch/base)', (r) => `**${r.ratios.p99.toFixed(2)}×**`],
    [
      'per-round ratios (throughput/p99)',
      (r) =>
        r.ratios.perRound.map((x) => `${x.throughput.toFixed(2)}/${x.p99.toFixed(2)}`).join(', '),
    ],
  );
  for (const phase of runs[0].e2e.map((p) => p.name)) {
    const p = (r: BenchResult): E2ePhase | undefined => r.e2e.find((x) => x.name === phase);
    rows.push(
      [
        `e2e ${phase}: POST→completed p50 / p99 / max, ms`,
        (r) => {
          const x = p(r);
          return x ? `${x.p50Ms} / ${x.p99Ms} / ${x.maxMs}` : '–';
        },
      ],
      [
        `e2e ${phase}: tasks completed/s (completed of acknowledged)`,
        (r) => {
          const x = p(r);
          return x ? `${x.tasksPerSec} (${x.completed}/${x.acknowledged})` : '–';
        },
      ],
    );
  }
  rows.push(
    ['target met', (r) => (r.verdict.met ? 'yes' : 'no')],
    [
      'machine busy during windows (median)',
      (r) => `${median(r.turns.map((t) => t.machineBusyPct)).toFixed(0)} %`,
    ],
  );
  const m = runs[runs.length - 1].machine;
  const s = runs[runs.length - 1].settings;
  return [
    `Last two full runs (${s.rounds} alternating rounds of ${s.warmupS} s warm-up + ${s.durationS} s` +
      ` measured per server, ${s.connections} connections; medians of rounds). Machine:` +
      ` ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node},` +
      ` PostgreSQL ${m.postgres} (synchronous_commit ${m.synchronousCommit},` +
      ` shared_buffers ${m.sharedBuffers}), Redis ${m.redis}; shared with other test runs.`,
    '',
    head,
    rule,
    ...rows.map(([label, f]) => `| ${label} | ${runs.map(f).join(' | ')} |`),
  ].join('\n');
}

/** The orchestrator (ACCESS_LOG on) against the same build with it off, when both ran. */
function accessLogCost(result: BenchResult): string | undefined {
  const on = result.summary.orchestrator;
  const off = result.summary.no_access_log;
  if (!on || !off) return undefined;
  return (
    `${on.reqPerSec} / ${off.reqPerSec} req/s, p99 ${on.p99Ms} / ${off.p99Ms} ms,` +
    ` CPU ${on.cpuMsPerReq} / ${off.cpuMsPerReq} ms`
  );
}
