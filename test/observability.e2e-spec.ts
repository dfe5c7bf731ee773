import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lifecycle } from '@app/platform';
import {
  dashboardQueries,
  metricNamesIn,
  missingMetrics,
  ruleQueries,
} from '../scripts/observability/queries';
import { CodegenFake, GithubFake } from './fakes';
import {
  closeDb,
  CODEGEN_TOKEN,
  deliver,
  example,
  exampleRepositories,
  finished,
  RunningOrchestrator,
  RunningWorker,
  startOrchestrator,
  startWorker,
  truncateAll,
  waitFor,
} from './support/harness';
import { captureLogs, get, listenerUrl, sample, scrape } from './support/observability';
import { ScratchRedis } from './support/redis-server';
import { TcpProxy, throughProxy } from './support/tcp-proxy';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_obs`;

function pullRequest(action: string, prNumber: number, sha: string) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.action = action;
  payload.pull_request.number = prNumber;
  payload.number = prNumber;
  payload.pull_request.head.sha = sha;
  payload.pull_request.draft = false;
  return payload;
}

function push() {
  const payload = example('push');
  payload.ref = `refs/heads/${payload.repository.default_branch}`;
  payload.deleted = false;
  payload.after = randomUUID().replace(/-/g, '').padEnd(40, '0');
  return payload;
}

describe('observability of both apps, end to end', () => {
  let github: GithubFake;
  let codegen: CodegenFake;
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  let repo: string;

  beforeAll(async () => {
    github = await GithubFake.start();
    codegen = await CodegenFake.start({
      token: CODEGEN_TOKEN,
      repositories: exampleRepositories(),
    });
    orch = await startOrchestrator({ QUEUE_PREFIX: PREFIX });
    worker = await startWorker({
      QUEUE_PREFIX: PREFIX,
      GITHUB_API_URL: github.url,
      CODEGEN_BASE_URL: codegen.url,
      CODEGEN_TOKEN,
      GITHUB_TIMEOUT_MS: '2000',
      CODEGEN_POLL_INTERVAL_MS: '100',
      CODEGEN_POLL_MAX_INTERVAL_MS: '200',
      CIRCUIT_BREAKER_THRESHOLD: '3',
      CIRCUIT_BREAKER_RECOVERY_MS: '3000',
    });
    repo = example('pull_request').repository.full_name as string;
    await truncateAll();
    codegen.setAutoComplete(1);
  });
  afterAll(async () => {
    await worker.close();
    await orch.close();
    await github.stop();
    await codegen.stop();
    await closeDb();
  });

  it('answers GET /health with the spec body and the Terminus probes, on both apps', async () => {
    const health = await waitFor(
      async () => {
        const res = await get(`${orch.url}/health`);
        return res.body.checks?.workers === 'healthy' ? res : null;
      },
      { what: 'the worker heartbeat to reach the orchestrator' },
    );
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: 'healthy',
      checks: {
        database: 'healthy',
        redis: 'healthy',
        workers: 'healthy',
        github_api: 'healthy',
        codegen_api: 'healthy',
      },
      details: { draining: false, live_workers: 1 },
    });
    expect(new Date(health.body.timestamp).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(health.body.uptime).toBeGreaterThan(0);

    const workerHealth = await get(`${listenerUrl(worker)}/health`);
    expect(workerHealth.status).toBe(200);
    expect(workerHealth.body.checks).toEqual(health.body.checks);

    for (const base of [orch.url, listenerUrl(worker)]) {
      const live = await get(`${base}/health/live`);
      expect(live.status).toBe(200);
      expect(live.body).toMatchObject({ status: 'ok', info: { process: { status: 'up' } } });
      const ready = await get(`${base}/health/ready`);
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        status: 'ok',
        info: { database: { status: 'up' }, lifecycle: { status: 'up' } },
      });
    }
    // The worker cannot work without Redis, so its readiness checks it too.
    expect((await get(`${listenerUrl(worker)}/health/ready`)).body.info.redis).toEqual({
      status: 'up',
    });
    expect((await get(`${listenerUrl(worker)}/nothing-here`)).status).toBe(404);
    const post = await fetch(`${listenerUrl(worker)}/health`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('follows one delivery to its agent run in metrics and logs of both apps', async () => {
    const orchLogs = captureLogs(orch.app, 'info');
    const workerLogs = captureLogs(worker.app, 'info');
    const sha = 'a'.repeat(40);
    github.setPullRequestFiles(repo, 7, [{ filename: 'src/main.ts' }]);
    github.setPullRequest(repo, 7, { headSha: sha });

    const res = await deliver(orch.url, 'pull_request', pullRequest('opened', 7, sha), {
      headers: { 'x-request-id': 'obs-corr-0001' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-correlation-id')).toBe('obs-corr-0001');
    const analysis = await finished(res.body.result.task_id);
    expect(analysis.status).toBe('completed');
    const trigger = await finished(analysis.output_data.child_task_ids[0]);
    expect(trigger.status).toBe('completed');
    expect(codegen.createdRuns).toHaveLength(1);

    // Intake side (orchestrator).
    const intake = await scrape(`${orch.url}/metrics`);
    expect(
      sample(
        intake,
        'webhook_events_total{event_type="pull_request",action="opened",outcome="queued"}',
      ),
    ).toBe(1);
    expect(
      sample(
        intake,
        'webhook_processing_duration_seconds_count{event_type="pull_request",outcome="accepted"}',
      ),
    ).toBe(1);
    expect(
      sample(intake, 'workflow_tasks_total{task_type="pull_request_analysis",status="created"}'),
    ).toBe(1);
    expect(sample(intake, 'dependency_up{dependency="database"}')).toBe(1);
    expect(sample(intake, 'dependency_up{dependency="redis"}')).toBe(1);
    expect(sample(intake, 'bull_workers_active')).toBe(1);
    expect(sample(intake, 'database_connections_idle')).toBeGreaterThanOrEqual(0);
    expect(intake).toContain('process_cpu_user_seconds_total');

    // Work side (worker listener).
    const work = await scrape(`${listenerUrl(worker)}/metrics`);
    expect(
      sample(work, 'workflow_tasks_total{task_type="pull_request_analysis",status="completed"}'),
    ).toBe(1);
    expect(sample(work, 'workflow_tasks_total{task_type="codegen_trigger",status="created"}')).toBe(
      1,
    );
    expect(
      sample(work, 'workflow_tasks_total{task_type="codegen_trigger",status="completed"}'),
    ).toBe(1);
    expect(
      sample(
        work,
        'workflow_task_duration_seconds_count{task_type="pull_request_analysis",outcome="completed"}',
      ),
    ).toBe(1);
    expect(
      sample(work, 'github_api_requests_total{operation="list_pull_request_files",status="2xx"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(work, 'github_api_rate_limit_remaining{resource="core"}')).toBe(
      github.rateLimitRemaining,
    );
    expect(
      sample(work, 'codegen_api_requests_total{operation="create_agent_run",status="2xx"}'),
    ).toBe(1);
    expect(sample(work, 'codegen_agent_tasks_total{outcome="started"}')).toBe(1);
    expect(sample(work, 'circuit_breaker_state{service="github",state="closed"}')).toBe(1);
    expect(sample(work, 'circuit_breaker_state{service="codegen",state="closed"}')).toBe(1);
    expect(sample(work, 'workflow_tasks_live{status="running"}')).toBe(0);

    // The delivery's correlation id went through Redis with both jobs, the child's included.
    for (const task of [analysis, trigger]) {
      const lines = workerLogs.filter((l) => l.task_id === task.task_id);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        expect(line).toMatchObject({
          correlation_id: 'obs-corr-0001',
          delivery_id: res.deliveryId,
          service: 'worker',
        });
      }
      expect(lines.some((l) => typeof l.execution_id === 'number')).toBe(true);
    }
    expect(orchLogs.every((l) => l.level !== 'error')).toBe(true);
  });

  it('counts refused requests by error type and keeps raw header values out of labels', async () => {
    const before = await scrape(`${orch.url}/metrics`);
    const count = (text: string, type: string) =>
      sample(text, `webhook_errors_total{error_type="${type}"}`) ?? 0;

    expect((await deliver(orch.url, 'push', push(), { secret: 'wrong-secret' })).status).toBe(401);
    const once = await deliver(orch.url, 'push', push());
    expect((await deliver(orch.url, 'push', push(), { deliveryId: once.deliveryId })).status).toBe(
      409,
    );
    expect(
      (await deliver(orch.url, 'push', push(), { headers: { 'x-github-delivery': 'bad id!' } }))
        .status,
    ).toBe(400);
    const huge = JSON.stringify({ blob: 'x'.repeat(1_100_000) });
    expect((await deliver(orch.url, 'push', {}, { rawBody: huge })).status).toBe(413);
    const odd = await deliver(orch.url, 'zz_made_up_event', { zen: 'hello' });
    expect(odd.body.result).toMatchObject({ status: 'ignored' });

    const after = await scrape(`${orch.url}/metrics`);
    for (const type of ['signature', 'duplicate', 'invalid', 'payload_too_large']) {
      expect({ type, delta: count(after, type) - count(before, type) }).toEqual({ type, delta: 1 });
    }
    expect(count(after, 'internal')).toBe(0);
    expect(
      sample(after, 'webhook_events_total{event_type="other",action="none",outcome="ignored"}'),
    ).toBe(1);
    expect(after).not.toContain('zz_made_up_event');
    expect(after).not.toContain('bad id!');
  });

  it('exports every metric the dashboards and alert rules name (real scrapes of both apps)', async () => {
    const orchestratorScrape = await scrape(`${orch.url}/metrics`);
    const workerScrape = await scrape(`${listenerUrl(worker)}/metrics`);
    const dir = process.env.OBSERVABILITY_SCRAPE_DIR;
    if (dir) {
      // scripts/check-observability.sh lints these with `promtool check metrics`.
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'orchestrator.prom'), orchestratorScrape);
      writeFileSync(join(dir, 'worker.prom'), workerScrape);
    }
    const queries = [...dashboardQueries(), ...ruleQueries()];
    expect(queries.length).toBeGreaterThan(30);
    expect(Object.fromEntries(missingMetrics(queries, [orchestratorScrape, workerScrape]))).toEqual(
      {},
    );
  });

  // Last in this describe: it leaves GitHub's breaker open for a few seconds.
  it('shows an open GitHub breaker in metrics and /health, which spends no GitHub quota', async () => {
    const sha = 'b'.repeat(40);
    github.reset();
    github.setPullRequest(repo, 8, { headSha: sha });
    github.failNext(1_000, { status: 503 });
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened', 8, sha));
    expect(res.status).toBe(200);

    const work = await waitFor(
      async () => {
        const text = await scrape(`${listenerUrl(worker)}/metrics`);
        return sample(text, 'circuit_breaker_state{service="github",state="open"}') === 1
          ? text
          : null;
      },
      { what: 'the GitHub breaker to open' },
    );
    expect(sample(work, 'circuit_breaker_state{service="github",state="closed"}')).toBe(0);
    expect(
      sample(work, 'circuit_breaker_transitions_total{service="github",state="open"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(work, 'github_api_requests_total{operation="list_pull_request_files",status="5xx"}'),
    ).toBeGreaterThanOrEqual(3);
    await waitFor(
      async () =>
        sample(
          await scrape(`${listenerUrl(worker)}/metrics`),
          'workflow_task_retries_total{task_type="pull_request_analysis"}',
        ) ?? 0,
      { what: 'a retry to be counted' },
    );

    const health = await waitFor(
      async () => {
        const res = await get(`${orch.url}/health`);
        return res.body.checks?.github_api === 'unhealthy' ? res : null;
      },
      { what: 'the orchestrator to see the open breaker through the heartbeat' },
    );
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: 'degraded',
      checks: { database: 'healthy', workers: 'healthy', github_api: 'unhealthy' },
      details: { github_api: { circuits: { open: 1 } } },
    });
    for (let i = 0; i < 5; i++) {
      await get(`${orch.url}/health`);
      await get(`${listenerUrl(worker)}/health`);
    }
    // Every request GitHub saw was the task's own; health asked GitHub nothing.
    expect(github.requests.length).toBeGreaterThan(0);
    expect(github.requests.every((r) => r.path.startsWith(`/repos/${repo}/pulls/8`))).toBe(true);
    github.reset();
  });
});

describe('observability when things go wrong', () => {
  afterAll(closeDb);
  // A worker's relay would pick up tasks left by other tests and call the real GitHub.
  beforeEach(truncateAll);
  afterEach(() => lifecycle.reset());

  it('ENABLE_METRICS=false: no /metrics on either app, health still answers', async () => {
    const env = { QUEUE_PREFIX: `${PREFIX}_nometrics`, ENABLE_METRICS: 'false' };
    const orch = await startOrchestrator(env);
    const worker = await startWorker(env);
    try {
      const metrics = await get(`${orch.url}/metrics`);
      expect(metrics.status).toBe(404);
      expect(metrics.body).toMatchObject({ status_code: 404, path: '/metrics' });
      expect((await get(`${listenerUrl(worker)}/metrics`)).status).toBe(404);
      expect((await get(`${orch.url}/health`)).status).toBe(200);
      expect((await get(`${listenerUrl(worker)}/health/ready`)).status).toBe(200);
    } finally {
      await worker.close();
      await orch.close();
    }
  });

  it('turns readiness 503 while draining and keeps liveness 200, on both apps', async () => {
    const env = { QUEUE_PREFIX: `${PREFIX}_drain` };
    const orch = await startOrchestrator(env);
    const worker = await startWorker(env);
    try {
      lifecycle.startDraining();
      for (const base of [orch.url, listenerUrl(worker)]) {
        const ready = await get(`${base}/health/ready`);
        expect(ready.status).toBe(503);
        expect(ready.body).toMatchObject({
          status: 'error',
          error: { lifecycle: { status: 'down', draining: true } },
        });
        expect((await get(`${base}/health/live`)).status).toBe(200);
        const health = await get(`${base}/health`);
        expect(health.status).toBe(503);
        expect(health.body).toMatchObject({ status: 'unhealthy', details: { draining: true } });
      }
    } finally {
      lifecycle.reset();
      await worker.close();
      await orch.close();
    }
  });

  it('PostgreSQL unreachable: /health 503 and not ready, still alive; back to healthy after', async () => {
    const target = new URL(process.env.TEST_DATABASE_URL as string);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const orch = await startOrchestrator({
      QUEUE_PREFIX: `${PREFIX}_pg`,
      DATABASE_URL: throughProxy(process.env.TEST_DATABASE_URL as string, proxy),
      DATABASE_CONNECT_TIMEOUT_MS: '500',
    });
    try {
      expect((await get(`${orch.url}/health/ready`)).status).toBe(200);
      proxy.cut();
      const health = await get(`${orch.url}/health`);
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ status: 'unhealthy', checks: { database: 'unhealthy' } });
      const ready = await get(`${orch.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.error.database.status).toBe('down');
      expect((await get(`${orch.url}/health/live`)).status).toBe(200);
      expect(
        sample(await scrape(`${orch.url}/metrics`), 'dependency_up{dependency="database"}'),
      ).toBe(0);

      proxy.restore();
      await waitFor(async () => (await get(`${orch.url}/health/ready`)).status === 200, {
        what: 'readiness after PostgreSQL is back',
      });
      // /health answers from a one-second cache, so the recovery shows within that second.
      await waitFor(
        async () => (await get(`${orch.url}/health`)).body.checks.database === 'healthy',
        { what: '/health database healthy again', timeoutMs: 5_000 },
      );
    } finally {
      proxy.restore();
      await orch.close();
      await proxy.stop();
    }
  });

  it('Redis gone: the worker is not ready, the orchestrator stays ready and reports degraded', async () => {
    const redis = await ScratchRedis.start();
    const env = { QUEUE_PREFIX: `${PREFIX}_redis`, REDIS_URL: redis.url };
    const orch = await startOrchestrator(env);
    const worker = await startWorker(env);
    try {
      await waitFor(async () => (await get(`${orch.url}/health`)).body.status === 'healthy', {
        what: 'both apps healthy on the scratch Redis',
      });
      await redis.kill();

      const workerReady = await get(`${listenerUrl(worker)}/health/ready`);
      expect(workerReady.status).toBe(503);
      expect(workerReady.body.error.redis.status).toBe('down');
      expect((await get(`${listenerUrl(worker)}/health/live`)).status).toBe(200);
      expect((await get(`${listenerUrl(worker)}/health`)).status).toBe(503);

      // Deliveries are still stored without Redis, so the orchestrator must stay in rotation.
      expect((await get(`${orch.url}/health/ready`)).status).toBe(200);
      // /health answers from a one-second cache: the loss shows within that second.
      const health = await waitFor(
        async () => {
          const res = await get(`${orch.url}/health`);
          return res.body.checks.redis === 'unhealthy' ? res : null;
        },
        { what: '/health redis unhealthy', timeoutMs: 5_000 },
      );
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'degraded', checks: { redis: 'unhealthy' } });
      expect((await deliver(orch.url, 'push', push())).status).toBe(200);

      await redis.up();
      await waitFor(async () => (await get(`${listenerUrl(worker)}/health/ready`)).status === 200, {
        what: 'worker readiness after Redis is back',
      });
    } finally {
      await worker.close();
      await orch.close();
      await redis.kill();
    }
  });

  it('no live worker: /health is degraded with workers unhealthy, within a second when a worker stops', async () => {
    const env = { QUEUE_PREFIX: `${PREFIX}_noworker` };
    const orch = await startOrchestrator(env);
    try {
      const alone = await get(`${orch.url}/health`);
      expect(alone.status).toBe(200);
      expect(alone.body).toMatchObject({
        status: 'degraded',
        checks: { workers: 'unhealthy', github_api: 'unknown', codegen_api: 'unknown' },
        details: { live_workers: 0 },
      });

      // Dry-run mode: Codegen is not called at all.
      const worker = await startWorker({ ...env, CODEGEN_TOKEN: '' });
      const withWorker = await waitFor(
        async () => {
          const res = await get(`${orch.url}/health`);
          return res.body.checks.workers === 'healthy' ? res : null;
        },
        { what: 'the worker heartbeat' },
      );
      expect(withWorker.body).toMatchObject({
        status: 'healthy',
        checks: { codegen_api: 'disabled' },
      });
      await worker.close();
      // A stopping worker removes its heartbeat instead of letting it expire (20 s): /health
      // shows it as soon as its one-second cache turns over.
      await waitFor(
        async () => (await get(`${orch.url}/health`)).body.checks.workers === 'unhealthy',
        { what: '/health workers unhealthy after the stop', timeoutMs: 3_000 },
      );
    } finally {
      await orch.close();
    }
  });

  it('a starting worker counts in /health as soon as its Redis answers, not one heartbeat interval later', async () => {
    // The interval is far away: only the first beat, written once Redis is connected, can make
    // the worker count. Redis comes up after the worker has started (as with `npm run up` on a
    // machine where Redis starts slowly).
    const redis = await ScratchRedis.start();
    await redis.kill();
    const env = {
      QUEUE_PREFIX: `${PREFIX}_firstbeat`,
      REDIS_URL: redis.url,
      WORKER_HEARTBEAT_INTERVAL_MS: '60000',
    };
    let worker: RunningWorker | undefined;
    let orch: RunningOrchestrator | undefined;
    try {
      worker = await startWorker({ ...env, CODEGEN_TOKEN: '' });
      await redis.up();
      orch = await startOrchestrator(env);
      const url = orch.url;
      const healthy = await waitFor(
        async () => {
          const res = await get(`${url}/health`);
          return res.body.checks.workers === 'healthy' ? res : null;
        },
        { timeoutMs: 10_000, intervalMs: 100, what: 'the worker counted by /health' },
      );
      expect(healthy.body.details.live_workers).toBe(1);
    } finally {
      await worker?.close();
      await orch?.close();
      await redis.kill();
    }
  });
});

describe('PromQL of the dashboards and alert rules', () => {
  it('names metrics, not functions, labels, keywords or Grafana variables', () => {
    expect([
      ...metricNamesIn(
        'histogram_quantile(0.95, sum by (le, job) (rate(webhook_processing_duration_seconds_bucket{outcome="accepted", job=~"a|b"}[$__rate_interval])))',
      ),
    ]).toEqual(['webhook_processing_duration_seconds_bucket']);
    expect(
      [
        ...metricNamesIn(
          'sum(rate(a_total[5m])) / ignoring(x) group_left sum(rate(b_total[5m] offset 1h)) > bool 1e3 or absent(up{job="w"})',
        ),
      ].sort(),
    ).toEqual(['a_total', 'b_total', 'up']);
  });

  it('reads every dashboard panel and alert expression', () => {
    const dashboards = dashboardQueries();
    const rules = ruleQueries();
    expect(dashboards.length).toBeGreaterThan(30);
    expect(rules.map((r) => r.source)).toEqual([
      'alerts.yml: WebhookErrorRateHigh',
      'alerts.yml: QueueBacklogHigh',
      'alerts.yml: TaskProcessingSlow',
      'alerts.yml: ServiceDown',
      'alerts.yml: DependencyDown',
      'alerts.yml: GithubRateLimitLow',
      'alerts.yml: CircuitBreakerOpen',
      'alerts.yml: OldestPendingTaskTooOld',
      'alerts.yml: NoLiveWorker',
      'alerts.yml: AgentFixRateLow',
      'alerts.yml: AgentRunsOverBudget',
    ]);
  });
});
