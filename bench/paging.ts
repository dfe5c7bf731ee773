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
import { mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import { BenchDatabase } from './database';
import { fillPagingDataset } from './paging-dataset';
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
    await fillPagingDataset(db.url, ROWS);
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
