import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import Bull from 'bull';
import { Pool } from 'pg';

/**
 * The hand-written baseline the orchestrator is measured against: node:http, pg and bull doing
 * the same durable work naively, one statement per step: read the body, verify the HMAC, parse,
 * insert the event, insert one task, add one Bull job, answer 200. Started by bench/run.ts as a
 * plain node process (transpiled, not through ts-node), configured through BASELINE_* variables.
 */

const PATH = '/api/v1/webhooks/github';
const TASK_TYPES: Record<string, string> = {
  pull_request: 'pull_request_analysis',
  check_run: 'check_failure_analysis',
  check_suite: 'check_suite_failure_analysis',
  push: 'push_analysis',
};

function setting(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

const secret = setting('BASELINE_SECRET');
const maxBody = Number(setting('BASELINE_MAX_BODY', '1048576'));
const pool = new Pool({
  connectionString: setting('BASELINE_DATABASE_URL'),
  max: Number(setting('BASELINE_POOL_SIZE', '10')),
  // Its own copy of the tables, as first created (see bench/database.ts).
  options: `-c search_path=${setting('BASELINE_SCHEMA', 'baseline')}`,
  keepAlive: true,
  application_name: 'bench-baseline',
});
const queue = new Bull<{ taskId: string }>('analysis', setting('BASELINE_REDIS_URL'), {
  prefix: setting('BASELINE_QUEUE_PREFIX'),
});

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBody) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBody ? null : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function signatureValid(body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice(7), 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || req.url !== PATH) {
    req.resume();
    return send(res, 404, { error: 'not found' });
  }
  const body = await readBody(req);
  if (body === null) return send(res, 413, { error: 'payload too large' });
  const deliveryId = req.headers['x-github-delivery'];
  const event = req.headers['x-github-event'];
  if (typeof deliveryId !== 'string' || typeof event !== 'string') {
    return send(res, 400, { error: 'missing GitHub headers' });
  }
  if (!signatureValid(body, req.headers['x-hub-signature-256'])) {
    return send(res, 401, { error: 'invalid signature' });
  }
  const json = body.toString('utf8');
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return send(res, 400, { error: 'invalid JSON' });
  }
  const repository = text((payload.repository as Record<string, unknown> | undefined)?.full_name);
  try {
    const inserted = await pool.query<{ id: string }>(
      `INSERT INTO webhook_events (delivery_id, event_type, action, repository, payload, headers)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [
        deliveryId,
        event,
        text(payload.action),
        repository,
        json,
        JSON.stringify({ 'x-github-event': event, 'user-agent': req.headers['user-agent'] }),
      ],
    );
    const taskId = randomUUID();
    await pool.query(
      `INSERT INTO workflow_tasks (task_id, webhook_event_id, task_type, repository)
       VALUES ($1, $2, $3, $4)`,
      [taskId, inserted.rows[0].id, TASK_TYPES[event] ?? 'unsupported', repository],
    );
    await queue.add({ taskId }, { jobId: taskId, removeOnComplete: true });
    send(res, 200, { status: 'accepted', delivery_id: deliveryId, task_id: taskId });
  } catch (error) {
    const duplicate = (error as { code?: string }).code === '23505';
    send(res, duplicate ? 409 : 503, { error: duplicate ? 'duplicate delivery' : 'unavailable' });
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => send(res, 500, { error: 'internal error' }));
});

async function stop(): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await queue.close();
  await pool.end();
  process.exit(0);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    stop().catch(() => process.exit(1));
  });
}

server.listen(Number(setting('BASELINE_PORT', '0')), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(JSON.stringify({ message: 'baseline listening', port }) + '\n');
});
