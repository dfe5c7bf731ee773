import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Pool } from 'pg';
import { signGithubPayload } from '@app/github';
import { createOrchestratorApp } from '../../apps/orchestrator/src/bootstrap';
import { loadOrchestratorConfig } from '../../apps/orchestrator/src/config/orchestrator.config';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { loadWorkerConfig } from '../../apps/worker/src/config/worker.config';
import { TRUNCATE_ALL_SQL } from './tables';

export { exampleRepositories } from './example-repositories';

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789abcdef';
export const CODEGEN_TOKEN = 'codegen-test-token';

type Env = Record<string, string | undefined>;

/** Settings every test app gets: this run's database and Bull prefix, fast relay and backoff. */
export function testEnv(overrides: Env = {}): Env {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: requireEnv('TEST_DATABASE_URL'),
    REDIS_URL: requireEnv('TEST_REDIS_URL'),
    QUEUE_PREFIX: requireEnv('TEST_QUEUE_PREFIX'),
    GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    PORT: '0',
    HOST: '127.0.0.1',
    TASK_BACKOFF_BASE_MS: '50',
    TASK_BACKOFF_MAX_MS: '500',
    TASK_TIMEOUT_MS: '10000',
    RELAY_INTERVAL_MS: '200',
    RELAY_PENDING_AGE_MS: '300',
    RELAY_QUEUED_CHECK_AGE_MS: '1000',
    CODEGEN_ORG_ID: '42',
    CIRCUIT_BREAKER_RECOVERY_MS: '500',
    // Each worker's health listener on a free port, so workers and test runs never collide.
    WORKER_HEALTH_HOST: '127.0.0.1',
    WORKER_HEALTH_PORT: '0',
    WORKER_HEARTBEAT_INTERVAL_MS: '500',
    ...overrides,
  };
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suites through jest.e2e.config.js`);
  return value;
}

export interface RunningOrchestrator {
  app: NestExpressApplication;
  url: string;
  close(): Promise<void>;
}

export async function startOrchestrator(overrides: Env = {}): Promise<RunningOrchestrator> {
  const app = await createOrchestratorApp(loadOrchestratorConfig(testEnv(overrides)));
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}

export interface RunningWorker {
  app: INestApplicationContext;
  close(): Promise<void>;
}

export async function startWorker(overrides: Env = {}): Promise<RunningWorker> {
  const app = await createWorkerApp(loadWorkerConfig(testEnv(overrides)));
  return { app, close: () => app.close() };
}

let pool: Pool | null = null;

/** A plain pg pool on this run's database, for assertions. */
export function db(): Pool {
  pool ??= new Pool({ connectionString: requireEnv('TEST_DATABASE_URL'), max: 3 });
  return pool;
}

export async function closeDb(): Promise<void> {
  await pool?.end();
  pool = null;
}

export async function truncateAll(): Promise<void> {
  await db().query(TRUNCATE_ALL_SQL);
}

export interface DeliveryOptions {
  deliveryId?: string;
  secret?: string;
  signature?: string | null;
  contentType?: string;
  headers?: Record<string, string>;
  rawBody?: Buffer | string;
}

export interface DeliveryResponse {
  status: number;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  headers: Headers;
  deliveryId: string;
}

/** Sends a delivery the way GitHub does: raw JSON, signed over the exact bytes. */
export async function deliver(
  baseUrl: string,
  event: string,
  payload: unknown,
  options: DeliveryOptions = {},
): Promise<DeliveryResponse> {
  const deliveryId = options.deliveryId ?? randomUUID();
  const raw = options.rawBody ?? JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/json',
    'x-github-delivery': deliveryId,
    'x-github-event': event,
    'user-agent': 'GitHub-Hookshot/test',
    ...options.headers,
  };
  if (options.signature !== null) {
    headers['x-hub-signature-256'] =
      options.signature ?? signGithubPayload(raw, options.secret ?? WEBHOOK_SECRET);
  }
  const res = await fetch(`${baseUrl}/api/v1/webhooks/github`, {
    method: 'POST',
    headers,
    body: raw,
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body, headers: res.headers, deliveryId };
}

const requireJson = createRequire(__filename);
type Example = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- GitHub payloads are edited freely in tests

/** A deep copy of a real GitHub example payload for `event`, the first matching `predicate`. */
export function example(event: string, predicate: (p: Example) => boolean = () => true): Example {
  const all = requireJson('@octokit/webhooks-examples/api.github.com/index.json') as Array<{
    name: string;
    examples: Example[];
  }>;
  const found = all.find((e) => e.name === event)?.examples.find(predicate);
  if (!found) throw new Error(`no example payload for ${event}`);
  return structuredClone(found);
}

/** Polls until `check` returns a truthy value, or fails with the last value seen. */
export async function waitFor<T>(
  check: () => Promise<T>,
  { timeoutMs = 15_000, intervalMs = 50, what = 'condition' } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

/** Rows are asserted field by field, so they are loosely typed. */
type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above

export async function taskRows(where = 'true', params: unknown[] = []): Promise<Row[]> {
  const { rows } = await db().query(
    `SELECT * FROM workflow_tasks WHERE ${where} ORDER BY id`,
    params,
  );
  return rows;
}

/** Waits for a task to reach completed, failed or cancelled, and returns its row. */
export async function finished(taskId: string, timeoutMs = 20_000): Promise<Row> {
  return waitFor(
    async () => {
      const [task] = await taskRows('task_id = $1', [taskId]);
      return task && ['completed', 'failed', 'cancelled'].includes(task.status) ? task : null;
    },
    { what: `task ${taskId} to finish`, timeoutMs },
  );
}

/** Waits until no task is pending, queued or running (a previous test's work), then empties the tables. */
export async function drainAndTruncate(timeoutMs = 15_000): Promise<void> {
  await waitFor(
    async () => (await taskRows("status IN ('pending', 'queued', 'running')")).length === 0,
    { what: 'previous test to drain', timeoutMs },
  );
  await truncateAll();
}
