/**
 * `npm run bench:paging`: how fast the operator API's list pages are on a million rows.
 *
 * Creates `orchestrator_paging_<id>` on the local PostgreSQL, migrates it with the built runner,
 * fills `webhook_events` and `workflow_tasks` with PAGING_ROWS rows each (default 1,000,000;
 * realistic spreads of event types, repositories, statuses and task types), ANALYZEs, starts the
 * built orchestrator on 127.0.0.1, and times each list query through HTTP with a viewer token:
 * PAGING_REPEATS requests per query after one warm-up, reported as median and max. Drops the
 * database at the end. Everything stays on this machine; nothing else is touched.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import { BenchDatabase } from './database';
import { ChildApp, freePort } from './processes';
import { localUrl } from './settings';

const ROWS = Number(process.env.PAGING_ROWS ?? 1_000_000);
const REPEATS = Number(process.env.PAGING_REPEATS ?? 20);
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
];

async function fill(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO webhook_events
         (delivery_id, event_type, action, repository, installation_id, sender_login, payload,
          headers, processed, created_at, updated_at)
       SELECT 'paging-' || g,
              (ARRAY['pull_request','pull_request','pull_request','check_run','check_suite',
                     'push','ping','installation'])[1 + g % 8],
              'opened', 'octo-org/repo-' || (g % 200), 1000 + g % 5, 'octocat',
              jsonb_build_object('action', 'opened', 'number', g % 5000,
                                 'repository', jsonb_build_object('full_name', 'octo-org/repo-' || (g % 200))),
              '{"x-github-event":"pull_request"}'::jsonb,
              g % 20 <> 0,
              now() - (($1::int - g) * interval '1 second'),
              now() - (($1::int - g) * interval '1 second')
         FROM generate_series(1, $1::int) AS g`,
      [ROWS],
    );
    await client.query(
      `INSERT INTO workflow_tasks
         (task_id, webhook_event_id, task_type, status, repository, pr_number, commit_sha,
          completed_at, created_at, updated_at)
       SELECT gen_random_uuid(), e.id,
              (ARRAY['pull_request_analysis','pull_request_analysis','check_failure_analysis',
                     'check_suite_failure_analysis','push_analysis','codegen_trigger'])[1 + e.id % 6],
              s.status, e.repository, (e.id % 5000)::int, md5(e.id::text),
              CASE WHEN s.status IN ('completed','failed','cancelled') THEN e.created_at END,
              e.created_at, e.created_at
         FROM webhook_events e
         CROSS JOIN LATERAL (SELECT CASE
                WHEN e.id % 100 < 85 THEN 'completed'
                WHEN e.id % 100 < 90 THEN 'failed'
                WHEN e.id % 100 < 93 THEN 'cancelled'
                WHEN e.id % 100 < 98 THEN 'queued'
                WHEN e.id % 100 < 99 THEN 'running'
                ELSE 'pending' END AS status) s`,
    );
    await client.query('ANALYZE webhook_events');
    await client.query('ANALYZE workflow_tasks');
  } finally {
    await client.end();
  }
}

async function timeQuery(base: string, path: string, token: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i <= REPEATS; i++) {
    const started = performance.now();
    const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.json();
    const elapsed = performance.now() - started;
    if (res.status !== 200 || !Array.isArray(body) || body.length === 0) {
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
    await fill(db.url);
    console.log(
      `[paging] ${ROWS} events and ${ROWS} tasks written in ${((performance.now() - filled) / 1000).toFixed(1)} s`,
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
    console.log(`\n| query (${ROWS.toLocaleString('en')} rows) | median ms | max ms |`);
    console.log('| --- | --- | --- |');
    for (const [name, path] of QUERIES) {
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
