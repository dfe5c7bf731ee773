import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { CODEGEN_OPERATIONS } from '@app/codegen';
import { TaskType } from '@app/domain';
import { GITHUB_OPERATIONS } from '@app/github';
import { ALERT_RULES, asPromql, dashboardQueries } from '../scripts/observability/queries';
import { GithubFake } from './fakes';
import {
  closeDb,
  deliver,
  example,
  RunningOrchestrator,
  RunningWorker,
  startOrchestrator,
  startWorker,
  taskRows,
  truncateAll,
  waitFor,
} from './support/harness';
import { listenerUrl, sample, scrape } from './support/observability';
import {
  prometheusInstalled,
  RunningPrometheus,
  startPrometheus,
} from './support/prometheus-server';

/*
 * Metrics from the first second of both apps: every bounded series exists at 0 before the first
 * event, and the dashboards and the webhook error-rate alert, evaluated by a real Prometheus
 * scraping both apps (in this process) every second from their start, read what an operator
 * expects after a restart: 0 while idle, the real ratio at low traffic.
 */

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_dash`;
/** Grafana's `$__rate_interval` for a 1 s scrape interval is a few seconds; this is ample. */
const RATE_INTERVAL = '10s';
const JOBS = ['orchestrator', 'worker'];

/** Counter families of a scrape (`# TYPE name counter`) that have no sample line. */
function countersWithoutSeries(text: string): string[] {
  const counters = [...text.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]);
  const lines = text.split('\n');
  return counters.filter(
    (name) => !lines.some((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)),
  );
}

/** Every sample series (`name{labels}`) of the counter families of a scrape, and of the histograms' `_count`. */
function counterSeries(text: string): Set<string> {
  const counters = new Set([...text.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]));
  // Histograms by their `_count` series: one per label set, created at 0 like the counters'.
  // Node's own GC histogram is left out: its `kind` series appear with V8's first collection of
  // that kind, whenever the collector decides, not with anything a delivery touches.
  for (const m of text.matchAll(/^# TYPE (\S+) histogram$/gm)) {
    if (m[1] !== 'nodejs_gc_duration_seconds') counters.add(`${m[1]}_count`);
  }
  return new Set(
    text
      .split('\n')
      .filter((l) => counters.has(l.split(/[{ ]/)[0]))
      .map((l) => l.slice(0, l.lastIndexOf(' '))),
  );
}

/** One real GitHub example payload for each event type and action GitHub documents. */
function everyExample(): Array<{ event: string; payload: Record<string, unknown> }> {
  const all = createRequire(__filename)(
    '@octokit/webhooks-examples/api.github.com/index.json',
  ) as Array<{
    name: string;
    examples: Array<Record<string, unknown>>;
  }>;
  const seen = new Set<string>();
  return all.flatMap(({ name, examples }) =>
    examples
      .filter((payload) => {
        const key = `${name}:${String(payload.action)}`;
        return seen.has(key) ? false : (seen.add(key), true);
      })
      .map((payload) => ({ event: name, payload: structuredClone(payload) })),
  );
}

/** A value Grafana draws as a number (Prometheus sends NaN and ±Inf as text). */
function isNumber(value: string): boolean {
  return Number.isFinite(Number(value));
}

describe('dashboards and alerts on a real Prometheus scraping both apps from their start', () => {
  let github: GithubFake;
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  let prometheus: RunningPrometheus;
  /** The first scrape of each app, taken before Prometheus starts and before any request. */
  let fresh: { orchestrator: string; worker: string };

  beforeAll(async () => {
    if (!prometheusInstalled()) {
      throw new Error(
        'the prometheus server is not installed (Debian package `prometheus`; see README, Tests)',
      );
    }
    await truncateAll();
    github = await GithubFake.start();
    orch = await startOrchestrator({ QUEUE_PREFIX: PREFIX });
    worker = await startWorker({ QUEUE_PREFIX: PREFIX, GITHUB_API_URL: github.url });
    fresh = {
      orchestrator: await scrape(`${orch.url}/metrics`),
      worker: await scrape(`${listenerUrl(worker)}/metrics`),
    };
    prometheus = await startPrometheus(
      [
        { job: 'orchestrator', url: orch.url },
        { job: 'worker', url: listenerUrl(worker) },
      ],
      [ALERT_RULES],
    );
    await prometheus.waitForScrapes(JOBS, 5);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await worker?.close();
    await orch?.close();
    await github?.stop();
    await closeDb();
  });

  it('lists every bounded series at 0 on a freshly started app, in every counter', () => {
    // Any counter, a future one included, that has no series at start misses its first event.
    expect(countersWithoutSeries(fresh.orchestrator)).toEqual([]);
    expect(countersWithoutSeries(fresh.worker)).toEqual([]);

    const zero = (text: string, series: string) =>
      expect({ series, value: sample(text, series) }).toEqual({ series, value: 0 });
    for (const [eventType, action, outcome] of [
      ['pull_request', 'opened', 'queued'],
      ['pull_request', 'synchronize', 'ignored'],
      ['check_run', 'completed', 'queued'],
      ['check_suite', 'completed', 'queued'],
      ['push', 'none', 'queued'],
      ['ping', 'none', 'pong'],
      ['installation', 'created', 'processed'],
      ['issues', 'opened', 'ignored'],
      ['other', 'none', 'rejected'],
    ]) {
      zero(
        fresh.orchestrator,
        `webhook_events_total{event_type="${eventType}",action="${action}",outcome="${outcome}"}`,
      );
    }
    for (const taskType of Object.values(TaskType)) {
      for (const status of ['created', 'completed', 'failed', 'cancelled']) {
        const series = `workflow_tasks_total{task_type="${taskType}",status="${status}"}`;
        zero(fresh.orchestrator, series);
        zero(fresh.worker, series);
      }
      zero(fresh.worker, `workflow_task_retries_total{task_type="${taskType}"}`);
    }
    const statuses = ['2xx', '3xx', '4xx', 'rate_limited', '5xx', 'network_error', 'timeout'];
    for (const [service, operations] of [
      ['github', GITHUB_OPERATIONS],
      ['codegen', CODEGEN_OPERATIONS],
    ] as const) {
      for (const operation of operations) {
        for (const status of statuses) {
          zero(
            fresh.worker,
            `${service}_api_requests_total{operation="${operation}",status="${status}"}`,
          );
        }
      }
    }
  });

  it('shows a number on every dashboard panel while the system is idle (0 for rates and ratios)', async () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(30);
    const problems: string[] = [];
    for (const query of queries) {
      const result = await prometheus.query(asPromql(query.expr, RATE_INTERVAL));
      if (result.length === 0) {
        // Allowed only where the panel says what an empty result means instead of "No data".
        if (!query.noValue) problems.push(`${query.source}: No data  [${query.expr}]`);
        continue;
      }
      const bad = result.filter((s) => !isNumber(s.value));
      if (bad.length > 0) {
        problems.push(`${query.source}: ${bad.map((s) => s.value).join(', ')}  [${query.expr}]`);
      }
    }
    expect(problems).toEqual([]);

    // The panels the issue named read 0, not a missing series.
    const byTitle = (title: string) => queries.filter((q) => q.source.endsWith(`: ${title}`));
    for (const query of [
      ...byTitle('Transient error ratio'),
      ...byTitle('Retries by task type'),
      ...byTitle('Error ratio (5 min)'),
    ]) {
      const values = (await prometheus.query(asPromql(query.expr, RATE_INTERVAL))).map(
        (s) => s.value,
      );
      expect({ panel: query.source, values: [...new Set(values)] }).toEqual({
        panel: query.source,
        values: ['0'],
      });
    }
    // Healthy and idle: no alert is even pending.
    expect(await prometheus.query('ALERTS')).toEqual([]);
  });

  it('counts the first deliveries after a start: the error ratio is the real one', async () => {
    // Ten accepted deliveries, most the first of their label set since the start, and one
    // refused: 1 in 11 (9 %).
    const sha = () => randomUUID().replace(/-/g, '').padEnd(40, '0');
    const pr = (action: string) => {
      const payload = example('pull_request', (p) => p.action === 'opened');
      payload.action = action;
      payload.pull_request.head.sha = sha();
      return payload;
    };
    const push = () => {
      const payload = example('push');
      payload.ref = `refs/heads/${payload.repository.default_branch}`;
      payload.deleted = false;
      payload.after = sha();
      return payload;
    };
    const accepted: Array<[string, unknown]> = [
      ['pull_request', pr('opened')],
      ['pull_request', pr('opened')],
      ['pull_request', pr('synchronize')],
      ['pull_request', pr('closed')],
      ['pull_request', pr('labeled')],
      ['push', push()],
      ['ping', example('ping')],
      ['issues', example('issues')],
      ['issue_comment', example('issue_comment')],
      ['check_run', example('check_run')],
    ];
    for (const [event, payload] of accepted) {
      expect((await deliver(orch.url, event, payload)).status).toBe(200);
    }
    expect((await deliver(orch.url, 'push', push(), { signature: 'sha256=00' })).status).toBe(401);

    await prometheus.waitUntil(
      async () =>
        (await prometheus.query('sum(webhook_events_total)')).map((s) => s.value).join() === '11',
      'Prometheus to scrape the 11 requests',
    );
    // Two more scrapes, so the newest sample is not the only one with the final value.
    await new Promise((r) => setTimeout(r, 2500));

    const [events] = await prometheus.query('sum(increase(webhook_events_total[1h]))');
    const [errors] = await prometheus.query('sum(increase(webhook_errors_total[1h]))');
    // The alert's own expression (over its 5-minute window; the apps started within it).
    const [ratio] = await prometheus.query(
      'sum(rate(webhook_errors_total[5m])) / sum(rate(webhook_events_total[5m]))',
    );
    const figures = {
      events: Number(events.value),
      errors: Number(errors.value),
      ratio: Number(ratio.value),
    };
    console.log(
      `after 11 requests from the start: increase(events) ${events.value}, ` +
        `increase(errors) ${errors.value}, alert ratio ${ratio.value}`,
    );
    // increase() extrapolates a little past the newest sample, equally for every series.
    expect(figures.events).toBeGreaterThanOrEqual(11);
    expect(figures.events).toBeLessThan(13);
    expect(figures.errors / figures.events).toBeCloseTo(1 / 11, 3);
    expect(figures.ratio).toBeCloseTo(1 / 11, 2);
  });

  it('creates no counter or histogram series later: every one a real delivery and its tasks touch existed at 0', async () => {
    const examples = everyExample();
    expect(examples.length).toBeGreaterThan(100);
    for (const { event, payload } of examples) {
      // 409: a payload the previous test already delivered (the duplicate is counted too).
      expect([200, 409]).toContain((await deliver(orch.url, event, payload)).status);
    }
    // The worker runs the tasks they created against the GitHub fake (its answers counted too).
    await waitFor(
      async () =>
        (await taskRows()).every((t) => ['completed', 'failed', 'cancelled'].includes(t.status)),
      { what: 'every task to end', timeoutMs: 90_000, intervalMs: 500 },
    );
    for (const [app, url] of [
      ['orchestrator', `${orch.url}/metrics`],
      ['worker', `${listenerUrl(worker)}/metrics`],
    ] as const) {
      const before = counterSeries(fresh[app]);
      const after = counterSeries(await scrape(url));
      const added = [...after].filter((series) => !before.has(series));
      expect({ app, added }).toEqual({ app, added: [] });
    }
    // Not vacuous: the deliveries moved many of those series.
    // (Read once Prometheus has scraped after the last delivery: its scrape runs on its own clock.)
    await waitFor(
      async () => {
        const moved = (await prometheus.query('count(webhook_events_total > 0)'))[0]?.value;
        return Number(moved) > 40;
      },
      {
        what: 'more than 40 webhook_events_total series above 0',
        timeoutMs: 20_000,
        intervalMs: 500,
      },
    );
  }, 180_000);
});
