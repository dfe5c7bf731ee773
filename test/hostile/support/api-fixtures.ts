import { randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { mintAccessToken } from '../../../apps/orchestrator/src/auth/access-token';
import { Role } from '../../../apps/orchestrator/src/auth/role';
import { db, deliver, example, testEnv } from '../../support/harness';
import type { AuthKind, IdPools } from './api-model';
import type { LeakWatch } from './leak-watch';

const SECRET_KEY = testEnv().SECRET_KEY as string;

/** Every Authorization value the suite sends; all of them are secrets for the leak check. */
export function authorizations(leaks: LeakWatch): Record<AuthKind, string | undefined> {
  const token = (role: string, key = SECRET_KEY, ttl = 3600): string =>
    sign({ role }, key, {
      algorithm: 'HS256',
      subject: `hostile-${role}`,
      issuer: 'webhook-orchestrator',
      expiresIn: ttl,
    });
  const operator = mintAccessToken(
    SECRET_KEY,
    { sub: 'hostile-operator', role: Role.Operator },
    3600,
  );
  const viewer = mintAccessToken(SECRET_KEY, { sub: 'hostile-viewer', role: Role.Viewer }, 3600);
  const [header, , signature] = viewer.split('.');
  const elevated = Buffer.from(
    JSON.stringify({
      role: 'operator',
      sub: 'hostile-viewer',
      iss: 'webhook-orchestrator',
      exp: 4102444800,
    }),
  ).toString('base64url');
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${elevated}.`;
  const values: Record<AuthKind, string | undefined> = {
    operator: `Bearer ${operator}`,
    viewer: `Bearer ${viewer}`,
    none: undefined,
    expired: `Bearer ${sign({ role: 'operator', exp: Math.floor(Date.now() / 1000) - 60 }, SECRET_KEY, { algorithm: 'HS256', subject: 'hostile-expired', issuer: 'webhook-orchestrator' })}`,
    forged: `Bearer ${token('operator', 'not-the-secret-key-0123456789abcdef')}`,
    'alg-none': `Bearer ${none}`,
    tampered: `Bearer ${header}.${elevated}.${signature}`,
    'unknown-role': `Bearer ${token('admin')}`,
    basic: `Basic ${Buffer.from(`admin:${randomUUID()}`).toString('base64')}`,
    'no-scheme': operator,
    garbage: `Bearer ${randomUUID()}${randomUUID()}`,
  };
  for (const [kind, value] of Object.entries(values))
    if (value) leaks.secret(`Authorization (${kind})`, value);
  return values;
}

/** Deliveries of real payloads, so list and detail routes answer with rows; some tasks failed. */
export async function seed(url: string): Promise<IdPools> {
  const payloads: Array<[string, Record<string, unknown>]> = [
    ['pull_request', example('pull_request', (p) => p.action === 'opened')],
    ['pull_request', example('pull_request', (p) => p.action === 'synchronize')],
    ['push', { ...example('push', (p) => p.ref === 'refs/heads/master' && p.deleted === false) }],
    [
      'check_run',
      example('check_run', (p) => p.action === 'completed' && p.check_run.conclusion === 'failure'),
    ],
    ['ping', example('ping')],
    ['issues', example('issues', (p) => p.action === 'opened')],
    ['installation', example('installation', (p) => p.action === 'created')],
    [
      'star',
      {
        action: 'created',
        ключ: '值 💥',
        __note: "'; DROP TABLE webhook_events; --",
        nested: { a: [1, null, { b: '\u202e' }] },
      },
    ],
  ];
  // Each seeding sends its own bodies: a stored body under a new delivery id is a replay (409).
  const run = randomUUID();
  for (const [event, payload] of payloads) {
    const res = await deliver(url, event, { ...payload, seed_run: run });
    if (res.status !== 200)
      throw new Error(`seeding ${event} failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const pool = db();
  // Failed and cancelled tasks (retry's 200), an attempt row (the execution schema), and
  // events that ended in error (reprocess's 200).
  await pool.query(`UPDATE workflow_tasks SET status = 'failed', error_message = 'seeded failure', completed_at = now()
                    WHERE id IN (SELECT id FROM workflow_tasks ORDER BY id LIMIT 2)`);
  await pool.query(`UPDATE workflow_tasks SET status = 'cancelled', completed_at = now()
                    WHERE id IN (SELECT id FROM workflow_tasks WHERE status = 'pending' ORDER BY id LIMIT 1)`);
  await pool.query(
    `INSERT INTO task_executions (execution_id, task_id, attempt, status, started_at, completed_at, duration_ms, worker_id, queue_name, error_message)
     SELECT $1, id, 1, 'failed', now() - interval '2 seconds', now(), 2000, 'hostile-worker', 'analysis', 'seeded'
       FROM workflow_tasks WHERE status = 'failed' ORDER BY id LIMIT 1`,
    [randomUUID()],
  );
  await pool.query(`UPDATE webhook_events SET processed = true, error_message = 'seeded: a task failed'
                    WHERE id IN (SELECT webhook_event_id FROM workflow_tasks WHERE status = 'failed')`);
  const events = await pool.query<{ id: string }>('SELECT id FROM webhook_events ORDER BY id');
  const tasks = await pool.query<{ task_id: string }>(
    'SELECT task_id FROM workflow_tasks ORDER BY id',
  );
  return {
    eventIds: events.rows.map((r) => Number(r.id)),
    taskIds: tasks.rows.map((r) => r.task_id),
  };
}
