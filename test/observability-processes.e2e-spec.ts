import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signGithubPayload } from '@app/github';
import { CodegenFake, GithubFake } from './fakes';
import {
  exampleRepositories,
  closeDb,
  CODEGEN_TOKEN,
  deliver,
  example,
  taskRows,
  testEnv,
  truncateAll,
  waitFor,
  WEBHOOK_SECRET,
} from './support/harness';
import { get, sample } from './support/observability';
import { assertBuilt, ORCHESTRATOR_MAIN, startApp, WORKER_MAIN } from './support/app-process';

const GITHUB_TOKEN = 'ghp_processSuiteToken0123456789abcdef';
const API_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.not-a-valid-api-token.c2lnbmF0dXJlLXNlY3JldA';

/** OTLP JSON is asserted field by field, so it is loosely typed. */
type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above

/** An OTLP/HTTP (JSON) trace collector standing in for Jaeger. */
interface OtlpSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

async function startCollector(): Promise<{
  url: string;
  spans: OtlpSpan[];
  stop(): Promise<void>;
}> {
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const request = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: Record<string, unknown> }> };
            scopeSpans: Array<{ spans: Loose[] }>;
          }>;
        };
        for (const resourceSpans of request.resourceSpans) {
          const service = resourceSpans.resource.attributes.find((a) => a.key === 'service.name')
            ?.value.stringValue as string;
          for (const scope of resourceSpans.scopeSpans) {
            for (const span of scope.spans) {
              spans.push({
                service,
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId || undefined,
                name: span.name,
                kind: span.kind,
                attributes: Object.fromEntries(
                  (span.attributes ?? []).map(
                    (a: { key: string; value: Record<string, unknown> }) => [
                      a.key,
                      Object.values(a.value)[0],
                    ],
                  ),
                ),
              });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// The built apps as processes (what `npm run start:*` runs), with tracing on and debug logs.
describe('observability of the built apps as processes', () => {
  beforeAll(assertBuilt);
  afterAll(closeDb);

  it('exports one trace over OTLP from intake to the Codegen request, logs correlated lines, and never logs a secret', async () => {
    await truncateAll();
    const collector = await startCollector();
    const github = await GithubFake.start({ token: GITHUB_TOKEN });
    const codegen = await CodegenFake.start({
      token: CODEGEN_TOKEN,
      autoCompleteAfterGets: 1,
      repositories: exampleRepositories(),
    });
    const env = {
      ...testEnv({
        QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_procobs`,
        LOG_LEVEL: 'debug',
        ENABLE_TRACING: 'true',
        JAEGER_ENDPOINT: collector.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        GITHUB_API_URL: github.url,
        GITHUB_TOKEN,
        CODEGEN_BASE_URL: codegen.url,
        CODEGEN_TOKEN,
        CODEGEN_POLL_INTERVAL_MS: '100',
        CODEGEN_POLL_MAX_INTERVAL_MS: '200',
      }),
      PATH: process.env.PATH,
    };
    const orch = startApp(ORCHESTRATOR_MAIN, env);
    const worker = startApp(WORKER_MAIN, env);
    let signature = '';
    try {
      const { port } = await orch.waitForLog('orchestrator listening');
      const { port: listenerPort } = await worker.waitForLog('worker health and metrics listener');
      const base = `http://127.0.0.1:${port}`;
      const listener = `http://127.0.0.1:${listenerPort}`;
      await waitFor(async () => (await get(`${listener}/health/ready`)).status === 200, {
        what: 'worker readiness',
      });

      // Requests that carry secrets: a bearer token on the API and on the webhook, a bad signature.
      const api = await fetch(`${base}/api/v1/tasks`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(api.status).toBe(401);
      expect(
        (
          await deliver(
            base,
            'push',
            { zen: 'x' },
            {
              secret: 'some-other-secret-value',
              headers: { authorization: `Bearer ${API_TOKEN}` },
            },
          )
        ).status,
      ).toBe(401);

      // Upstream errors that echo the credentials back.
      const payload = example('pull_request', (p) => p.action === 'opened');
      const repo = payload.repository.full_name as string;
      const sha = 'd'.repeat(40);
      payload.pull_request.number = 11;
      payload.number = 11;
      payload.pull_request.head.sha = sha;
      payload.pull_request.draft = false;
      github.setPullRequestFiles(repo, 11, [{ filename: 'src/app.ts' }]);
      github.setPullRequest(repo, 11, { headSha: sha });
      // Three answers: the in-call retries too, so the attempt fails and its error is logged.
      github.failNext(3, { status: 502, body: { message: `bad credentials ${GITHUB_TOKEN}` } });
      codegen.failNext(1, {
        status: 500,
        route: 'create',
        body: { message: `token ${CODEGEN_TOKEN} rejected`, status_code: 500 },
      });

      const raw = JSON.stringify(payload);
      signature = signGithubPayload(raw, WEBHOOK_SECRET);
      const res = await deliver(base, 'pull_request', payload, {
        rawBody: raw,
        headers: { 'x-request-id': 'proc-corr-0001' },
      });
      expect(res.status).toBe(200);
      const trigger = await waitFor(
        async () => {
          const [analysis] = await taskRows('task_id = $1', [res.body.result.task_id]);
          const childId = analysis?.output_data?.child_task_ids?.[0];
          if (!childId) return null;
          const [child] = await taskRows('task_id = $1', [childId]);
          return child?.status === 'completed' ? child : null;
        },
        { what: 'the agent-run task to complete', timeoutMs: 30_000 },
      );
      expect(codegen.createdRuns).toHaveLength(1);

      // The worker's own listener, in a real process.
      const metrics = await get(`${listener}/metrics`);
      expect(
        sample(
          metrics.text,
          'workflow_tasks_total{task_type="codegen_trigger",status="completed"}',
        ),
      ).toBe(1);

      // One trace: HTTP in → intake → PostgreSQL and Redis → worker tasks → Codegen over HTTP.
      const spans = await waitFor(
        async () => {
          const intake = collector.spans.find(
            (s) =>
              s.name === 'webhook.intake' && s.attributes['github.delivery_id'] === res.deliveryId,
          );
          if (!intake) return null;
          const inTrace = collector.spans.filter((s) => s.traceId === intake.traceId);
          const call = inTrace.find((s) => s.name === 'codegen.create_agent_run');
          return call && inTrace.some((s) => s.parentSpanId === call.spanId) ? inTrace : null;
        },
        { what: 'the spans to reach the collector', timeoutMs: 20_000 },
      );
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const ancestry = (span: OtlpSpan): OtlpSpan[] => {
        const chain: OtlpSpan[] = [];
        for (
          let p = span.parentSpanId && byId.get(span.parentSpanId);
          p;
          p = p.parentSpanId && byId.get(p.parentSpanId)
        )
          chain.push(p);
        return chain;
      };
      const intake = spans.find((s) => s.name === 'webhook.intake') as OtlpSpan;
      // Under the HTTP server span (kind SERVER) of the webhook request.
      // Named after the route, as Express would name it, though the lane serves it ahead of Express.
      expect(ancestry(intake).find((s) => s.kind === 2)).toMatchObject({
        service: 'orchestrator',
        name: 'POST /api/v1/webhooks/github',
        attributes: expect.objectContaining({ 'http.route': '/api/v1/webhooks/github' }),
      });
      expect(
        spans.some(
          (s) =>
            s.service === 'orchestrator' &&
            (s.attributes['db.system'] ?? s.attributes['db.system.name']) === 'postgresql',
        ),
      ).toBe(true);
      expect(
        spans.some(
          (s) => (s.attributes['db.system'] ?? s.attributes['db.system.name']) === 'redis',
        ),
      ).toBe(true);
      const runs = spans.filter((s) => s.name === 'task.run' && s.service === 'worker');
      expect(runs.map((s) => s.attributes['task.id'])).toContain(trigger.task_id);
      const call = spans.find((s) => s.name === 'codegen.create_agent_run') as OtlpSpan;
      expect(ancestry(call)).toContain(intake);
      const httpOut = spans.filter((s) => s.parentSpanId === call.spanId);
      expect(httpOut.length).toBeGreaterThan(0);
      expect(httpOut.every((s) => s.kind === 3)).toBe(true);
      // The trace context reached Codegen itself.
      const create = codegen.requests.filter((r) => r.method === 'POST').at(-1);
      expect(String(create?.headers.traceparent)).toContain(intake.traceId);

      // The delivery's correlation id is on the worker's lines for both tasks.
      const workerLines = worker.lines();
      const triggerLines = workerLines.filter((l) => l.task_id === trigger.task_id);
      expect(triggerLines.length).toBeGreaterThan(0);
      expect(triggerLines.every((l) => l.correlation_id === 'proc-corr-0001')).toBe(true);
      expect(triggerLines.every((l) => l.trace_id === intake.traceId)).toBe(true);
    } finally {
      orch.terminate();
      worker.terminate();
      await github.stop();
      await codegen.stop();
    }
    expect((await orch.exited).code).toBe(0);
    expect((await worker.exited).code).toBe(0);
    await collector.stop();

    // Everything both processes wrote, at debug level, from start to exit.
    const logs = orch.log + worker.log;
    for (const line of logs.split('\n').filter(Boolean))
      expect(() => JSON.parse(line)).not.toThrow();
    expect(logs).toContain('[redacted]');
    const secrets = {
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      SECRET_KEY: testEnv().SECRET_KEY as string,
      GITHUB_TOKEN,
      CODEGEN_TOKEN,
      'API bearer token': API_TOKEN,
      'X-Hub-Signature-256': signature,
    };
    for (const [name, value] of Object.entries(secrets)) {
      expect({ name, leaked: logs.includes(value) }).toEqual({ name, leaked: false });
    }
  });
});
