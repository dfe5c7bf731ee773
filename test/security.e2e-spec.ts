import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { AuditTrail, METRICS_REGISTRY, redisConnectionOptions } from '@app/platform';
import { buildDataSourceOptions, runRetention } from '@app/persistence';
import { QueueName } from '@app/runtime';
import { signGithubPayload } from '@app/github';
import { mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import {
  closeDb,
  db,
  deliver,
  example,
  RunningOrchestrator,
  startOrchestrator,
  testEnv,
  truncateAll,
  waitFor,
  WEBHOOK_SECRET,
} from './support/harness';
import { startApp } from './support/app-process';
import { makeTestPki, startPostgresTls, startRedisTls, TestPki } from './support/tls-terminators';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_sec`;
const SECRET_KEY = testEnv().SECRET_KEY as string;
const viewer = mintAccessToken(SECRET_KEY, { sub: 'vera', role: Role.Viewer }, 600);
const operator = mintAccessToken(SECRET_KEY, { sub: 'otto', role: Role.Operator }, 600);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Accept both forms Node may report for a loopback client. */
const LOOPBACK = /^(127\.0\.0\.1|::ffff:127\.0\.0\.1|::1)$/;
/** High limits, so only the tests that are about limits meet them. */
const ROOMY = {
  API_RATE_LIMIT_BURST: '100000',
  API_RATE_LIMIT_PER_MINUTE: '1000000',
  WEBHOOK_RATE_LIMIT_BURST: '100000',
  WEBHOOK_RATE_LIMIT_PER_SECOND: '100000',
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies and rows are asserted field by field

interface ApiResponse {
  status: number;
  body: Json;
  headers: Headers;
  text: string;
}

async function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<ApiResponse> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.body,
  });
  const text = await res.text();
  let body: Json = {};
  try {
    body = JSON.parse(text) as Json;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body, headers: res.headers, text };
}

function trailOf(orch: RunningOrchestrator): AuditTrail {
  return orch.app.get(AuditTrail);
}

/** Rows of audit_log after everything recorded so far has been written. */
async function auditRows(
  orch: RunningOrchestrator,
  where = 'true',
  params: unknown[] = [],
): Promise<Json[]> {
  await trailOf(orch).flush();
  const { rows } = await db().query(`SELECT * FROM audit_log WHERE ${where} ORDER BY id`, params);
  return rows;
}

async function securityEvents(orch: RunningOrchestrator, type: string): Promise<number> {
  const registry = orch.app.get<Registry>(METRICS_REGISTRY);
  const metric = await registry.getSingleMetric('security_events_total')?.get();
  return metric?.values.find((v) => v.labels.type === type)?.value ?? 0;
}

function openedPr(number: number) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.pull_request.number = number;
  payload.number = number;
  return payload;
}

/** Runs `fn` over `items` with at most `width` in flight. */
async function inBatches<T, R>(
  items: T[],
  width: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  }
  return out;
}

describe('audit trail', () => {
  let orch: RunningOrchestrator;

  beforeAll(async () => {
    orch = await startOrchestrator({ QUEUE_PREFIX: PREFIX, ...ROOMY });
  });
  afterAll(async () => {
    await orch.close();
    await closeDb();
  });
  beforeEach(async () => {
    await trailOf(orch).flush();
    await truncateAll();
  });

  describe('webhook signature failures', () => {
    it('records which check failed, with client, delivery id and event, never the body or signature', async () => {
      const body = { zen: 'body-marker-7f3a' };
      const forgedSignature = signGithubPayload(JSON.stringify(body), 'not-the-secret');
      const missing = await deliver(orch.url, 'ping', body, { signature: null });
      const malformed = await deliver(orch.url, 'push', body, { signature: 'sha1=abc' });
      const mismatch = await deliver(orch.url, 'pull_request', body, {
        signature: forgedSignature,
        headers: { 'x-request-id': 'forged-req-1' },
      });
      expect([missing.status, malformed.status, mismatch.status]).toEqual([401, 401, 401]);

      const rows = await auditRows(orch, "type = 'webhook.signature_failure'");
      expect(rows.map((r) => [r.reason, r.details.delivery_id, r.details.event, r.count])).toEqual([
        ['missing', missing.deliveryId, 'ping', 1],
        ['malformed', malformed.deliveryId, 'push', 1],
        ['mismatch', mismatch.deliveryId, 'pull_request', 1],
      ]);
      expect(rows[2]).toMatchObject({
        outcome: 'denied',
        actor: null,
        correlation_id: 'forged-req-1',
        client_address: expect.stringMatching(LOOPBACK),
      });
      const stored = JSON.stringify(rows);
      expect(stored).not.toContain('body-marker-7f3a');
      expect(stored).not.toContain(forgedSignature.slice(7, 40));
      expect(stored).not.toContain('sha1=abc');
    });

    it('refuses a signed body replayed under new delivery ids with 409 duplicate payload, audited', async () => {
      const body = example('pull_request', (p) => p.action === 'opened');
      const first = await deliver(orch.url, 'pull_request', body);
      expect(first.status).toBe(200);
      const replays = [];
      for (let i = 0; i < 3; i++) {
        replays.push(
          await deliver(orch.url, 'pull_request', body, {
            headers: { 'x-request-id': `replay-${i}` },
          }),
        );
      }
      for (const replay of replays) {
        expect(replay.status).toBe(409);
        expect(replay.body).toMatchObject({
          error: 'duplicate payload',
          status_code: 409,
          path: '/api/v1/webhooks/github',
        });
      }
      const events = await db().query<{ delivery_id: string }>(
        'SELECT delivery_id FROM webhook_events',
      );
      expect(events.rows.map((r) => r.delivery_id)).toEqual([first.deliveryId]);
      expect((await db().query('SELECT 1 FROM workflow_tasks')).rows).toHaveLength(1);
      // GitHub's own redelivery keeps its delivery id: answered as before, not as a replay.
      const redelivery = await deliver(orch.url, 'pull_request', body, {
        deliveryId: first.deliveryId,
      });
      expect(redelivery.status).toBe(409);
      expect(redelivery.body.error).toBe(`delivery ${first.deliveryId} was already received`);

      const rows = await auditRows(orch, "type = 'webhook.duplicate_payload'");
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        outcome: 'refused',
        reason: 'duplicate_payload',
        count: 3,
        client_address: expect.stringMatching(LOOPBACK),
        details: { delivery_id: replays[0].deliveryId, event: 'pull_request' },
      });
      expect(await securityEvents(orch, 'webhook.duplicate_payload')).toBe(3);
    });

    it('accepts identical pings under new delivery ids: a ping that creates no task is exempt', async () => {
      const ping = { zen: 'Keep it logically awesome.', hook_id: 7 };
      expect((await deliver(orch.url, 'ping', ping)).status).toBe(200);
      expect((await deliver(orch.url, 'ping', ping)).status).toBe(200);
      expect(await auditRows(orch, "type = 'webhook.duplicate_payload'")).toEqual([]);
    });

    it('writes nothing for a verified delivery (the hot path stays free of audit I/O)', async () => {
      const before = trailOf(orch).backlog;
      expect((await deliver(orch.url, 'ping', { zen: 'ok', hook_id: 1 })).status).toBe(200);
      expect(trailOf(orch).backlog).toEqual(before);
      expect(await auditRows(orch)).toEqual([]);
    });

    it('folds a flood of 500 forged deliveries from one address into a few rows whose counts sum to 500', async () => {
      // Default limits: the flood also meets the per-address limit of unverified requests.
      const fresh = await startOrchestrator({ QUEUE_PREFIX: `${PREFIX}_flood` });
      try {
        const before = await securityEvents(fresh, 'webhook.signature_failure');
        const responses = await inBatches(
          Array.from({ length: 500 }, (_, i) => i),
          25,
          (i) => deliver(fresh.url, 'push', { n: i }, { secret: 'forged-secret' }),
        );
        const statuses = responses.map((r) => r.status);
        const throttled = statuses.filter((s) => s === 429).length;
        expect(statuses.filter((s) => s === 401).length + throttled).toBe(500);
        expect(throttled).toBeGreaterThan(400);

        const failures = await auditRows(fresh, "type = 'webhook.signature_failure'");
        // One row per minute (two if the flood straddled a minute boundary).
        expect(failures.length).toBeGreaterThanOrEqual(1);
        expect(failures.length).toBeLessThanOrEqual(2);
        expect(failures.reduce((sum, r) => sum + r.count, 0)).toBe(500);
        expect(failures[0]).toMatchObject({
          reason: 'mismatch',
          client_address: expect.stringMatching(LOOPBACK),
          details: expect.objectContaining({ event: 'push', delivery_ids: expect.any(Array) }),
        });
        expect(failures[0].details.delivery_ids.length).toBeLessThanOrEqual(5);

        const limited = await auditRows(fresh, "type = 'webhook.throttled'");
        expect(limited.length).toBeLessThanOrEqual(2);
        expect(limited.reduce((sum, r) => sum + r.count, 0)).toBe(throttled);
        expect(limited[0]).toMatchObject({ outcome: 'throttled', reason: 'invalid_signature' });

        expect(
          (await db().query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n,
        ).toBeLessThanOrEqual(4);
        expect((await securityEvents(fresh, 'webhook.signature_failure')) - before).toBe(500);
        // And on the scrape endpoint, from this app's registry.
        const scrape = await fetch(`${fresh.url}/metrics`);
        expect(scrape.status).toBe(200);
        const text = await scrape.text();
        expect(text).toContain('security_events_total{type="webhook.signature_failure"} 500');
        expect(text).toContain(`security_events_total{type="webhook.throttled"} ${throttled}`);
      } finally {
        await fresh.close();
      }
    });
  });

  describe('API authentication and roles', () => {
    it('records each authentication failure with route and client; the subject only when the token proves it', async () => {
      const expired = mintAccessToken(SECRET_KEY, { sub: 'eve', role: Role.Operator }, 1);
      await new Promise((r) => setTimeout(r, 1100));
      const forged = mintAccessToken(
        'another-secret-another-secret-xx',
        { sub: 'mallory', role: Role.Operator },
        60,
      );
      const path = `/api/v1/tasks/${randomUUID()}`;
      for (const headers of <Array<Record<string, string>>>[
        {},
        { authorization: 'Basic dXNlcjpwYXNz' },
        { authorization: `Bearer ${forged}` },
        { authorization: `Bearer ${expired}` },
      ]) {
        expect((await call(orch.url, 'GET', path, { headers })).status).toBe(401);
      }
      const rows = await auditRows(orch, "type = 'api.auth_failure'");
      expect(rows.map((r) => [r.reason, r.actor])).toEqual([
        ['missing', null],
        ['malformed', null],
        ['invalid', null],
        ['expired', 'eve'],
      ]);
      for (const row of rows) {
        expect(row).toMatchObject({
          outcome: 'denied',
          target: 'GET /api/v1/tasks/:task_id',
          client_address: expect.stringMatching(LOOPBACK),
          count: 1,
        });
      }
      expect(JSON.stringify(rows)).not.toContain('mallory');
      expect(JSON.stringify(rows)).not.toContain(forged.slice(-20));
    });

    it('records forbidden attempts with the actor and role', async () => {
      const res = await call(orch.url, 'POST', `/api/v1/tasks/${randomUUID()}/retry`, {
        token: viewer,
        headers: { 'x-request-id': 'forbidden-1' },
      });
      expect(res.status).toBe(403);
      const [row] = await auditRows(orch, "type = 'api.forbidden'");
      expect(row).toMatchObject({
        outcome: 'denied',
        actor: 'vera',
        role: 'viewer',
        reason: 'needs_operator',
        target: 'POST /api/v1/tasks/:task_id/retry',
        correlation_id: 'forbidden-1',
      });
    });
  });

  describe('admin actions', () => {
    it('records retry, reprocess and cleanup with actor, role, target, outcome and correlation id', async () => {
      const d = await deliver(orch.url, 'pull_request', openedPr(71));
      const taskId = d.body.result.task_id as string;
      const [{ id: eventId }] = (await db().query('SELECT id FROM webhook_events')).rows;
      const missing = randomUUID();
      const headers = (id: string) => ({ 'x-request-id': id });

      expect(
        (
          await call(orch.url, 'POST', `/api/v1/tasks/${missing}/retry`, {
            token: operator,
            headers: headers('r-404'),
          })
        ).status,
      ).toBe(404);
      expect(
        (
          await call(orch.url, 'POST', `/api/v1/tasks/${taskId}/retry`, {
            token: operator,
            headers: headers('r-400'),
          })
        ).status,
      ).toBe(400);
      await db().query(`UPDATE workflow_tasks SET status = 'failed' WHERE task_id = $1`, [taskId]);
      expect(
        (
          await call(orch.url, 'POST', `/api/v1/tasks/${taskId}/retry?force=true`, {
            token: operator,
            headers: headers('r-200'),
          })
        ).status,
      ).toBe(200);
      await db().query(`UPDATE webhook_events SET processed = true, error_message = 'boom'`);
      const reprocess = await call(
        orch.url,
        'POST',
        `/api/v1/webhooks/events/${eventId}/reprocess`,
        { token: operator, headers: headers('p-200') },
      );
      expect(reprocess.status).toBe(200);
      const cleanup = await call(orch.url, 'POST', '/api/v1/admin/cleanup', {
        token: operator,
        headers: headers('c-202'),
      });
      expect(cleanup.status).toBe(202);

      const rows = await auditRows(orch, "type LIKE 'admin.%'");
      expect(
        rows.map((r) => ({
          type: r.type,
          outcome: r.outcome,
          target: r.target,
          correlation: r.correlation_id,
        })),
      ).toEqual([
        {
          type: 'admin.task_retry',
          outcome: 'not_found',
          target: `task:${missing}`,
          correlation: 'r-404',
        },
        {
          type: 'admin.task_retry',
          outcome: 'refused',
          target: `task:${taskId}`,
          correlation: 'r-400',
        },
        {
          type: 'admin.task_retry',
          outcome: 'succeeded',
          target: `task:${taskId}`,
          correlation: 'r-200',
        },
        {
          type: 'admin.event_reprocess',
          outcome: 'succeeded',
          target: `event:${eventId}`,
          correlation: 'p-200',
        },
        {
          type: 'admin.cleanup',
          outcome: 'succeeded',
          target: `task:${cleanup.body.task_id}`,
          correlation: 'c-202',
        },
      ]);
      for (const row of rows) {
        expect(row).toMatchObject({
          actor: 'otto',
          role: 'operator',
          count: 1,
          aggregate_key: null,
        });
        expect(row.client_address).toMatch(LOOPBACK);
      }
      expect(rows[1]).toMatchObject({
        reason: 'invalid_input',
        details: expect.objectContaining({
          force: false,
          error: expect.stringContaining('only failed or cancelled'),
        }),
      });
      expect(rows[2].details).toEqual({ force: true, job_id: taskId });
      expect(rows[3].details).toEqual({
        force: false,
        status: 'reprocessing',
        task_ids: reprocess.body.task_ids,
      });
      expect(rows[4].details).toEqual({ force: false, retention_days: 30 });
    });

    it('records a delivery recovery request', async () => {
      const res = await call(orch.url, 'POST', '/api/v1/admin/deliveries/recover', {
        token: operator,
        headers: { 'x-request-id': 'recover-1' },
      });
      expect(res.status).toBe(202);
      const [row] = await auditRows(orch, "type = 'admin.delivery_recovery'");
      expect(row).toMatchObject({
        outcome: 'succeeded',
        actor: 'otto',
        role: 'operator',
        target: `task:${res.body.task_id}`,
        correlation_id: 'recover-1',
      });
    });

    it('never blocks or fails the request it describes, even when audit_log cannot be written', async () => {
      await db().query('ALTER TABLE audit_log RENAME TO audit_log_away');
      try {
        const started = Date.now();
        const forged = await deliver(orch.url, 'ping', { zen: 'z' }, { secret: 'forged' });
        const action = await call(orch.url, 'POST', `/api/v1/tasks/${randomUUID()}/retry`, {
          token: operator,
        });
        const anonymous = await call(orch.url, 'GET', '/api/v1/tasks');
        expect([forged.status, action.status, anonymous.status]).toEqual([401, 404, 401]);
        expect(Date.now() - started).toBeLessThan(2000);
        await expect(trailOf(orch).flush()).resolves.toBeUndefined();
      } finally {
        await db().query('ALTER TABLE audit_log_away RENAME TO audit_log');
      }
      // Later records are stored again.
      await call(orch.url, 'GET', '/api/v1/tasks');
      expect(await auditRows(orch, "type = 'api.auth_failure'")).toHaveLength(1);
    });
  });

  describe('GET /api/v1/admin/audit', () => {
    const at = (iso: string) => new Date(iso).toISOString();

    beforeEach(async () => {
      await db().query(
        `INSERT INTO audit_log (occurred_at, last_seen_at, type, outcome, actor, role, client_address, target, reason, correlation_id, details, count)
         VALUES ($1, $1, 'admin.task_retry', 'succeeded', 'otto', 'operator', '10.0.0.1', 'task:a', NULL, 'c1', '{"force":false}', 1),
                ($2, $2, 'webhook.signature_failure', 'denied', NULL, NULL, '203.0.113.9', NULL, 'mismatch', 'c2', '{"event":"push"}', 42),
                ($3, $3, 'admin.cleanup', 'succeeded', 'alice', 'operator', '10.0.0.2', 'task:b', NULL, 'c3', '{}', 1),
                ($4, $4, 'admin.task_retry', 'refused', 'alice', 'operator', '10.0.0.2', 'task:c', 'invalid_input', 'c4', '{}', 1)`,
        [
          at('2024-01-01T10:00:00Z'),
          at('2024-01-02T10:00:00Z'),
          at('2024-01-03T10:00:00Z'),
          at('2024-01-04T10:00:00Z'),
        ],
      );
    });

    const list = (query = '', token = operator) =>
      call(orch.url, 'GET', `/api/v1/admin/audit${query}`, { token });
    const targets = (res: ApiResponse) => res.body.map((r: Json) => r.target ?? r.reason);

    it('lists records newest first in the documented shape', async () => {
      const res = await list();
      expect(res.status).toBe(200);
      expect(targets(res)).toEqual(['task:c', 'task:b', 'mismatch', 'task:a']);
      expect(res.body[2]).toEqual({
        id: expect.any(Number),
        occurred_at: '2024-01-02T10:00:00.000Z',
        last_seen_at: '2024-01-02T10:00:00.000Z',
        type: 'webhook.signature_failure',
        outcome: 'denied',
        actor: null,
        role: null,
        client_address: '203.0.113.9',
        target: null,
        reason: 'mismatch',
        correlation_id: 'c2',
        count: 42,
        details: { event: 'push' },
      });
    });

    it('filters by type, actor and time, and pages', async () => {
      expect(targets(await list('?type=admin.task_retry'))).toEqual(['task:c', 'task:a']);
      expect(targets(await list('?actor=alice'))).toEqual(['task:c', 'task:b']);
      expect(targets(await list('?type=admin.task_retry&actor=alice'))).toEqual(['task:c']);
      // since is inclusive, until exclusive; a date means midnight UTC.
      expect(targets(await list('?since=2024-01-02T10:00:00Z&until=2024-01-04T10:00:00Z'))).toEqual(
        ['task:b', 'mismatch'],
      );
      expect(targets(await list('?since=2024-01-03'))).toEqual(['task:c', 'task:b']);
      expect(targets(await list('?until=2024-01-02T11:00:00%2B00:30'))).toEqual([
        'mismatch',
        'task:a',
      ]);
      expect(targets(await list('?limit=2&offset=1'))).toEqual(['task:b', 'mismatch']);
      expect((await list("?actor=x'%20OR%20'1'='1")).body).toEqual([]);
    });

    it.each([
      ['type=webhook.everything', 'type'],
      ['since=yesterday', 'since'],
      ['since=2024-13-01', 'since'],
      ['until=2024-01-01T00:00:00', 'until'],
      ['since=2024-01-05&until=2024-01-01', 'since must not be later than until'],
      ['actor=a%0Ab', 'actor'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['order=occurred_at', 'order'],
    ])('answers 400 naming the problem for ?%s', async (query, problem) => {
      const res = await list(`?${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        status_code: 400,
        path: '/api/v1/admin/audit',
        correlation_id: expect.any(String),
      });
      expect(res.body.details.join(' ')).toContain(problem);
    });

    it('is for operators only', async () => {
      expect((await list('', viewer)).status).toBe(403);
      expect((await call(orch.url, 'GET', '/api/v1/admin/audit')).status).toBe(401);
    });

    it('is documented in the OpenAPI document', async () => {
      const doc = await call(orch.url, 'GET', '/docs-json');
      const op = doc.body.paths['/api/v1/admin/audit'].get;
      expect(op.parameters.map((p: Json) => p.name)).toEqual(
        expect.arrayContaining(['type', 'actor', 'since', 'until', 'limit', 'offset']),
      );
      expect(Object.keys(op.responses)).toEqual(
        expect.arrayContaining(['200', '400', '401', '403', '429']),
      );
    });
  });

  it('the retention job deletes audit records older than the retention period and keeps the rest', async () => {
    await db().query(
      `INSERT INTO audit_log (occurred_at, last_seen_at, type, outcome, details, count)
       VALUES (now() - interval '40 days', now() - interval '40 days', 'api.auth_failure', 'denied', '{}', 3),
              (now() - interval '31 days', now() - interval '31 days', 'admin.cleanup', 'succeeded', '{}', 1),
              (now() - interval '29 days', now() - interval '29 days', 'admin.cleanup', 'succeeded', '{}', 1),
              (now(), now(), 'api.forbidden', 'denied', '{}', 1)`,
    );
    const result = await runRetention(orch.app.get(DataSource), 30, 1);
    expect(result.auditRecordsDeleted).toBe(2);
    const left = (await db().query(`SELECT type FROM audit_log ORDER BY occurred_at`)).rows.map(
      (r) => r.type,
    );
    expect(left).toEqual(['admin.cleanup', 'api.forbidden']);
  });
});

describe('API throttling in the audit trail', () => {
  it('records throttled API requests with route and client', async () => {
    const limited = await startOrchestrator({
      QUEUE_PREFIX: `${PREFIX}_throttle_${randomUUID().slice(0, 8)}`,
      API_RATE_LIMIT_BURST: '2',
      API_RATE_LIMIT_PER_MINUTE: '60',
    });
    try {
      await truncateAll();
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await call(limited.url, 'GET', '/api/v1/metrics', { token: viewer })).status,
        );
      expect(statuses).toEqual([200, 200, 429, 429]);
      const rows = await auditRows(limited, "type = 'api.throttled'");
      expect(rows.reduce((sum, r) => sum + r.count, 0)).toBe(2);
      expect(rows[0]).toMatchObject({
        outcome: 'throttled',
        target: 'GET /api/v1/metrics',
        client_address: expect.stringMatching(LOOPBACK),
      });
    } finally {
      await limited.close();
      await closeDb();
    }
  });
});

describe('HTTP hardening', () => {
  let orch: RunningOrchestrator;
  let tuned: RunningOrchestrator;

  beforeAll(async () => {
    orch = await startOrchestrator({ QUEUE_PREFIX: PREFIX, ...ROOMY });
    tuned = await startOrchestrator({
      QUEUE_PREFIX: PREFIX,
      ...ROOMY,
      CORS_ORIGINS: 'https://ops.example.com',
      API_BODY_LIMIT_BYTES: '2048',
    });
  });
  afterAll(async () => {
    await orch.close();
    await tuned.close();
    await closeDb();
  });

  function expectSecurityHeaders(headers: Headers, what: string): void {
    const seen = {
      what,
      csp: headers.get('content-security-policy'),
      hsts: headers.get('strict-transport-security'),
      nosniff: headers.get('x-content-type-options'),
      frame: headers.get('x-frame-options'),
      referrer: headers.get('referrer-policy'),
      coop: headers.get('cross-origin-opener-policy'),
      corp: headers.get('cross-origin-resource-policy'),
      poweredBy: headers.get('x-powered-by'),
      // Document-only and legacy-browser headers are not sent with JSON answers.
      legacy: ['x-xss-protection', 'x-download-options', 'x-dns-prefetch-control']
        .map((name) => headers.get(name))
        .filter((value) => value !== null),
    };
    expect(seen).toEqual({
      what,
      csp: expect.stringContaining("default-src 'none'"),
      hsts: expect.stringMatching(/^max-age=\d+/),
      nosniff: 'nosniff',
      frame: 'DENY',
      referrer: 'no-referrer',
      coop: 'same-origin',
      corp: 'same-origin',
      poweredBy: null,
      legacy: [],
    });
    expect(seen.csp).toContain("frame-ancestors 'none'");
  }

  it('puts the security headers on API, webhook, error and unknown-route responses', async () => {
    expectSecurityHeaders(
      (await call(orch.url, 'GET', '/api/v1/tasks', { token: viewer })).headers,
      'API 200',
    );
    expectSecurityHeaders((await call(orch.url, 'GET', '/api/v1/tasks')).headers, 'API 401');
    expectSecurityHeaders(
      (await deliver(orch.url, 'ping', { zen: 'z', hook_id: 1 })).headers,
      'webhook 200',
    );
    expectSecurityHeaders(
      (await deliver(orch.url, 'ping', { zen: 'z' }, { secret: 'x' })).headers,
      'webhook 401',
    );
    expectSecurityHeaders(
      (await call(orch.url, 'GET', '/no/such/route')).headers,
      'unknown route 404',
    );
    expectSecurityHeaders((await call(orch.url, 'GET', '/docs-json')).headers, 'OpenAPI document');
    expectSecurityHeaders((await call(orch.url, 'GET', '/')).headers, 'service info');
  });

  it('serves the Swagger page under a CSP that allows its own scripts and styles only', async () => {
    const page = await fetch(`${orch.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('swagger-ui');
    const csp = page.headers.get('content-security-policy') ?? '';
    const directive = (name: string) =>
      csp
        .split(';')
        .map((d) => d.trim())
        .find((d) => d.startsWith(`${name} `)) ?? '';
    expect(directive('script-src')).toBe("script-src 'self'");
    expect(directive('style-src')).toBe("style-src 'self' 'unsafe-inline'");
    expect(directive('img-src')).toBe("img-src 'self' data:");
    expect(directive('connect-src')).toBe("connect-src 'self'");
    expect(directive('frame-ancestors')).toBe("frame-ancestors 'none'");
    // It would turn every asset of a plain-HTTP local server into a failing https:// request.
    expect(csp).not.toContain('upgrade-insecure-requests');
    // script-src 'self' blocks inline scripts: the page must not depend on one.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>\s*\S/);
    const assets = [...html.matchAll(/<script src="([^"]+)"|href="([^"]+\.(?:css|png))"/g)].map(
      (m) => m[1] ?? m[2],
    );
    expect(assets).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/swagger-ui-bundle\.js$/),
        expect.stringMatching(/swagger-ui-init\.js$/),
        expect.stringMatching(/swagger-ui\.css$/),
      ]),
    );
    for (const asset of assets) {
      // Resolved as the browser does, against the page URL.
      const url = new URL(asset, `${orch.url}/docs`);
      expect(url.origin).toBe(orch.url);
      const res = await fetch(url);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      await res.arrayBuffer();
    }
  });

  it('keeps CORS off unless CORS_ORIGINS names the origin', async () => {
    const origin = { origin: 'https://ops.example.com' };
    const off = await call(orch.url, 'GET', '/api/v1/tasks', { token: viewer, headers: origin });
    expect(off.headers.get('access-control-allow-origin')).toBeNull();
    const offPreflight = await call(orch.url, 'OPTIONS', '/api/v1/tasks', {
      headers: {
        ...origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(offPreflight.headers.get('access-control-allow-origin')).toBeNull();

    const on = await call(tuned.url, 'GET', '/api/v1/tasks', { token: viewer, headers: origin });
    expect(on.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    expect(on.headers.get('access-control-allow-credentials')).toBeNull();
    const preflight = await call(tuned.url, 'OPTIONS', '/api/v1/tasks', {
      headers: {
        ...origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
      'authorization',
    );
    const other = await call(tuned.url, 'GET', '/api/v1/tasks', {
      token: viewer,
      headers: { origin: 'https://evil.example' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('limits API bodies to API_BODY_LIMIT_BYTES (413 in the error format), apart from the webhook limit', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
    const res = await call(orch.url, 'POST', '/api/v1/admin/cleanup', {
      token: operator,
      body: big,
    });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      error: 'request body too large',
      status_code: 413,
      path: '/api/v1/admin/cleanup',
      correlation_id: expect.any(String),
    });
    expectSecurityHeaders(res.headers, 'API 413');
    // Under the default 64 KiB the same route works.
    expect(
      (await call(orch.url, 'POST', '/api/v1/admin/cleanup', { token: operator, body: '{}' }))
        .status,
    ).toBe(202);
    // The setting moves the limit.
    const small = JSON.stringify({ pad: 'x'.repeat(3000) });
    expect(
      (await call(tuned.url, 'POST', '/api/v1/admin/cleanup', { token: operator, body: small }))
        .status,
    ).toBe(413);
    // A 200 KB delivery is the webhook's business (WEBHOOK_MAX_PAYLOAD_SIZE), not the API limit's.
    const payload = { zen: 'z'.repeat(200 * 1024), hook_id: 1 };
    expect((await deliver(tuned.url, 'ping', payload)).status).toBe(200);
  });

  it('accepts only short printable request ids, replacing anything else', async () => {
    const sane = await call(orch.url, 'GET', '/', {
      headers: { 'x-request-id': 'trace-42.a:b_c' },
    });
    expect(sane.headers.get('x-request-id')).toBe('trace-42.a:b_c');
    for (const hostile of ['a'.repeat(129), 'two words', '<script>', 'caf\u00e9', '"quoted"']) {
      const res = await call(orch.url, 'GET', '/api/v1/tasks', {
        headers: { 'x-request-id': hostile },
      });
      expect(res.headers.get('x-request-id')).toMatch(UUID);
      expect(res.body.correlation_id).toBe(res.headers.get('x-request-id'));
    }
  });
});

describe('transport security (TLS terminators with a throw-away CA in front of the local servers)', () => {
  let pki: TestPki;

  beforeAll(() => {
    pki = makeTestPki();
  });
  // It holds private keys: never left behind.
  afterAll(() => pki && rmSync(pki.dir, { recursive: true, force: true }));

  function viaTls(url: string, port: number, query: string): string {
    const target = new URL(url);
    target.hostname = 'localhost';
    target.port = String(port);
    target.search = query;
    return target.toString();
  }

  it('talks to PostgreSQL (sslmode=verify-full) and Redis (rediss://) over verified TLS with the CA files', async () => {
    const pg = await startPostgresTls(pki);
    const redis = await startRedisTls(pki);
    const orch = await startOrchestrator({
      QUEUE_PREFIX: `${PREFIX}_tls_${randomUUID().slice(0, 8)}`,
      DATABASE_URL: viaTls(
        process.env.TEST_DATABASE_URL as string,
        pg.port,
        '?sslmode=verify-full',
      ),
      DATABASE_SSL_CA_FILE: pki.caFile,
      REDIS_URL: viaTls(process.env.TEST_REDIS_URL as string, redis.port, '').replace(
        /^redis:/,
        'rediss:',
      ),
      REDIS_TLS_CA_FILE: pki.caFile,
      API_RATE_LIMIT_BURST: '1',
      API_RATE_LIMIT_PER_MINUTE: '60',
    });
    try {
      await truncateAll();
      // Bull's connection is up only if the TLS handshake with our CA succeeded.
      const queue = orch.app.get<Queue>(getQueueToken(QueueName.Analysis));
      await waitFor(async () => queue.client.status === 'ready', { what: 'Bull over TLS' });
      // Stored through PostgreSQL over TLS; queued through Bull over TLS.
      const d = await deliver(orch.url, 'pull_request', openedPr(5));
      expect(d.status).toBe(200);
      await waitFor(
        async () =>
          (await db().query('SELECT status FROM workflow_tasks')).rows[0]?.status === 'queued',
        { what: 'task queued', timeoutMs: 5000 },
      );
      // The API limiter's bucket lives in Redis: a second request within the burst of 1 is refused.
      expect((await call(orch.url, 'GET', '/api/v1/metrics', { token: viewer })).status).toBe(200);
      expect((await call(orch.url, 'GET', '/api/v1/metrics', { token: viewer })).status).toBe(429);
      expect(pg.secureSessions()).toBeGreaterThan(0);
      expect(redis.secureSessions()).toBeGreaterThanOrEqual(2);
    } finally {
      await orch.close();
      await pg.close();
      await redis.close();
      await closeDb();
    }
  });

  it('refuses a PostgreSQL server whose certificate it cannot verify (no CA file: system CAs only)', async () => {
    const pg = await startPostgresTls(pki);
    const url = viaTls(process.env.TEST_DATABASE_URL as string, pg.port, '?sslmode=verify-full');
    // The apps' own TypeORM options, without booting a whole app around a failed start.
    const settings = {
      databaseUrl: url,
      databasePoolSize: 1,
      databaseConnectTimeoutMs: 3000,
      applicationName: 'tls-e2e',
    };
    const untrusted = new DataSource(buildDataSourceOptions(settings));
    const trusted = new DataSource(
      buildDataSourceOptions({ ...settings, databaseSslCaFile: pki.caFile }),
    );
    try {
      await expect(untrusted.initialize()).rejects.toThrow(
        /self-signed certificate|unable to verify/i,
      );
      expect(pg.secureSessions()).toBe(0);
      await trusted.initialize();
      expect(
        await trusted.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'),
      ).toEqual([
        // The server behind the terminator sees a plain local connection; the wire was TLS.
        { ssl: false },
      ]);
      expect(pg.secureSessions()).toBe(1);
    } finally {
      if (trusted.isInitialized) await trusted.destroy();
      await pg.close();
    }
  });

  it('refuses a Redis server whose certificate it cannot verify', async () => {
    const redis = await startRedisTls(pki);
    const url = `rediss://localhost:${redis.port}/0`;
    const untrusted = new Redis({
      ...redisConnectionOptions(url),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    const errors: string[] = [];
    untrusted.on('error', (error: Error) => errors.push(error.message));
    const trusted = new Redis({ ...redisConnectionOptions(url, pki.caFile), lazyConnect: true });
    try {
      await expect(untrusted.connect()).rejects.toThrow();
      expect(errors.join(' ')).toMatch(/self-signed certificate|unable to verify/i);
      expect(redis.secureSessions()).toBe(0);
      await trusted.connect();
      expect(await trusted.ping()).toBe('PONG');
      expect(redis.secureSessions()).toBe(1);
    } finally {
      untrusted.disconnect();
      trusted.disconnect();
      await redis.close();
    }
  });
});

describe('production start-up', () => {
  it('refuses to start with development or weak secrets, naming each setting and never its value', async () => {
    const child = startApp(
      [
        process.execPath,
        '-r',
        'ts-node/register',
        '-r',
        'tsconfig-paths/register',
        join(__dirname, '../apps/orchestrator/src/main.ts'),
      ],
      {
        TS_NODE_TRANSPILE_ONLY: 'true',
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://app@127.0.0.1:1/none',
        GITHUB_WEBHOOK_SECRET: `${randomBytes(32).toString('hex')},${WEBHOOK_SECRET}`,
        SECRET_KEY: 'changeme-changeme-changeme-changeme',
      },
      { cwd: join(__dirname, '..') },
    );
    const { code } = await child.exited;
    const output = child.log;
    expect(code).toBe(1);
    expect(output).toContain('GITHUB_WEBHOOK_SECRET entry 2 is too weak for production');
    expect(output).toContain('SECRET_KEY is too weak for production');
    expect(output).not.toContain(WEBHOOK_SECRET);
    expect(output).not.toContain('changeme-changeme');
  }, 60_000);
});
