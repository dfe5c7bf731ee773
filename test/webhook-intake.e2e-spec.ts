import { request as httpRequest } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { signGithubPayload } from '@app/github';
import {
  closeDb,
  db,
  deliver,
  example,
  RunningOrchestrator,
  startOrchestrator,
  taskRows,
  truncateAll,
  WEBHOOK_SECRET,
} from './support/harness';
import { TcpProxy, throughProxy } from './support/tcp-proxy';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_intake`;

describe('POST /api/v1/webhooks/github (intake contract)', () => {
  let orch: RunningOrchestrator;

  beforeAll(async () => {
    orch = await startOrchestrator({
      QUEUE_PREFIX: PREFIX,
      GITHUB_WEBHOOK_SECRET: `${WEBHOOK_SECRET},It's a Secret to Everybody`,
      WEBHOOK_MAX_PAYLOAD_SIZE: String(64 * 1024),
    });
  });
  afterAll(async () => {
    await orch.close();
    await closeDb();
  });
  beforeEach(truncateAll);

  async function eventCount(): Promise<number> {
    const { rows } = await db().query('SELECT count(*)::int AS n FROM webhook_events');
    return rows[0].n;
  }

  describe('size limit', () => {
    it('refuses a declared body over the limit with 413 before reading it', async () => {
      // 30 MB announced; the server must answer without waiting for the bytes.
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${orch.url}/api/v1/webhooks/github`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(30 * 1024 * 1024),
            'x-github-delivery': randomUUID(),
            'x-github-event': 'push',
            'x-hub-signature-256': 'sha256=' + '0'.repeat(64),
          },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.write(Buffer.alloc(1024, 0x20));
      });
      expect(status).toBe(413);
      expect(await eventCount()).toBe(0);
    });

    it('refuses a chunked body that grows past the limit while streaming', async () => {
      const result = await new Promise<{ status: number; body: string; sent: number }>(
        (resolve, reject) => {
          let sent = 0;
          const req = httpRequest(`${orch.url}/api/v1/webhooks/github`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'transfer-encoding': 'chunked',
              'x-github-delivery': randomUUID(),
              'x-github-event': 'push',
              'x-hub-signature-256': 'sha256=' + '0'.repeat(64),
            },
          });
          req.on('response', (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sent }));
          });
          req.on('error', (error) => (sent > 64 * 1024 ? undefined : reject(error)));
          const chunk = Buffer.alloc(16 * 1024, 0x20);
          const pump = (): void => {
            // Keep sending up to 30 MB unless the server has answered.
            while (sent < 30 * 1024 * 1024) {
              sent += chunk.length;
              if (!req.write(chunk)) {
                req.once('drain', pump);
                return;
              }
            }
            req.end();
          };
          pump();
        },
      );
      expect(result.status).toBe(413);
      expect(JSON.parse(result.body)).toMatchObject({
        status_code: 413,
        path: '/api/v1/webhooks/github',
      });
      expect(await eventCount()).toBe(0);
    });

    it('accepts a body just under the limit', async () => {
      const payload = { zen: 'x'.repeat(60 * 1024), hook_id: 1 };
      const res = await deliver(orch.url, 'ping', payload);
      expect(res.status).toBe(200);
    });
  });

  describe('headers and content type', () => {
    it.each([
      ['X-GitHub-Delivery', { 'x-github-delivery': '' }],
      ['X-GitHub-Event', { 'x-github-event': '' }],
    ])('answers 400 when %s is missing', async (name, headers) => {
      const res = await deliver(orch.url, 'ping', { zen: 'z' }, { headers });
      expect(res.status).toBe(400);
      expect(res.body.details.join(' ')).toContain(name);
      expect(await eventCount()).toBe(0);
    });

    it('answers 400 for a malformed delivery id or event name', async () => {
      const res = await deliver(
        orch.url,
        'ping',
        { zen: 'z' },
        {
          headers: {
            'x-github-delivery': "1' OR '1'='1",
            'x-github-event': 'Ping\r\nX: y'.replace(/\r\n/g, ''),
          },
        },
      );
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual(
        expect.arrayContaining([
          'X-GitHub-Delivery header is malformed',
          'X-GitHub-Event header is malformed',
        ]),
      );
    });

    it('answers 400 for a content type other than JSON or form', async () => {
      const res = await deliver(orch.url, 'ping', { zen: 'z' }, { contentType: 'text/plain' });
      expect(res.status).toBe(400);
      expect(await eventCount()).toBe(0);
    });

    it('accepts application/json with a charset parameter', async () => {
      const res = await deliver(
        orch.url,
        'ping',
        { zen: 'z', hook_id: 7 },
        {
          contentType: 'application/json; charset=utf-8',
        },
      );
      expect(res.status).toBe(200);
    });

    it("accepts GitHub's form-encoded format, signed over the form body", async () => {
      const payload = example('ping');
      const raw = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
      const res = await deliver(orch.url, 'ping', null, {
        rawBody: raw,
        contentType: 'application/x-www-form-urlencoded',
      });
      expect(res.status).toBe(200);
      expect(res.body.result).toMatchObject({ status: 'pong', zen: payload.zen });
      const { rows } = await db().query('SELECT payload FROM webhook_events');
      expect(rows[0].payload).toEqual(payload);
    });

    it('answers 400 for a form body without a payload field', async () => {
      const res = await deliver(orch.url, 'ping', null, {
        rawBody: 'other=1',
        contentType: 'application/x-www-form-urlencoded',
      });
      expect(res.status).toBe(400);
    });
  });

  describe('signature', () => {
    it('answers 401 without X-Hub-Signature-256', async () => {
      const res = await deliver(orch.url, 'ping', { zen: 'z' }, { signature: null });
      expect(res.status).toBe(401);
      expect(res.body.error).toMatch(/missing/i);
      expect(await eventCount()).toBe(0);
    });

    it('answers 401 for a signature made with another secret', async () => {
      const res = await deliver(orch.url, 'ping', { zen: 'z' }, { secret: 'not-the-secret' });
      expect(res.status).toBe(401);
      expect(await eventCount()).toBe(0);
    });

    it('answers 401 when the body was changed after signing', async () => {
      const signature = signGithubPayload('{"zen":"original"}', WEBHOOK_SECRET);
      const res = await deliver(orch.url, 'ping', null, {
        rawBody: '{"zen":"tampered"}',
        signature,
      });
      expect(res.status).toBe(401);
    });

    it.each([
      'sha256=',
      'sha1=abc',
      'sha256=' + 'g'.repeat(64),
      'garbage',
      'sha256=' + 'a'.repeat(10_000),
    ])('answers 401, never 500, for malformed signature header #%#', async (signature) => {
      const res = await deliver(
        orch.url,
        'ping',
        { zen: 'z' },
        { signature: signature.slice(0, 8000) },
      );
      expect(res.status).toBe(401);
    });

    it("passes GitHub's documented vector (then refuses the non-JSON body with 400, not 401)", async () => {
      const res = await deliver(orch.url, 'ping', null, {
        rawBody: 'Hello, World!',
        signature: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/JSON/);
    });

    it('accepts a delivery signed with the second secret of a rotation', async () => {
      const res = await deliver(
        orch.url,
        'ping',
        { zen: 'z' },
        { secret: "It's a Secret to Everybody" },
      );
      expect(res.status).toBe(200);
    });
  });

  describe('body and replay guard', () => {
    it('answers 400 for malformed JSON and for JSON that is not an object', async () => {
      expect((await deliver(orch.url, 'ping', null, { rawBody: '{"zen":' })).status).toBe(400);
      expect((await deliver(orch.url, 'ping', null, { rawBody: '[1,2]' })).status).toBe(400);
      expect((await deliver(orch.url, 'ping', null, { rawBody: 'null' })).status).toBe(400);
      expect(await eventCount()).toBe(0);
    });

    it('stores a verified payload holding \\u0000 (which jsonb refuses) instead of losing it', async () => {
      const res = await deliver(orch.url, 'ping', null, {
        rawBody: '{"zen":"a\\u0000b","hook_id":1}',
      });
      expect(res.status).toBe(200);
      const { rows } = await db().query('SELECT payload FROM webhook_events');
      expect(rows[0].payload.zen).toBe('a\ufffdb');
      const surrogate = await deliver(orch.url, 'ping', null, {
        rawBody: '{"zen":"x\\ud800y","hook_id":1}',
      });
      expect(surrogate.status).toBe(200);
    });

    it('answers 409 for a delivery id already stored, keeping the first', async () => {
      const deliveryId = randomUUID();
      expect((await deliver(orch.url, 'ping', { zen: 'first' }, { deliveryId })).status).toBe(200);
      const again = await deliver(orch.url, 'ping', { zen: 'second' }, { deliveryId });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ status_code: 409 });
      const { rows } = await db().query(
        'SELECT payload FROM webhook_events WHERE delivery_id = $1',
        [deliveryId],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0].payload.zen).toBe('first');
    });

    it('refuses a body replayed under a new delivery id for the 72 h window, and accepts it once the window has passed', async () => {
      const payload = example('pull_request', (p) => p.action === 'opened');
      const digest = createHash('sha256').update(JSON.stringify(payload)).digest();
      const first = await deliver(orch.url, 'pull_request', payload);
      expect(first.status).toBe(200);
      const replay = await deliver(orch.url, 'pull_request', payload);
      expect(replay.status).toBe(409);
      expect(replay.body).toMatchObject({ error: 'duplicate payload', status_code: 409 });
      /** Moves the body's guard row back by `age`, as if it had been stored that long ago. */
      const storedAgo = async (age: string): Promise<void> => {
        const { rows } = await db().query<{ delivery_id: string }>(
          `UPDATE webhook_payload_digests SET stored_at = now() - $2::interval
            WHERE digest = $1 RETURNING delivery_id`,
          [digest, age],
        );
        expect(rows).toEqual([{ delivery_id: first.deliveryId }]);
      };
      // Inside the window (WEBHOOK_PAYLOAD_REPLAY_WINDOW_HOURS, 72 by default): still refused.
      await storedAgo('71 hours 59 minutes');
      const late = await deliver(orch.url, 'pull_request', payload);
      expect(late.status).toBe(409);
      expect(late.body).toMatchObject({ error: 'duplicate payload' });
      // Past it: a new delivery, stored with its task, and the guard row is now its own.
      await storedAgo('72 hours 1 minute');
      const third = await deliver(orch.url, 'pull_request', payload);
      expect(third.status).toBe(200);
      expect(third.body).toMatchObject({
        status: 'accepted',
        delivery_id: third.deliveryId,
        result: { status: 'queued', task_type: 'pull_request_analysis' },
      });
      const { rows: events } = await db().query<{ delivery_id: string }>(
        'SELECT delivery_id FROM webhook_events ORDER BY id',
      );
      expect(events.map((e) => e.delivery_id)).toEqual([first.deliveryId, third.deliveryId]);
      expect(await taskRows()).toHaveLength(2);
      const { rows: guard } = await db().query<{ delivery_id: string; fresh: boolean }>(
        `SELECT delivery_id, stored_at > now() - interval '1 minute' AS fresh
           FROM webhook_payload_digests WHERE digest = $1`,
        [digest],
      );
      expect(guard).toEqual([{ delivery_id: third.deliveryId, fresh: true }]);
      // The window starts again from that delivery.
      const fourth = await deliver(orch.url, 'pull_request', payload);
      expect(fourth.status).toBe(409);
      expect(fourth.body).toMatchObject({ error: 'duplicate payload' });
      expect(await eventCount()).toBe(2);
    });

    it('stores exactly one row when the same delivery arrives 20 times at once', async () => {
      const deliveryId = randomUUID();
      const payload = example('pull_request', (p) => p.action === 'opened');
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          deliver(orch.url, 'pull_request', payload, { deliveryId }),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(19);
      expect(await eventCount()).toBe(1);
      expect(await taskRows()).toHaveLength(1);
    });
  });

  describe('success', () => {
    it('answers 200 with the documented body and stores event and task together', async () => {
      const payload = example('pull_request', (p) => p.action === 'opened');
      const res = await deliver(orch.url, 'pull_request', payload);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'accepted',
        delivery_id: res.deliveryId,
        event_type: 'pull_request',
        result: {
          status: 'queued',
          task_id: expect.any(String),
          task_type: 'pull_request_analysis',
          action: 'opened',
        },
      });
      const { rows: events } = await db().query('SELECT * FROM webhook_events');
      expect(events[0]).toMatchObject({
        delivery_id: res.deliveryId,
        event_type: 'pull_request',
        action: 'opened',
        source: 'github',
        received_via: 'webhook',
        repository: payload.repository.full_name,
        sender_login: payload.sender.login,
        processed: false,
      });
      expect(events[0].payload).toEqual(payload);
      expect(events[0].headers['x-github-delivery']).toBe(res.deliveryId);
      expect(events[0].headers['x-hub-signature-256']).toBeUndefined();
      const [task] = await taskRows();
      expect(task).toMatchObject({
        task_id: res.body.result.task_id,
        webhook_event_id: events[0].id,
        task_type: 'pull_request_analysis',
        repository: payload.repository.full_name,
        pr_number: payload.pull_request.number,
        branch: payload.pull_request.head.ref,
        commit_sha: payload.pull_request.head.sha,
        max_retries: 3,
      });
      expect(['pending', 'queued']).toContain(task.status);
    });

    it('marks the task queued once its job is in Redis', async () => {
      const res = await deliver(
        orch.url,
        'pull_request',
        example('pull_request', (p) => p.action === 'opened'),
      );
      const taskId = res.body.result.task_id;
      const deadline = Date.now() + 3000;
      let status = 'pending';
      while (Date.now() < deadline && status !== 'queued') {
        status = (await taskRows('task_id = $1', [taskId]))[0].status;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(status).toBe('queued');
    });
  });

  describe('routing at intake', () => {
    it('stores a closed pull request without a task', async () => {
      const res = await deliver(
        orch.url,
        'pull_request',
        example('pull_request', (p) => p.action === 'closed'),
      );
      expect(res.body.result).toMatchObject({ status: 'ignored', action: 'closed' });
      expect(await taskRows()).toHaveLength(0);
      const { rows } = await db().query('SELECT processed FROM webhook_events');
      expect(rows[0].processed).toBe(true);
    });

    it('creates one check_failure_analysis per linked PR of a failed check run', async () => {
      const payload = example('check_run', (p) => p.action === 'completed');
      const pr = (n: number) => ({
        ...payload.check_run.pull_requests[0],
        number: n,
        head: { ref: `branch-${n}`, sha: payload.check_run.head_sha, repo: payload.repository },
      });
      payload.check_run.conclusion = 'failure';
      payload.check_run.pull_requests = [pr(11), pr(12)];
      const res = await deliver(orch.url, 'check_run', payload);
      expect(res.body.result).toMatchObject({
        status: 'queued',
        tasks_created: 2,
        action: 'completed',
      });
      const tasks = await taskRows();
      expect(tasks.map((t) => [t.task_type, t.pr_number, t.branch])).toEqual([
        ['check_failure_analysis', 11, 'branch-11'],
        ['check_failure_analysis', 12, 'branch-12'],
      ]);
    });

    it('ignores a successful check run', async () => {
      const payload = example('check_run', (p) => p.action === 'completed');
      payload.check_run.conclusion = 'success';
      const res = await deliver(orch.url, 'check_run', payload);
      expect(res.body.result.status).toBe('ignored');
      expect(await taskRows()).toHaveLength(0);
    });

    it('creates a check_suite_failure_analysis for a failed suite', async () => {
      const payload = example('check_suite', (p) => p.action === 'completed');
      payload.check_suite.conclusion = 'failure';
      payload.check_suite.pull_requests = [
        {
          number: 5,
          head: { ref: 'fix', sha: payload.check_suite.head_sha },
          base: { ref: 'main', sha: 'b' },
        },
      ];
      const res = await deliver(orch.url, 'check_suite', payload);
      expect(res.body.result).toMatchObject({ status: 'queued', tasks_created: 1 });
      expect((await taskRows())[0]).toMatchObject({
        task_type: 'check_suite_failure_analysis',
        pr_number: 5,
      });
    });

    it('creates push_analysis for the default branch only', async () => {
      const payload = example('push');
      payload.ref = `refs/heads/${payload.repository.default_branch}`;
      payload.deleted = false;
      const res = await deliver(orch.url, 'push', payload);
      expect(res.body.result).toMatchObject({ status: 'queued', task_type: 'push_analysis' });
      const other = { ...payload, ref: 'refs/heads/some-feature' };
      expect((await deliver(orch.url, 'push', other)).body.result.status).toBe('ignored');
      const tag = { ...payload, ref: 'refs/tags/v1.0.0' };
      expect((await deliver(orch.url, 'push', tag)).body.result.status).toBe('ignored');
      expect(await taskRows()).toHaveLength(1);
    });

    it('answers ping with pong and the zen', async () => {
      const payload = example('ping');
      const res = await deliver(orch.url, 'ping', payload);
      expect(res.body.result).toMatchObject({ status: 'pong', zen: payload.zen });
    });

    it('records installations and their repositories', async () => {
      const created = example('installation', (p) => p.action === 'created');
      const res = await deliver(orch.url, 'installation', created);
      expect(res.body.result).toMatchObject({
        status: 'processed',
        installation_id: created.installation.id,
      });
      const { rows } = await db().query('SELECT * FROM github_installations');
      expect(rows).toHaveLength(1);
      expect(Number(rows[0].id)).toBe(created.installation.id);
      const repos = await db().query(
        'SELECT repository, removed_at FROM github_installation_repositories',
      );
      expect(repos.rows.length).toBe((created.repositories ?? []).length);

      const removed = example('installation_repositories', (p) => p.action === 'removed');
      removed.installation.id = created.installation.id;
      const res2 = await deliver(orch.url, 'installation_repositories', removed);
      expect(res2.status).toBe(200);
      const gone = await db().query(
        'SELECT repository FROM github_installation_repositories WHERE removed_at IS NOT NULL',
      );
      expect(gone.rows.map((r: { repository: string }) => r.repository).sort()).toEqual(
        removed.repositories_removed.map((r: { full_name: string }) => r.full_name).sort(),
      );
    });

    it('stores an unsupported event and says so', async () => {
      const res = await deliver(orch.url, 'star', example('star'));
      expect(res.status).toBe(200);
      expect(res.body.result).toEqual({
        status: 'ignored',
        reason: 'unsupported_event_type',
        action: 'created',
      });
      expect(await eventCount()).toBe(1);
    });
  });

  describe('error format and correlation id', () => {
    it('uses the documented error body on unknown routes, echoing X-Request-ID', async () => {
      const res = await fetch(`${orch.url}/no/such/route?x=1`, {
        headers: { 'x-request-id': 'req-123' },
      });
      expect(res.status).toBe(404);
      expect(res.headers.get('x-correlation-id')).toBe('req-123');
      expect(await res.json()).toEqual({
        error: expect.any(String),
        status_code: 404,
        path: '/no/such/route',
        correlation_id: 'req-123',
      });
    });

    it('generates a correlation id and replaces a hostile one', async () => {
      const res = await deliver(
        orch.url,
        'ping',
        { zen: 'z' },
        {
          signature: null,
          headers: { 'x-correlation-id': 'x'.repeat(500) },
        },
      );
      expect(res.body.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('x-correlation-id')).toBe(res.body.correlation_id);
    });
  });

  describe('throttling of unverified requests', () => {
    it('limits forged requests per address with 429 but never a verified delivery', async () => {
      // A fresh app so earlier tests' failures do not count.
      // A slow refill (1/s) keeps the count exact however long 40 requests take on a busy machine.
      const fresh = await startOrchestrator({
        QUEUE_PREFIX: PREFIX,
        WEBHOOK_RATE_LIMIT_PER_SECOND: '1',
      });
      try {
        const forged = await Promise.all(
          Array.from({ length: 40 }, () =>
            deliver(fresh.url, 'ping', { zen: 'z' }, { secret: 'forged' }),
          ),
        );
        const statuses = forged.map((r) => r.status);
        expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(20);
        expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(22);
        const limited = forged.find((r) => r.status === 429);
        expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(limited?.body).toMatchObject({ status_code: 429 });
        // Same address, while still over the limit: verified deliveries all get through.
        const genuine = await Promise.all(
          Array.from({ length: 30 }, (_, i) => deliver(fresh.url, 'ping', { zen: `ok-${i}` })),
        );
        expect(genuine.every((r) => r.status === 200)).toBe(true);
      } finally {
        await fresh.close();
      }
    });
  });

  describe('client address of unverified requests', () => {
    /** Sends forged deliveries, each claiming its own X-Forwarded-For, and returns the statuses. */
    async function forgedFromMany(url: string, n: number): Promise<number[]> {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await deliver(
          url,
          'ping',
          { zen: 'z' },
          { secret: 'forged', headers: { 'x-forwarded-for': `198.51.100.${i}` } },
        );
        statuses.push(res.status);
      }
      return statuses;
    }
    const tight = {
      QUEUE_PREFIX: PREFIX,
      WEBHOOK_RATE_LIMIT_PER_SECOND: '1',
      WEBHOOK_RATE_LIMIT_BURST: '3',
    };

    it('ignores a forged X-Forwarded-For without TRUST_PROXY: one socket, one budget', async () => {
      const fresh = await startOrchestrator(tight);
      try {
        const statuses = await forgedFromMany(fresh.url, 6);
        expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
        expect(statuses.slice(3)).toEqual([429, 429, 429]);
      } finally {
        await fresh.close();
      }
    });

    it('with TRUST_PROXY set, counts each forwarded client on its own', async () => {
      const fresh = await startOrchestrator({ ...tight, TRUST_PROXY: 'loopback' });
      try {
        expect(await forgedFromMany(fresh.url, 6)).toEqual([401, 401, 401, 401, 401, 401]);
        const same: number[] = [];
        for (let i = 0; i < 4; i++) {
          same.push(
            (
              await deliver(
                fresh.url,
                'ping',
                { zen: 'z' },
                { secret: 'forged', headers: { 'x-forwarded-for': '203.0.113.9' } },
              )
            ).status,
          );
        }
        expect(same).toEqual([401, 401, 401, 429]);
      } finally {
        await fresh.close();
      }
    });
  });

  describe('database outage', () => {
    it('answers 503 within 2 s while PostgreSQL is unreachable, storing nothing, then recovers', async () => {
      const target = new URL(process.env.TEST_DATABASE_URL as string);
      const proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
      const viaProxy = await startOrchestrator({
        QUEUE_PREFIX: PREFIX,
        DATABASE_URL: throughProxy(process.env.TEST_DATABASE_URL as string, proxy),
      });
      try {
        expect((await deliver(viaProxy.url, 'ping', { zen: 'before' })).status).toBe(200);
        proxy.cut();
        const deliveryId = randomUUID();
        const started = Date.now();
        const res = await deliver(
          viaProxy.url,
          'pull_request',
          example('pull_request', (p) => p.action === 'opened'),
          {
            deliveryId,
          },
        );
        expect(res.status).toBe(503);
        expect(Date.now() - started).toBeLessThan(2500);
        expect(res.body).toMatchObject({ status_code: 503, path: '/api/v1/webhooks/github' });
        proxy.restore();
        const { rows } = await db().query('SELECT 1 FROM webhook_events WHERE delivery_id = $1', [
          deliveryId,
        ]);
        expect(rows).toHaveLength(0);
        // The same delivery, re-sent once the database is back, is accepted exactly once.
        let again = await deliver(
          viaProxy.url,
          'pull_request',
          example('pull_request', (p) => p.action === 'opened'),
          {
            deliveryId,
          },
        );
        for (let i = 0; i < 20 && again.status === 503; i++) {
          await new Promise((r) => setTimeout(r, 250));
          again = await deliver(
            viaProxy.url,
            'pull_request',
            example('pull_request', (p) => p.action === 'opened'),
            {
              deliveryId,
            },
          );
        }
        expect(again.status).toBe(200);
        const stored = await db().query('SELECT 1 FROM webhook_events WHERE delivery_id = $1', [
          deliveryId,
        ]);
        expect(stored.rows).toHaveLength(1);
        expect(await taskRows()).toHaveLength(1);
      } finally {
        await viaProxy.close();
        await proxy.stop();
      }
    });
  });
});
