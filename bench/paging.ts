/**
 * `npm run bench:paging`: how fast the operator API's list pages are on a million rows.
 *
 * Creates `orchestrator_paging_<id>` on the local PostgreSQL, migrates it with the built runner,
 * fills `webhook_events` and `workflow_tasks` with PAGING_ROWS rows each (default 1,000,000;
 * realistic spreads of event types, repositories, statuses and task types) and
 * `agent_run_outcomes` with PAGING_OUTCOME_ROWS agent runs (default 200,000: one busy repository
 * with BUSY_RUNS of them in the last 7 days, the rest over 200 repositories and 90 days),
 * ANALYZEs, starts the built orchestrator on 127.0.0.1, and times each list query through HTTP
 * with a viewer token: PAGING_REPEATS requests per query after one warm-up, reported as median
 * and max (PAGING_ONLY: only the queries whose name contains it, e.g. `agent`). Drops the
 * database at the end. Everything stays on this machine; nothing else is touched.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import { BenchDatabase } from './database';
import { fillPagingDataset } from './paging-dataset';
import { ChildApp, freePort } from './processes';
import { localUrl } from './settings';

const ROWS = Number(process.env.PAGING_ROWS ?? 1_000_000);
const REPEATS = Number(process.env.PAGING_REPEATS ?? 20);
const OUTCOME_ROWS = Math.min(ROWS, Number(process.env.PAGING_OUTCOME_ROWS ?? 200_000));
/** Agent runs of the one busy repository, all in the last 7 days. */
const BUSY_RUNS = Math.min(OUTCOME_ROWS, 10_000);
const BUSY_REPOSITORY = 'octo-org/busy';
/** Times only the queries whose name contains it (e.g. `agent`); all when unset. */
const ONLY = process.env.PAGING_ONLY ?? '';
const ADMIN_URL = localUrl(
  'BENCH_DATABASE_ADMIN_URL',
  process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
);
const REDIS_URL = localUrl(
  'BENCH_REDIS_URL',
  process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
);
const APP_DIR = process.env.BENCH_APP_DIR ?? 'dist';

/** The list queries an operator runs, newest first, with and without filters. */
const QUERIES: Array<[string, string]> = [
  ['events, first page (50)', '/api/v1/webhooks/events'],
  ['events, 1000 per page', '/api/v1/webhooks/events?limit=1000'],
  ['events by type', '/api/v1/webhooks/events?event_type=check_suite'],
  ['events not processed', '/api/v1/webhooks/events?processed=false'],
  ['events by type, offset 10,000', '/api/v1/webhooks/events?event_type=push&offset=10000'],
  ['events, offset 500,000', '/api/v1/webhooks/events?offset=500000'],
  ['tasks, first page (50)', '/api/v1/tasks'],
  ['tasks by status', '/api/v1/tasks?status=failed'],
  ['tasks by type', '/api/v1/tasks?task_type=codegen_trigger'],
  ['tasks by repository', '/api/v1/tasks?repository=octo-org/repo-17'],
  ['tasks by status and type', '/api/v1/tasks?status=completed&task_type=push_analysis'],
  ['tasks, offset 500,000', '/api/v1/tasks?offset=500000'],
  ['agent runs, first page (50)', '/api/v1/agent-runs'],
  ['agent runs of the busy repository', `/api/v1/agent-runs?repository=${BUSY_REPOSITORY}`],
  [
    'agent runs of the busy repository, fixed, 7 days',
    `/api/v1/agent-runs?repository=${BUSY_REPOSITORY}&outcome=fixed&since=7d`,
  ],
  ['agent runs still failing, 7 days', '/api/v1/agent-runs?outcome=still_failing&since=7d'],
  [
    'agent runs of the busy repository, offset 5,000',
    `/api/v1/agent-runs?repository=${BUSY_REPOSITORY}&offset=5000`,
  ],
  ['agent-run summary, 7 days (default)', '/api/v1/agent-runs/summary'],
  [
    'agent-run summary of the busy repository, 7 days',
    `/api/v1/agent-runs/summary?repository=${BUSY_REPOSITORY}`,
  ],
  [
    'agent-run summary of the busy repository, 90 days',
    `/api/v1/agent-runs/summary?repository=${BUSY_REPOSITORY}&since=90d`,
  ],
  ['agent-run summary, 90 days (every run)', '/api/v1/agent-runs/summary?since=90d'],
];

/**
 * Agent runs for the summary and list: they need a trigger task (foreign key), so the first
 * OUTCOME_ROWS tasks serve; ANALYZEd.
 */
async function fillAgentRuns(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // The first BUSY_RUNS go to one repository over the last 7 days; the rest spread over 200
    // repositories and 90 days. Outcomes: 45 % fixed, 15 % still failing, 15 % no change, 10 %
    // run failed, 5 % superseded, 10 % pending; 30 check names, every fifth run sent for two.
    await client.query(
      `INSERT INTO agent_run_outcomes
         (task_id, repository, pr_number, trigger_kind, check_scope, failing_checks,
          failing_check_completed_at, head_sha, codegen_run_id, codegen_status, web_url, outcome,
          time_to_green_seconds, created_at, finished_at, judged_at)
       SELECT t.task_id, r.repository, (t.n % 5000)::int, 'check_failure', 'check_run',
              CASE WHEN t.n % 5 = 0
                   THEN ARRAY['check-' || (t.n % 30), 'check-' || ((t.n + 7) % 30)]
                   ELSE ARRAY['check-' || (t.n % 30)] END,
              r.created_at - interval '2 minutes', md5(t.n::text), t.n::text,
              CASE o.outcome WHEN 'pending' THEN 'ACTIVE' WHEN 'run_failed' THEN 'FAILED'
                             ELSE 'COMPLETE' END,
              'https://codegen.com/agent/trace/' || t.n, o.outcome,
              CASE WHEN o.outcome = 'fixed' THEN 60 + (t.n * 7919) % 7200 END,
              r.created_at,
              CASE WHEN o.outcome <> 'pending' THEN r.created_at + interval '10 minutes' END,
              CASE WHEN o.outcome <> 'pending' THEN r.created_at + interval '30 minutes' END
         FROM (SELECT task_id, row_number() OVER (ORDER BY id) AS n
                 FROM workflow_tasks ORDER BY id LIMIT $1) t
        CROSS JOIN LATERAL (SELECT
               CASE WHEN t.n <= $2 THEN $3
                    ELSE 'octo-org/repo-' || (t.n % 200) END AS repository,
               CASE WHEN t.n <= $2 THEN now() - (t.n * (7 * 86400 / $2::float)) * interval '1 second'
                    ELSE now() - ((t.n * 7919) % (90 * 86400)) * interval '1 second' END
                 AS created_at) r
        CROSS JOIN LATERAL (SELECT CASE
               WHEN t.n % 20 < 9 THEN 'fixed'
               WHEN t.n % 20 < 12 THEN 'still_failing'
               WHEN t.n % 20 < 15 THEN 'no_change'
               WHEN t.n % 20 < 17 THEN 'run_failed'
               WHEN t.n % 20 < 18 THEN 'superseded'
               ELSE 'pending' END AS outcome) o`,
      [OUTCOME_ROWS, BUSY_RUNS, BUSY_REPOSITORY],
    );
    await client.query('ANALYZE agent_run_outcomes');
  } finally {
    await client.end();
  }
}

async function timeQuery(base: string, path: string, token: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i <= REPEATS; i++) {
    const started = performance.now();
    const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
    const body: unknown = await res.json();
    const elapsed = performance.now() - started;
    // A list answers a non-empty page; a summary an object that counted some runs.
    const answered = Array.isArray(body)
      ? body.length > 0
      : ((body as { overall?: { runs?: number } }).overall?.runs ?? 0) > 0;
    if (res.status !== 200 || !answered) {
      throw new Error(`${path} answered ${res.status} with ${JSON.stringify(body).slice(0, 200)}`);
    }
    if (i > 0) times.push(elapsed);
  }
  return times.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const runId = randomBytes(4).toString('hex');
  const db = new BenchDatabase(ADMIN_URL, `orchestrator_paging_${runId}`);
  const logDir = join('bench', 'results', `logs-paging-${runId}`);
  mkdirSync(logDir, { recursive: true });
  let app: ChildApp | null = null;
  await db.create();
  try {
    await db.migrate(APP_DIR);
    const filled = performance.now();
    await fillPagingDataset(db.url, ROWS);
    await fillAgentRuns(db.url);
    console.log(
      `[paging] ${ROWS} events, ${ROWS} tasks and ${OUTCOME_ROWS} agent runs written in ${((performance.now() - filled) / 1000).toFixed(1)} s`,
    );
    const secretKey = randomBytes(32).toString('hex');
    const port = await freePort();
    app = ChildApp.start(
      'orchestrator-paging',
      [join(APP_DIR, 'apps/orchestrator/src/main.js')],
      {
        NODE_ENV: 'production',
        DATABASE_URL: db.url,
        REDIS_URL,
        QUEUE_PREFIX: `paging_${runId}`,
        GITHUB_WEBHOOK_SECRET: randomBytes(16).toString('hex'),
        SECRET_KEY: secretKey,
        HOST: '127.0.0.1',
        PORT: String(port),
        API_RATE_LIMIT_PER_MINUTE: '1000000',
        API_RATE_LIMIT_BURST: '1000000',
      },
      join(logDir, 'orchestrator.log'),
    );
    await app.waitForHttp(port);
    const token = mintAccessToken(secretKey, { sub: 'paging-bench', role: Role.Viewer }, 3600);
    const base = `http://127.0.0.1:${port}`;
    console.log(
      `\n| query (${ROWS.toLocaleString('en')} rows, ${OUTCOME_ROWS.toLocaleString('en')} agent runs) | median ms | max ms |`,
    );
    console.log('| --- | --- | --- |');
    for (const [name, path] of QUERIES.filter(([name]) => name.includes(ONLY))) {
      const times = await timeQuery(base, path, token);
      const median = times[Math.floor(times.length / 2)];
      console.log(
        `| ${name} \`${path}\` | ${median.toFixed(1)} | ${times[times.length - 1].toFixed(1)} |`,
      );
    }
  } finally {
    if (app) await app.stop();
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
