import { randomUUID } from 'node:crypto';
import { issueAccessToken, mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import { GithubFake } from './fakes';
import {
  closeDb,
  db,
  deliver,
  example,
  RunningOrchestrator,
  RunningWorker,
  startOrchestrator,
  startWorker,
  taskRows,
  testEnv,
  truncateAll,
  waitFor,
  WEBHOOK_SECRET,
} from './support/harness';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_api`;
/** GitHub's pull request files list: the read the injected failures below are meant for. */
const PR_FILES = 'GET /repos/{owner}/{repo}/pulls/{pull_number}/files';
const SECRET_KEY = testEnv().SECRET_KEY as string;
const viewer = mintAccessToken(SECRET_KEY, { sub: 'vera', role: Role.Viewer }, 600);
const operator = mintAccessToken(SECRET_KEY, { sub: 'otto', role: Role.Operator }, 600);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field

interface ApiResponse {
  status: number;
  body: Json;
  headers: Headers;
}

async function call(
  base: string,
  method: string,
  path: string,
  token?: string,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const text = await res.text();
  let body: Json = {};
  try {
    body = JSON.parse(text) as Json;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body, headers: res.headers };
}

function expectError(res: ApiResponse, status: number, path: string): void {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({
    status_code: status,
    path,
    correlation_id: expect.any(String),
    error: expect.any(String),
  });
}

function openedPr(number: number, sha = 'a'.repeat(40)) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.pull_request.number = number;
  payload.number = number;
  payload.pull_request.head.sha = sha;
  return payload;
}

describe('operator API', () => {
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  let github: GithubFake;
  let api: (
    method: string,
    path: string,
    token?: string,
    headers?: Record<string, string>,
  ) => Promise<ApiResponse>;
  let repo: string;

  beforeAll(async () => {
    github = await GithubFake.start();
    orch = await startOrchestrator({
      QUEUE_PREFIX: PREFIX,
      API_RATE_LIMIT_BURST: '100000',
      API_RATE_LIMIT_PER_MINUTE: '1000000',
    });
    worker = await startWorker({
      QUEUE_PREFIX: PREFIX,
      GITHUB_API_URL: github.url,
      CODEGEN_TOKEN: '',
    });
    api = (method, path, token, headers) => call(orch.url, method, path, token, headers);
    repo = example('pull_request').repository.full_name;
  });
  afterAll(async () => {
    await worker.close();
    await orch.close();
    await github.stop();
    await closeDb();
  });
  beforeEach(async () => {
    await waitFor(
      async () => (await taskRows("status IN ('pending', 'queued', 'running')")).length === 0,
      { what: 'drain' },
    );
    await truncateAll();
    github.reset();
  });

  async function finished(taskId: string): Promise<Json> {
    return waitFor(async () => {
      const [t] = await taskRows('task_id = $1', [taskId]);
      return t && ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
    });
  }

  describe('GET /api/v1/webhooks/events', () => {
    it('lists events newest first with the documented fields, filtered and paged', async () => {
      const ping = await deliver(orch.url, 'ping', { zen: 'z', hook_id: 1 });
      const star = await deliver(orch.url, 'star', example('star'));
      const closed = await deliver(
        orch.url,
        'pull_request',
        example('pull_request', (p) => p.action === 'closed'),
      );
      const res = await api('GET', '/api/v1/webhooks/events', viewer);
      expect(res.status).toBe(200);
      expect(res.body.map((e: Json) => e.delivery_id)).toEqual([
        closed.deliveryId,
        star.deliveryId,
        ping.deliveryId,
      ]);
      expect(res.body[0]).toEqual({
        id: expect.any(Number),
        delivery_id: closed.deliveryId,
        event_type: 'pull_request',
        action: 'closed',
        repository: expect.any(String),
        received_via: 'webhook',
        processed: true,
        created_at: expect.stringMatching(/Z$/),
        error_message: null,
        tasks: { total: 0, by_status: {}, task_types: [] },
      });
      const filtered = await api(
        'GET',
        '/api/v1/webhooks/events?event_type=star&processed=true',
        viewer,
      );
      expect(filtered.body.map((e: Json) => e.delivery_id)).toEqual([star.deliveryId]);
      const page = await api('GET', '/api/v1/webhooks/events?limit=1&offset=1', viewer);
      expect(page.body.map((e: Json) => e.delivery_id)).toEqual([star.deliveryId]);
      const none = await api('GET', '/api/v1/webhooks/events?processed=false', viewer);
      expect(none.body).toEqual([]);
    });

    it('filters by failure, repository and delivery id, and sums up each event’s tasks', async () => {
      // PR 404 does not exist on the GitHub fake: its analysis fails; PR 5's completes.
      github.setPullRequestFiles(repo, 5, [{ filename: 'README.md' }]);
      const ok = await deliver(orch.url, 'pull_request', openedPr(5));
      const bad = await deliver(orch.url, 'pull_request', openedPr(404));
      const other = example('star');
      other.repository.full_name = 'someone/else';
      const star = await deliver(orch.url, 'star', other);
      await finished(ok.body.result.task_id);
      await finished(bad.body.result.task_id);
      const ids = async (query: string) =>
        (await api('GET', `/api/v1/webhooks/events?${query}`, viewer)).body.map(
          (e: Json) => e.delivery_id,
        );
      expect(await ids('failed=true')).toEqual([bad.deliveryId]);
      expect(await ids('failed=false')).toEqual([star.deliveryId, ok.deliveryId]);
      expect(await ids(`repository=${repo}`)).toEqual([bad.deliveryId, ok.deliveryId]);
      expect(await ids(`delivery_id=${ok.deliveryId}`)).toEqual([ok.deliveryId]);
      expect(await ids(`delivery_id=${ok.deliveryId.slice(0, 8)}`)).toEqual([]);
      const list = (await api('GET', '/api/v1/webhooks/events', viewer)).body;
      expect(list.map((e: Json) => e.tasks)).toEqual([
        { total: 0, by_status: {}, task_types: [] },
        { total: 1, by_status: { failed: 1 }, task_types: ['pull_request_analysis'] },
        { total: 1, by_status: { completed: 1 }, task_types: ['pull_request_analysis'] },
      ]);
    });

    it.each([
      ['failed=perhaps', 'failed'],
      ['repository=not-a-repo', 'repository'],
      ["delivery_id=x'%20OR%20'1'='1", 'delivery_id'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=abc', 'limit'],
      ['offset=-1', 'offset'],
      ['processed=maybe', 'processed'],
      ["event_type=push'%20OR%20'1'='1", 'event_type'],
      ['event_type=push;DROP%20TABLE%20webhook_events', 'event_type'],
      ['order=created_at', 'order'],
    ])('answers 400 listing the problem for ?%s', async (query, field) => {
      const res = await api('GET', `/api/v1/webhooks/events?${query}`, viewer);
      expectError(res, 400, '/api/v1/webhooks/events');
      expect(res.body.details.join(' ')).toContain(field);
      const still = await db().query("SELECT to_regclass('webhook_events') AS t");
      expect(still.rows[0].t).toBe('webhook_events');
    });
  });

  describe('GET /api/v1/webhooks/events/{id}', () => {
    it('returns payload, safe headers and tasks', async () => {
      const payload = openedPr(3);
      const d = await deliver(orch.url, 'pull_request', payload, {
        headers: { authorization: 'Bearer leaked', cookie: 'c=1' },
      });
      const [row] = (await db().query('SELECT id FROM webhook_events')).rows;
      const res = await api('GET', `/api/v1/webhooks/events/${row.id}`, viewer);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: Number(row.id),
        delivery_id: d.deliveryId,
        source: 'github',
        payload,
        retry_count: 0,
      });
      expect(res.body.headers['x-github-event']).toBe('pull_request');
      expect(JSON.stringify(res.body.headers)).not.toMatch(/leaked|c=1|sha256=/);
      expect(JSON.stringify(res.body)).not.toContain(WEBHOOK_SECRET);
      expect(res.body.tasks).toEqual([
        {
          task_id: d.body.result.task_id,
          task_type: 'pull_request_analysis',
          status: expect.any(String),
        },
      ]);
      expect(res.body.routing).toEqual({
        status: 'queued',
        reason: null,
        task_types: ['pull_request_analysis'],
      });
      await deliver(orch.url, 'star', example('star'));
      const star = (await db().query("SELECT id FROM webhook_events WHERE event_type = 'star'"))
        .rows[0];
      const ignored = await api('GET', `/api/v1/webhooks/events/${star.id}`, viewer);
      expect(ignored.body.routing).toEqual({
        status: 'ignored',
        reason: 'unsupported_event_type',
        task_types: [],
      });
    });

    it('answers 404 for a missing id and 400 for a malformed one', async () => {
      expectError(
        await api('GET', '/api/v1/webhooks/events/999999', viewer),
        404,
        '/api/v1/webhooks/events/999999',
      );
      for (const bad of ['abc', '1%20OR%201=1', '-1', '1.5', '0', '99999999999999999999']) {
        const res = await api('GET', `/api/v1/webhooks/events/${bad}`, viewer);
        expect(res.status).toBe(400);
        expect(res.body.details).toEqual(['event_id must be a positive integer']);
      }
    });
  });

  describe('POST /api/v1/webhooks/events/{id}/reprocess', () => {
    it('re-routes a failed event and queues new tasks', async () => {
      // PR 404 does not exist on the GitHub fake: the analysis fails permanently.
      const d = await deliver(orch.url, 'pull_request', openedPr(404));
      await finished(d.body.result.task_id);
      const [event] = (await db().query('SELECT id, processed, error_message FROM webhook_events'))
        .rows;
      expect(event.error_message).toMatch(/failed/);

      github.setPullRequestFiles(repo, 404, [{ filename: 'README.md' }]);
      const res = await api('POST', `/api/v1/webhooks/events/${event.id}/reprocess`, operator);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'reprocessing',
        event_id: Number(event.id),
        task_id: expect.any(String),
      });
      const redone = await finished(res.body.task_id);
      expect(redone).toMatchObject({ status: 'completed', webhook_event_id: event.id });
      const after = (
        await db().query('SELECT processed, error_message, retry_count FROM webhook_events')
      ).rows[0];
      expect(after).toEqual({ processed: true, error_message: null, retry_count: 1 });
    });

    it('refuses an event processed without error unless forced', async () => {
      await deliver(orch.url, 'ping', { zen: 'z', hook_id: 1 });
      const [event] = (await db().query('SELECT id FROM webhook_events')).rows;
      const refused = await api('POST', `/api/v1/webhooks/events/${event.id}/reprocess`, operator);
      expectError(refused, 400, `/api/v1/webhooks/events/${event.id}/reprocess`);
      const forced = await api(
        'POST',
        `/api/v1/webhooks/events/${event.id}/reprocess?force=true`,
        operator,
      );
      expect(forced.status).toBe(200);
      expect(forced.body).toMatchObject({ status: 'nothing_to_do', task_id: null, task_ids: [] });
    });

    it('answers 404, 400, 401 and 403 where it must', async () => {
      await deliver(orch.url, 'ping', { zen: 'z', hook_id: 1 });
      const [event] = (await db().query('SELECT id FROM webhook_events')).rows;
      const path = `/api/v1/webhooks/events/${event.id}/reprocess`;
      expectError(
        await api('POST', '/api/v1/webhooks/events/424242/reprocess', operator),
        404,
        '/api/v1/webhooks/events/424242/reprocess',
      );
      expectError(
        await api('POST', '/api/v1/webhooks/events/x/reprocess', operator),
        400,
        '/api/v1/webhooks/events/x/reprocess',
      );
      expectError(await api('POST', `${path}?force=yes`, operator), 400, path);
      expectError(await api('POST', path), 401, path);
      expectError(await api('POST', path, viewer), 403, path);
    });
  });

  describe('tasks', () => {
    it('lists tasks with filters, and shows one with executions newest first', async () => {
      github.failNext(4, { status: 502, route: PR_FILES });
      github.setPullRequestFiles(repo, 5, [{ filename: 'docs/a.md' }]);
      const d = await deliver(orch.url, 'pull_request', openedPr(5));
      await finished(d.body.result.task_id);
      await deliver(orch.url, 'ping', { zen: 'z', hook_id: 1 });

      const list = await api(
        'GET',
        `/api/v1/tasks?status=completed&task_type=pull_request_analysis&repository=${repo}`,
        viewer,
      );
      expect(list.status).toBe(200);
      expect(list.body).toEqual([
        expect.objectContaining({
          task_id: d.body.result.task_id,
          webhook_event_id: expect.any(Number),
          status: 'completed',
          pr_number: 5,
          repository: repo,
        }),
      ]);
      expect((await api('GET', '/api/v1/tasks?status=failed', viewer)).body).toEqual([]);

      const detail = await api('GET', `/api/v1/tasks/${d.body.result.task_id}`, viewer);
      expect(detail.status).toBe(200);
      expect(detail.body).toMatchObject({
        task_id: d.body.result.task_id,
        retry_count: 1,
        max_retries: 3,
        branch: expect.any(String),
      });
      expect(detail.body.executions.map((x: Json) => [x.attempt, x.status])).toEqual([
        [2, 'completed'],
        [1, 'retrying'],
      ]);
      expect(detail.body.executions[0].duration_ms).toEqual(expect.any(Number));
    });

    it.each([
      'status=done',
      'task_type=fix_everything',
      "repository=x'%20OR%201=1--",
      'limit=1001',
      'sort=id',
    ])('answers 400 for ?%s', async (query) => {
      expectError(await api('GET', `/api/v1/tasks?${query}`, viewer), 400, '/api/v1/tasks');
    });

    it('answers 404 for an unknown task and 400 for a malformed id', async () => {
      const id = randomUUID();
      expectError(await api('GET', `/api/v1/tasks/${id}`, viewer), 404, `/api/v1/tasks/${id}`);
      expectError(await api('GET', '/api/v1/tasks/1', viewer), 400, '/api/v1/tasks/1');
      expectError(
        await api('GET', "/api/v1/tasks/'%20OR%20''='", viewer),
        400,
        "/api/v1/tasks/'%20OR%20''='",
      );
    });

    it('retries a failed task through the queue with a new execution row', async () => {
      const d = await deliver(orch.url, 'pull_request', openedPr(404));
      const failed = await finished(d.body.result.task_id);
      expect(failed.status).toBe('failed');
      github.setPullRequestFiles(repo, 404, [{ filename: 'README.md' }]);
      const res = await api('POST', `/api/v1/tasks/${failed.task_id}/retry`, operator);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'retrying',
        job_id: failed.task_id,
        celery_task_id: failed.task_id,
        task_id: failed.task_id,
      });
      const done = await finished(failed.task_id);
      expect(done.status).toBe('completed');
      const detail = await api('GET', `/api/v1/tasks/${failed.task_id}`, viewer);
      expect(detail.body.executions.map((x: Json) => x.status)).toEqual(['completed', 'failed']);

      // The audit trail of one delivery: its event and its tasks, nothing else.
      const [event] = (await db().query('SELECT id FROM webhook_events')).rows;
      const audit = async (target: string) =>
        api('GET', `/api/v1/admin/audit?target=${encodeURIComponent(target)}`, operator);
      const mine = await audit(`event:${event.id},task:${failed.task_id}`);
      expect(mine.status).toBe(200);
      expect(mine.body.map((r: Json) => [r.type, r.target])).toEqual([
        ['admin.task_retry', `task:${failed.task_id}`],
      ]);
      expect((await audit(`task:${randomUUID()}`)).body).toEqual([]);
      for (const bad of ['event:1;DROP', 'task:1', `event:1,${'event:2,'.repeat(50)}event:3`]) {
        expectError(await audit(bad), 400, '/api/v1/admin/audit');
      }
    });

    it('refuses to retry a task that is not failed, or whose retries are spent unless forced', async () => {
      github.setPullRequestFiles(repo, 6, [{ filename: 'README.md' }]);
      const ok = await deliver(orch.url, 'pull_request', openedPr(6));
      await finished(ok.body.result.task_id);
      const path = `/api/v1/tasks/${ok.body.result.task_id}/retry`;
      expectError(await api('POST', path, operator), 400, path);

      await db().query(
        `UPDATE workflow_tasks SET status = 'failed', retry_count = max_retries WHERE task_id = $1`,
        [ok.body.result.task_id],
      );
      const exhausted = await api('POST', path, operator);
      expectError(exhausted, 400, path);
      expect(exhausted.body.error).toMatch(/force/);
      expect((await api('POST', `${path}?force=true`, operator)).status).toBe(200);
      await finished(ok.body.result.task_id);

      const unknown = `/api/v1/tasks/${randomUUID()}/retry`;
      expectError(await api('POST', unknown, operator), 404, unknown);
      expectError(await api('POST', path, viewer), 403, path);
      expectError(await api('POST', path), 401, path);
    });
  });

  describe('metrics, stats, cleanup and root', () => {
    it('reports totals, statuses, types and the mean execution time', async () => {
      github.setPullRequestFiles(repo, 8, [{ filename: 'README.md' }]);
      const d = await deliver(orch.url, 'pull_request', openedPr(8));
      await finished(d.body.result.task_id);
      await deliver(orch.url, 'ping', { zen: 'z', hook_id: 1 });
      const res = await api('GET', '/api/v1/metrics', viewer);
      expect(res.status).toBe(200);
      const { rows } = await db().query(
        "SELECT avg(duration_ms)::float AS avg FROM task_executions WHERE status = 'completed'",
      );
      expect(res.body).toEqual({
        webhook_events_total: 2,
        workflow_tasks_total: 1,
        task_executions_total: 1,
        tasks_by_status: { completed: 1 },
        events_by_type: { pull_request: 1, ping: 1 },
        avg_processing_time_ms: Math.round(rows[0].avg * 10) / 10,
      });
      expectError(await api('GET', '/api/v1/metrics'), 401, '/api/v1/metrics');
    });

    it('computes 24-hour activity and error rates as the spec does', async () => {
      const failed = await deliver(orch.url, 'pull_request', openedPr(404));
      await finished(failed.body.result.task_id);
      await deliver(orch.url, 'ping', { zen: 'z', hook_id: 1 });
      await deliver(orch.url, 'ping', { zen: 'y', hook_id: 1 });
      await deliver(orch.url, 'ping', { zen: 'x', hook_id: 1 });
      // An old event falls outside the window.
      await db().query(
        `UPDATE webhook_events SET created_at = now() - interval '2 days' WHERE payload->>'zen' = 'x'`,
      );
      const res = await api('GET', '/api/v1/admin/stats', viewer);
      expect(res.body).toEqual({
        recent_activity: { webhooks_24h: 3, tasks_24h: 1 },
        error_rates: {
          failed_webhooks_24h: 1,
          failed_tasks_24h: 1,
          webhook_error_rate: 33.33,
          task_error_rate: 100,
        },
      });
    });

    it('runs retention as a tracked task that reports what it deleted', async () => {
      github.setPullRequestFiles(repo, 9, [{ filename: 'README.md' }]);
      const old = await deliver(orch.url, 'pull_request', openedPr(9));
      await finished(old.body.result.task_id);
      const recent = await deliver(orch.url, 'ping', { zen: 'recent', hook_id: 1 });
      await db().query(
        `UPDATE webhook_events SET created_at = now() - interval '40 days' WHERE delivery_id = $1`,
        [old.deliveryId],
      );

      expectError(await api('POST', '/api/v1/admin/cleanup', viewer), 403, '/api/v1/admin/cleanup');
      const res = await api('POST', '/api/v1/admin/cleanup', operator);
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        status: 'cleanup_triggered',
        task_id: expect.any(String),
        retention_days: 30,
      });
      await finished(res.body.task_id);
      const detail = await api('GET', `/api/v1/tasks/${res.body.task_id}`, viewer);
      expect(detail.body).toMatchObject({ task_type: 'cleanup', status: 'completed' });
      expect(detail.body.output_data).toMatchObject({
        events_deleted: 1,
        tasks_deleted: 1,
        executions_deleted: 1,
        retention_days: 30,
      });
      const left = (await db().query('SELECT delivery_id FROM webhook_events')).rows.map(
        (r) => r.delivery_id,
      );
      expect(left).toEqual([recent.deliveryId]);
    });

    it('serves GET / without a token', async () => {
      const res = await api('GET', '/');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        service: 'webhook-orchestrator',
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
        links: expect.objectContaining({ docs: '/docs', health: '/health', metrics: '/metrics' }),
      });
    });
  });

  describe('authentication', () => {
    it('refuses missing, malformed, forged and expired tokens with 401', async () => {
      const expired = mintAccessToken(SECRET_KEY, { sub: 'x', role: Role.Operator }, 1);
      await new Promise((r) => setTimeout(r, 1100));
      const forged = mintAccessToken(
        'another-secret-another-secret-xx',
        { sub: 'x', role: Role.Operator },
        60,
      );
      const variants: Array<Record<string, string>> = [
        {},
        { authorization: 'Basic dXNlcjpwYXNz' },
        { authorization: 'Bearer' },
        { authorization: 'Bearer not.a.jwt' },
        { authorization: `Bearer ${forged}` },
        { authorization: `Bearer ${expired}` },
        { authorization: `Bearer ${viewer}x` },
      ];
      for (const headers of variants) {
        expectError(await api('GET', '/api/v1/tasks', undefined, headers), 401, '/api/v1/tasks');
      }
    });

    it('tells a token’s holder who they are, their role, their token’s id and its expiry', async () => {
      const issued = issueAccessToken(SECRET_KEY, { sub: 'otto', role: Role.Operator }, 600);
      const res = await api('GET', '/api/v1/auth/whoami', issued.token);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        subject: 'otto',
        role: 'operator',
        token_id: issued.id,
        expires_at: issued.expiresAt.toISOString(),
      });
      expect((await api('GET', '/api/v1/auth/whoami', viewer)).body.role).toBe('viewer');
      expectError(await api('GET', '/api/v1/auth/whoami'), 401, '/api/v1/auth/whoami');
    });

    it('guards every registered route as intended', async () => {
      const router = (
        orch.app.getHttpAdapter().getInstance() as {
          router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> };
        }
      ).router;
      const routes = router.stack
        .filter((layer) => layer.route)
        .flatMap((layer) =>
          Object.keys(layer.route!.methods).map((m) => ({
            method: m.toUpperCase(),
            path: layer.route!.path,
          })),
        );
      // The console's page shell and files hold no data; everything in it comes from the API.
      const publicRoutes = new Set([
        'POST /api/v1/webhooks/github',
        'GET /',
        'GET /console',
        'GET /console/*path',
        'GET /console/assets/:version/*path',
      ]);
      const operatorRoutes = new Set([
        'POST /api/v1/webhooks/events/:event_id/reprocess',
        'POST /api/v1/tasks/:task_id/retry',
        'POST /api/v1/admin/cleanup',
        'POST /api/v1/admin/deliveries/recover',
        'POST /api/v1/admin/tokens/revoke',
        'GET /api/v1/admin/audit',
      ]);
      const isOpsRoute = (path: string) =>
        path === '/metrics' || path.startsWith('/health') || path.startsWith('/docs');
      const checked: string[] = [];
      for (const { method, path } of routes) {
        const key = `${method} ${path}`;
        if (publicRoutes.has(key) || isOpsRoute(path)) continue;
        const concrete = path.replace(':event_id', '1').replace(':task_id', randomUUID());
        const anonymous = await api(method, concrete);
        expect({ key, status: anonymous.status }).toEqual({ key, status: 401 });
        if (operatorRoutes.has(key)) {
          const weak = await api(method, concrete, viewer);
          expect({ key, status: weak.status }).toEqual({ key, status: 403 });
        }
        checked.push(key);
      }
      // The walk must have covered every API route, so a new route cannot slip past it.
      expect(checked.sort()).toEqual(
        [
          'GET /api/v1/webhooks/events',
          'GET /api/v1/webhooks/events/:event_id',
          'POST /api/v1/webhooks/events/:event_id/reprocess',
          'GET /api/v1/tasks',
          'GET /api/v1/tasks/:task_id',
          'POST /api/v1/tasks/:task_id/retry',
          'GET /api/v1/metrics',
          'GET /api/v1/admin/stats',
          'POST /api/v1/admin/cleanup',
          'POST /api/v1/admin/deliveries/recover',
          'POST /api/v1/admin/tokens/revoke',
          'GET /api/v1/admin/audit',
          'POST /api/v1/rules/dry-run',
          'GET /api/v1/auth/whoami',
          'GET /api/v1/agent-runs/budget',
          'GET /api/v1/agent-runs',
          'GET /api/v1/agent-runs/summary',
        ].sort(),
      );
    });
  });

  describe('Swagger', () => {
    it('serves the interactive page and the document with every API route and the bearer scheme', async () => {
      const page = await fetch(`${orch.url}/docs`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('swagger');
      const doc = await api('GET', '/docs-json');
      expect(doc.status).toBe(200);
      expect(Object.keys(doc.body.paths)).toEqual(
        expect.arrayContaining([
          '/api/v1/webhooks/github',
          '/api/v1/webhooks/events',
          '/api/v1/webhooks/events/{event_id}',
          '/api/v1/webhooks/events/{event_id}/reprocess',
          '/api/v1/tasks',
          '/api/v1/tasks/{task_id}',
          '/api/v1/tasks/{task_id}/retry',
          '/api/v1/metrics',
          '/api/v1/admin/stats',
          '/api/v1/admin/cleanup',
          '/api/v1/agent-runs',
          '/api/v1/agent-runs/summary',
        ]),
      );
      expect(doc.body.components.securitySchemes.bearer).toMatchObject({
        type: 'http',
        scheme: 'bearer',
      });
      expect(
        doc.body.paths['/api/v1/tasks'].get.responses['400'].content['application/json'].schema
          .$ref,
      ).toMatch(/ErrorBodyDto/);
    });
  });
});

describe('API throttling', () => {
  const prefix = `${PREFIX}_throttle_${randomUUID().slice(0, 8)}`;
  const limits = {
    QUEUE_PREFIX: prefix,
    API_RATE_LIMIT_BURST: '5',
    API_RATE_LIMIT_PER_MINUTE: '1',
  };

  it('limits each client to the burst, with Retry-After, across replicas, and ignores a forged X-Forwarded-For', async () => {
    const a = await startOrchestrator(limits);
    const b = await startOrchestrator(limits);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const target = i % 2 === 0 ? a.url : b.url;
        statuses.push(
          (
            await call(target, 'GET', '/api/v1/metrics', viewer, {
              'x-forwarded-for': `10.0.0.${i}`,
            })
          ).status,
        );
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      const limited = await call(a.url, 'GET', '/api/v1/tasks', viewer);
      expectError(limited, 429, '/api/v1/tasks');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Unauthenticated guessing is limited too.
      expect((await call(a.url, 'GET', '/api/v1/tasks')).status).toBe(429);
      // The webhook route has its own rules: verified deliveries are never throttled.
      expect((await deliver(a.url, 'ping', { zen: 'z', hook_id: 1 })).status).toBe(200);
    } finally {
      await a.close();
      await b.close();
      await closeDb();
    }
  });

  it('with TRUST_PROXY set, limits by the forwarded client address', async () => {
    const c = await startOrchestrator({
      ...limits,
      QUEUE_PREFIX: `${prefix}_proxy`,
      TRUST_PROXY: 'loopback',
    });
    try {
      for (let i = 0; i < 5; i++) {
        expect(
          (
            await call(c.url, 'GET', '/api/v1/metrics', viewer, {
              'x-forwarded-for': '203.0.113.7',
            })
          ).status,
        ).toBe(200);
      }
      expect(
        (await call(c.url, 'GET', '/api/v1/metrics', viewer, { 'x-forwarded-for': '203.0.113.7' }))
          .status,
      ).toBe(429);
      expect(
        (await call(c.url, 'GET', '/api/v1/metrics', viewer, { 'x-forwarded-for': '203.0.113.8' }))
          .status,
      ).toBe(200);
    } finally {
      await c.close();
      await closeDb();
    }
  });
});
