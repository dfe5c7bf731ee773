import { Registry } from 'prom-client';
import {
  createServicePolicy,
  ExternalServiceError,
  ExternalServiceTelemetry,
  createMetricsRegistry,
} from '@app/platform';
import { TaskTelemetry } from './task-telemetry';

/** The value of one sample line of a scrape, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const TASK_TYPES = ['pull_request_analysis', 'codegen_trigger'];
const OPERATIONS = {
  github: ['get_pull_request', 'list_pull_request_files'],
  codegen: ['create_agent_run'],
};

/** Every sample line of `family` (no HELP/TYPE lines), e.g. `x{a="b"} 0`. */
function samples(text: string, family: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${family}{`) || l.startsWith(`${family} `));
}

describe('TaskTelemetry', () => {
  it('starts every task type at 0 in the task and retry counters, before any task', async () => {
    const registry = new Registry();
    new TaskTelemetry(registry, TASK_TYPES);
    const text = await registry.metrics();
    expect(samples(text, 'workflow_tasks_total').sort()).toEqual(
      TASK_TYPES.flatMap((type) =>
        ['created', 'completed', 'failed', 'cancelled'].map(
          (status) => `workflow_tasks_total{task_type="${type}",status="${status}"} 0`,
        ),
      ).sort(),
    );
    expect(samples(text, 'workflow_task_retries_total').sort()).toEqual(
      TASK_TYPES.map((type) => `workflow_task_retries_total{task_type="${type}"} 0`).sort(),
    );
    expect(samples(text, 'workflow_task_duration_seconds_count').sort()).toEqual(
      TASK_TYPES.flatMap((type) =>
        ['completed', 'failed', 'cancelled', 'retrying', 'waiting', 'held'].map(
          (outcome) =>
            `workflow_task_duration_seconds_count{task_type="${type}",outcome="${outcome}"} 0`,
        ),
      ).sort(),
    );
    expect(
      sample(
        text,
        'workflow_task_duration_seconds_bucket{le="+Inf",task_type="codegen_trigger",outcome="waiting"}',
      ),
    ).toBe(0);
  });

  it('counts a task type it was not given as "other"', async () => {
    const registry = new Registry();
    const telemetry = new TaskTelemetry(registry, TASK_TYPES);
    telemetry.tasksCreated([{ taskType: 'rm -rf /' }]);
    const text = await registry.metrics();
    expect(sample(text, 'workflow_tasks_total{task_type="other",status="created"}')).toBe(1);
  });

  it('counts created and finished tasks, retries, and the duration of each attempt', async () => {
    const registry = new Registry();
    const telemetry = new TaskTelemetry(registry, TASK_TYPES);
    telemetry.tasksCreated([{ taskType: 'pull_request_analysis' }]);
    const claim = {
      task: { taskId: 't', taskType: 'pull_request_analysis' },
      executionId: 1,
      attempt: 1,
    };
    telemetry.attemptStarted(claim);
    telemetry.attemptEnded(claim, 'retrying');
    const second = { ...claim, executionId: 2, attempt: 2 };
    telemetry.attemptStarted(second);
    telemetry.attemptEnded(second, 'completed', [{ taskType: 'codegen_trigger' }]);

    const text = await registry.metrics();
    expect(
      sample(text, 'workflow_tasks_total{task_type="pull_request_analysis",status="created"}'),
    ).toBe(1);
    expect(
      sample(text, 'workflow_tasks_total{task_type="pull_request_analysis",status="completed"}'),
    ).toBe(1);
    expect(sample(text, 'workflow_tasks_total{task_type="codegen_trigger",status="created"}')).toBe(
      1,
    );
    expect(sample(text, 'workflow_task_retries_total{task_type="pull_request_analysis"}')).toBe(1);
    expect(
      sample(
        text,
        'workflow_task_duration_seconds_count{task_type="pull_request_analysis",outcome="retrying"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'workflow_task_duration_seconds_count{task_type="pull_request_analysis",outcome="completed"}',
      ),
    ).toBe(1);
  });
});

describe('ExternalServiceTelemetry', () => {
  it('starts every operation and status of both services, and every breaker change, at 0', async () => {
    const registry = new Registry();
    new ExternalServiceTelemetry(registry, OPERATIONS);
    const text = await registry.metrics();
    for (const service of ['github', 'codegen'] as const) {
      expect(samples(text, `${service}_api_requests_total`).sort()).toEqual(
        OPERATIONS[service]
          .flatMap((operation) =>
            ['2xx', '3xx', '4xx', 'rate_limited', '5xx', 'network_error', 'timeout'].map(
              (status) =>
                `${service}_api_requests_total{operation="${operation}",status="${status}"} 0`,
            ),
          )
          .sort(),
      );
      for (const state of ['closed', 'half_open', 'open']) {
        expect(
          sample(text, `circuit_breaker_transitions_total{service="${service}",state="${state}"}`),
        ).toBe(0);
      }
      expect(samples(text, 'external_api_request_duration_seconds_count').sort()).toEqual(
        Object.entries(OPERATIONS)
          .flatMap(([s, operations]) =>
            operations.map(
              (operation) =>
                `external_api_request_duration_seconds_count{service="${s}",operation="${operation}"} 0`,
            ),
          )
          .sort(),
      );
    }
  });

  it('counts requests by operation and status and keeps the latest GitHub budget', async () => {
    const registry = new Registry();
    const telemetry = new ExternalServiceTelemetry(registry, OPERATIONS);
    const event = { service: 'github', operation: 'get_pull_request', durationSeconds: 0.2 };
    telemetry.recordRequest('github', {
      ...event,
      status: '2xx',
      rateLimit: { remaining: 4999, resource: 'core' },
    });
    telemetry.recordRequest('github', {
      ...event,
      status: '5xx',
      rateLimit: { remaining: 4998, resource: 'weird\nresource' },
    });
    telemetry.recordRequest('codegen', {
      ...event,
      operation: 'create_agent_run',
      status: 'timeout',
    });

    const text = await registry.metrics();
    expect(
      sample(text, 'github_api_requests_total{operation="get_pull_request",status="2xx"}'),
    ).toBe(1);
    expect(
      sample(text, 'github_api_requests_total{operation="get_pull_request",status="5xx"}'),
    ).toBe(1);
    expect(
      sample(text, 'codegen_api_requests_total{operation="create_agent_run",status="timeout"}'),
    ).toBe(1);
    expect(sample(text, 'github_api_rate_limit_remaining{resource="core"}')).toBe(4999);
    expect(sample(text, 'github_api_rate_limit_remaining{resource="other"}')).toBe(4998);
    expect(sample(text, 'codegen_agent_tasks_total{outcome="started"}')).toBe(0);
    expect(sample(text, 'codegen_agent_tasks_total{outcome="failed"}')).toBe(1);
  });

  it('reports the lowest live GitHub budget, and nothing once every window has reset', async () => {
    const registry = new Registry();
    const telemetry = new ExternalServiceTelemetry(registry, OPERATIONS);
    let lowest: number | null = 80;
    telemetry.watchGithubBudget(() => lowest);
    // The last answer came from a fresh identity; the budget of another one is what is low.
    telemetry.recordRequest('github', {
      service: 'github',
      operation: 'get_pull_request',
      status: '2xx',
      durationSeconds: 0.1,
      rateLimit: { remaining: 4999, resource: 'core' },
    });
    expect(
      sample(await registry.metrics(), 'github_api_rate_limit_remaining{resource="core"}'),
    ).toBe(80);
    lowest = null;
    expect(
      sample(await registry.metrics(), 'github_api_rate_limit_remaining{resource="core"}'),
    ).toBeUndefined();
  });

  it('follows the circuit breaker: state now, and every change', async () => {
    const registry = new Registry();
    const telemetry = new ExternalServiceTelemetry(registry, OPERATIONS);
    const policy = createServicePolicy({ service: 'github', retries: 0, breakerThreshold: 1 });
    const changes: string[] = [];
    telemetry.watchCircuit('github', policy, (state) => changes.push(state));
    expect(
      sample(await registry.metrics(), 'circuit_breaker_state{service="github",state="closed"}'),
    ).toBe(1);

    await expect(
      policy.execute(async () => {
        throw new ExternalServiceError('github', 'down', true, 503);
      }),
    ).rejects.toBeDefined();

    const text = await registry.metrics();
    expect(changes).toEqual(['open']);
    expect(sample(text, 'circuit_breaker_state{service="github",state="open"}')).toBe(1);
    expect(sample(text, 'circuit_breaker_state{service="github",state="closed"}')).toBe(0);
    expect(sample(text, 'circuit_breaker_transitions_total{service="github",state="open"}')).toBe(
      1,
    );
  });
});

describe('createMetricsRegistry', () => {
  it('gives each app its own registry, with process metrics only when asked', async () => {
    const a = createMetricsRegistry({ processMetrics: true });
    const b = createMetricsRegistry({ processMetrics: false });
    new TaskTelemetry(a, TASK_TYPES);
    new TaskTelemetry(b, TASK_TYPES); // no "already registered" clash: registries are separate
    expect(await a.metrics()).toContain('process_cpu_user_seconds_total');
    expect(await b.metrics()).not.toContain('process_cpu_user_seconds_total');
  });
});
