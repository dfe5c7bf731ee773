import { randomUUID } from 'node:crypto';
import { GithubClient } from '@app/github';
import { DeliveryRecoveryService } from '../apps/worker/src/recovery/delivery-recovery.service';
import { GithubFake } from './fakes';
import { captureLogs, get, listenerUrl, sample, scrape } from './support/observability';
import { Env, Stack, startStack } from './support/stack';
import {
  db,
  deliver,
  example,
  RunningOrchestrator,
  RunningWorker,
  taskRows,
  truncateAll,
  waitFor,
} from './support/harness';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_limits`;
const TOKEN = 'ghp_rate_limit_test_token_0123456789';
const REPO = 'octo-org/limits';
const HOOK = `repos/${REPO}/hooks/77`;
/** GitHub's pull request files list: the read the injected failures below are meant for. */
const PR_FILES = 'GET /repos/{owner}/{repo}/pulls/{pull_number}/files';
/** GITHUB_SECONDARY_LIMIT_MIN_WAIT_MS for these tests (production: 60 s). */
const MIN_WAIT_MS = 1000;
const SECONDARY = {
  message:
    'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
  documentation_url: 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api',
};

function openedPr(number: number) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.repository.full_name = REPO;
  payload.pull_request.number = number;
  payload.number = number;
  delete payload.installation;
  return payload;
}

describe('GitHub rate limits in the worker: the identity waits, the task spends no attempt', () => {
  let github: GithubFake;
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  let client: GithubClient;

  let stack: Stack<Env, false>;

  beforeAll(async () => {
    stack = await startStack({
      prefix: PREFIX,
      github: { token: TOKEN },
      codegen: false,
      worker: {
        GITHUB_SECONDARY_LIMIT_MIN_WAIT_MS: String(MIN_WAIT_MS),
        DELIVERY_RECOVERY_HOOK: HOOK,
        DELIVERY_RECOVERY_INTERVAL_MS: '0',
      },
    });
    ({ github, orch, worker } = stack);
    client = worker.app.get(GithubClient, { strict: false });
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    await truncateAll();
    github.reset();
    // Each test starts with no identity waiting: the last one's wait has run out.
    await waitFor(async () => client.rateLimitHolds().length === 0, {
      what: 'no GitHub identity to be waiting',
      timeoutMs: 20_000,
    });
  });

  const analysisOf = async (deliveryId: string) =>
    (
      await taskRows(
        `task_type = 'pull_request_analysis' AND webhook_event_id =
           (SELECT id FROM webhook_events WHERE delivery_id = $1)`,
        [deliveryId],
      )
    )[0];
  const executionsOf = async (taskId: number) =>
    (
      await db().query(
        'SELECT attempt, status, error_message FROM task_executions WHERE task_id = $1 ORDER BY id',
        [taskId],
      )
    ).rows;
  const finished = (deliveryId: string, timeoutMs = 20_000) =>
    waitFor(
      async () => {
        const task = await analysisOf(deliveryId);
        return task && ['completed', 'failed'].includes(task.status) ? task : null;
      },
      { what: 'the analysis to finish', timeoutMs },
    );
  const filesRequests = (n: number) =>
    github.requests.filter((r) => r.path.startsWith(`/repos/${REPO}/pulls/${n}/files`));

  it('a secondary-limit 403 without Retry-After, then success: the task completes on its first attempt after the minimum wait', async () => {
    github.setPullRequestFiles(REPO, 1, [{ filename: 'README.md' }]);
    github.failNext(1, { status: 403, body: SECONDARY, route: PR_FILES });

    const { deliveryId } = await deliver(orch.url, 'pull_request', openedPr(1));
    const task = await finished(deliveryId);

    expect(task).toMatchObject({ status: 'completed', retry_count: 0, error_message: null });
    const executions = await executionsOf(task.id);
    expect(executions).toEqual([
      expect.objectContaining({ attempt: 1, status: 'held' }),
      expect.objectContaining({ attempt: 1, status: 'completed' }),
    ]);
    expect(executions[0].error_message).toContain('secondary rate limit');
    const [limited, retried] = filesRequests(1);
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(MIN_WAIT_MS - 50);
    expect(filesRequests(1)).toHaveLength(2);
  });

  it('honours a 429 Retry-After: nothing is sent as that identity before it has passed', async () => {
    github.setPullRequestFiles(REPO, 2, [{ filename: 'README.md' }]);
    github.failNext(1, {
      status: 429,
      retryAfterSeconds: 3,
      body: { message: 'Too Many Requests' },
      route: PR_FILES,
    });

    const { deliveryId } = await deliver(orch.url, 'pull_request', openedPr(2));
    const task = await finished(deliveryId);

    expect(task).toMatchObject({ status: 'completed', retry_count: 0 });
    // From the limited request on, GitHub saw its retry and nothing else.
    const [limited, retried] = filesRequests(2);
    expect(github.requests.slice(github.requests.indexOf(limited))).toEqual([limited, retried]);
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(3000 - 50);
  });

  it('doubles the wait while the limit repeats', async () => {
    github.setPullRequestFiles(REPO, 3, [{ filename: 'README.md' }]);
    github.failNext(2, { status: 403, body: SECONDARY, route: PR_FILES });

    const { deliveryId } = await deliver(orch.url, 'pull_request', openedPr(3));
    const task = await finished(deliveryId);

    expect(task).toMatchObject({ status: 'completed', retry_count: 0 });
    const times = filesRequests(3).map((r) => r.at);
    expect(times).toHaveLength(3);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(MIN_WAIT_MS - 50);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(2 * MIN_WAIT_MS - 50);
    expect((await executionsOf(task.id)).map((e) => e.status)).toEqual([
      'held',
      'held',
      'completed',
    ]);
  });

  it('holds other tasks of the limited identity before they are claimed', async () => {
    for (const n of [4, 5]) github.setPullRequestFiles(REPO, n, [{ filename: 'README.md' }]);
    github.failNext(1, { status: 403, body: SECONDARY, route: PR_FILES });
    const first = await deliver(orch.url, 'pull_request', openedPr(4));
    await waitFor(async () => client.rateLimitHolds().length > 0, { what: 'the limit' });

    const second = await deliver(orch.url, 'pull_request', openedPr(5));
    const done = await finished(second.deliveryId);

    expect(done).toMatchObject({ status: 'completed', retry_count: 0 });
    // The second never ran while the token waited: one execution, and no extra call.
    expect((await executionsOf(done.id)).map((e) => e.status)).toEqual(['completed']);
    expect(filesRequests(5)).toHaveLength(1);
    expect((await finished(first.deliveryId)).status).toBe('completed');
  });

  it('shows who waits and until when in /health and the metrics, and clears once it is over', async () => {
    github.setPullRequestFiles(REPO, 9, [{ filename: 'README.md' }]);
    github.failNext(1, { status: 403, retryAfterSeconds: 4, body: SECONDARY, route: PR_FILES });
    const { deliveryId } = await deliver(orch.url, 'pull_request', openedPr(9));

    const health = await waitFor(
      async () => {
        const { body } = await get(`${orch.url}/health`);
        return body.details?.github_api?.rate_limited?.length > 0 ? body : null;
      },
      { what: '/health to show the limited identity' },
    );
    expect(health.checks.github_api).toBe('degraded');
    const [limited] = health.details.github_api.rate_limited;
    expect(limited).toMatchObject({ identity: 'token', kind: 'secondary' });
    const untilMs = Date.parse(limited.until);
    expect(untilMs - Date.now()).toBeGreaterThan(0);
    expect(untilMs - Date.now()).toBeLessThanOrEqual(4000);
    const metrics = await scrape(`${listenerUrl(worker)}/metrics`);
    expect(sample(metrics, 'github_api_rate_limited_identities')).toBe(1);
    expect(sample(metrics, 'github_api_rate_limit_wait_seconds')).toBeGreaterThan(0);

    expect((await finished(deliveryId)).status).toBe('completed');
    const after = await scrape(`${listenerUrl(worker)}/metrics`);
    expect(sample(after, 'github_api_rate_limited_identities')).toBe(0);
    expect(sample(after, 'github_api_rate_limit_wait_seconds')).toBe(0);
    const { body } = await get(`${orch.url}/health`);
    expect(body.details.github_api.rate_limited).toEqual([]);
  });

  it('a 403 that is no rate limit still fails the task at once, as a permission error', async () => {
    github.failNext(1, {
      status: 403,
      body: { message: 'Resource not accessible by integration' },
      route: PR_FILES,
    });

    const { deliveryId } = await deliver(orch.url, 'pull_request', openedPr(6));
    const task = await finished(deliveryId);

    expect(task).toMatchObject({ status: 'failed', retry_count: 0 });
    expect(task.error_message).toContain('403');
    expect(task.error_message).toContain('Resource not accessible by integration');
    expect(task.output_data).toMatchObject({ error_kind: 'permanent' });
    expect(client.rateLimitHolds()).toEqual([]);
  });

  it('an answer that breaks the contract fails the task naming status and field, logs it scrubbed, and the worker goes on', async () => {
    const logs = captureLogs(worker.app, 'error');
    github.failNext(1, {
      status: 200,
      body: [{ filename: 7, status: 'modified', note: `leaked ${TOKEN}`, pad: 'x'.repeat(5000) }],
      route: PR_FILES,
    });
    const broken = await deliver(orch.url, 'pull_request', openedPr(7));
    const task = await finished(broken.deliveryId);

    expect(task.status).toBe('failed');
    expect(task.error_message).toBe(
      `github: malformed answer to GET /repos/${REPO}/pulls/7/files: [0].filename is not a string (HTTP 200)`,
    );
    const line = logs.find((l) => l.message === 'task failed' && l.task_id === task.task_id);
    expect(line?.answer).toEqual(expect.stringContaining('"filename":7'));
    expect(String(line?.answer)).not.toContain(TOKEN);
    expect(String(line?.answer).length).toBeLessThan(1100);

    github.setPullRequestFiles(REPO, 8, [{ filename: 'README.md' }]);
    const next = await deliver(orch.url, 'pull_request', openedPr(8));
    expect((await finished(next.deliveryId)).status).toBe('completed');
  });

  it('a recovery redelivery that meets a secondary limit is asked for again later, never marked failed', async () => {
    const missing = github.deliveries.add(HOOK, {
      guid: randomUUID(),
      deliveredAt: Date.now() - 3_600_000,
    });
    const service = worker.app.get(DeliveryRecoveryService, { strict: false });
    // The log page is read; the redelivery request meets the limit.
    github.deliveries.refuseRedelivery(missing.id, 403, SECONDARY);
    const page = github.requests.length;

    const first = await service.run(null);

    expect(first).toMatchObject({
      ran: true,
      report: { failed: 0, redeliveryRequested: 0, complete: false, stoppedReason: 'rate_limited' },
    });
    expect(github.requests.length).toBeGreaterThan(page);
    const row = async () =>
      (
        await db().query('SELECT status FROM delivery_redelivery_requests WHERE guid = $1', [
          missing.guid,
        ])
      ).rows[0];
    expect(await row()).toBeUndefined();
    // While the token waits, a pass sends nothing.
    const sent = github.requests.length;
    expect(await service.run(null)).toMatchObject({ report: { stoppedReason: 'rate_limited' } });
    expect(github.requests.length).toBe(sent);

    await waitFor(async () => client.rateLimitHolds().length === 0, { what: 'the wait to end' });
    const later = await service.run(null);
    expect(later).toMatchObject({ report: { redeliveryRequested: 1, failed: 0, complete: true } });
    expect(github.deliveries.redeliveryRequests.map((r) => r.guid)).toEqual([missing.guid]);
    expect(await row()).toMatchObject({ status: 'requested' });
  });
});
