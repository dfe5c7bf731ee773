import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CircuitStateName, ServicePolicy } from '../resilience/http-policy';
import { SERVICE_REQUEST_STATUSES, ServiceRequestEvent } from './request-events';
import { labelCombinations, startAtZero } from './zero-series';

/** Outside services with their own request counter. */
export type ExternalService = 'github' | 'codegen';

/** The Codegen operation that starts an agent run. */
const CREATE_AGENT_RUN = 'create_agent_run';

const CIRCUIT_STATES: readonly CircuitStateName[] = ['closed', 'half_open', 'open'];
const RATE_LIMIT_RESOURCES = new Set([
  'core',
  'search',
  'code_search',
  'graphql',
  'integration_manifest',
  'source_import',
  'actions_runner_registration',
]);

/**
 * GitHub and Codegen metrics: requests by operation and status, their latency, GitHub's
 * rate-limit budget, circuit-breaker state, and agent runs triggered. `operations` lists every
 * operation each client can report (GITHUB_OPERATIONS, CODEGEN_OPERATIONS): their request
 * counters start at 0 for every status.
 */
export class ExternalServiceTelemetry {
  private readonly requests: Record<ExternalService, Counter<'operation' | 'status'>>;
  private readonly duration: Histogram<'service' | 'operation'>;
  private readonly rateLimit: Gauge<'resource'>;
  private readonly circuit: Gauge<'service' | 'state'>;
  private readonly transitions: Counter<'service' | 'state'>;
  private readonly agentTasks: Counter<'outcome'>;
  private readonly planLimit: Counter;
  private coreBudget: (() => number | null) | null = null;
  private limits: () => ReadonlyArray<{ until: number }> = () => [];

  constructor(
    registry: Registry,
    operations: Readonly<Record<ExternalService, readonly string[]>>,
  ) {
    const registers = [registry];
    this.requests = {
      github: new Counter({
        name: 'github_api_requests_total',
        help: 'HTTP requests sent to the GitHub API, by operation and status (2xx, 4xx, rate_limited, 5xx, network_error, timeout)',
        labelNames: ['operation', 'status'],
        registers,
      }),
      codegen: new Counter({
        name: 'codegen_api_requests_total',
        help: 'HTTP requests sent to the Codegen API, by operation and status (2xx, 4xx, rate_limited, 5xx, network_error, timeout)',
        labelNames: ['operation', 'status'],
        registers,
      }),
    };
    this.duration = new Histogram({
      name: 'external_api_request_duration_seconds',
      help: 'Time until the answer headers of one request to GitHub or Codegen',
      labelNames: ['service', 'operation'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const coreBudget = (): (() => number | null) | null => this.coreBudget;
    this.rateLimit = new Gauge({
      name: 'github_api_rate_limit_remaining',
      help: 'GitHub API requests left in the current rate-limit window, by resource (core: the lowest budget of any identity whose window has not reset)',
      labelNames: ['resource'],
      registers,
      collect() {
        const budget = coreBudget();
        if (!budget) return;
        const remaining = budget();
        // No sample once every window has reset: an old low value must not keep an alert firing.
        if (remaining === null) this.remove({ resource: 'core' });
        else this.set({ resource: 'core' }, remaining);
      },
    });
    const limits = (): ReadonlyArray<{ until: number }> => this.limits();
    new Gauge({
      name: 'github_api_rate_limited_identities',
      help: 'GitHub identities (installations, the App, the token) that send nothing now because GitHub answered with a rate limit (secondary limit, Retry-After, spent budget)',
      registers,
      collect() {
        this.set(limits().length);
      },
    });
    new Gauge({
      name: 'github_api_rate_limit_wait_seconds',
      help: 'Longest wait still ahead of a rate-limited GitHub identity, in seconds (0 when none waits)',
      registers,
      collect() {
        const now = Date.now();
        this.set(Math.max(0, ...limits().map((limit) => (limit.until - now) / 1000)));
      },
    });
    this.circuit = new Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker of each outside service: 1 for its current state (closed, half_open, open), 0 for the others',
      labelNames: ['service', 'state'],
      registers,
    });
    this.transitions = new Counter({
      name: 'circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes, by service and the state entered',
      labelNames: ['service', 'state'],
      registers,
    });
    this.agentTasks = new Counter({
      name: 'codegen_agent_tasks_total',
      help: 'Requests to start a Codegen agent run, by outcome (started: Codegen returned the new run; failed: the request failed and the task will retry or fail)',
      labelNames: ['outcome'],
      registers,
    });
    const services = Object.keys(this.requests) as ExternalService[];
    for (const service of services) {
      startAtZero(
        this.requests[service],
        labelCombinations({ operation: operations[service], status: SERVICE_REQUEST_STATUSES }),
      );
    }
    startAtZero(
      this.duration,
      services.flatMap((service) =>
        labelCombinations({ service: [service], operation: operations[service] }),
      ),
    );
    startAtZero(this.transitions, labelCombinations({ service: services, state: CIRCUIT_STATES }));
    startAtZero(this.agentTasks, labelCombinations({ outcome: ['started', 'failed'] }));
    this.planLimit = new Counter({
      name: 'codegen_plan_limit_refusals_total',
      help: "Agent run requests Codegen refused with 402 because the billing plan's run allowance is used up",
      registers,
    });
  }

  /** One request sent to `event.service`. */
  recordRequest(service: ExternalService, event: ServiceRequestEvent): void {
    this.requests[service].inc({ operation: event.operation, status: event.status });
    this.duration.observe({ service, operation: event.operation }, event.durationSeconds);
    // Counted at the request that creates the run: the one place every agent run starts.
    if (service === 'codegen' && event.operation === CREATE_AGENT_RUN) {
      this.agentTasks.inc({ outcome: event.status === '2xx' ? 'started' : 'failed' });
      if (event.httpStatus === 402) this.planLimit.inc();
    }
    if (service === 'github' && event.rateLimit) {
      const resource = RATE_LIMIT_RESOURCES.has(event.rateLimit.resource)
        ? event.rateLimit.resource
        : 'other';
      if (resource !== 'core' || !this.coreBudget) {
        this.rateLimit.set({ resource }, event.rateLimit.remaining);
      }
    }
  }

  /**
   * Reads GitHub's core budget at scrape time from the client (the lowest of its identities:
   * token, App, each installation), instead of the last answer of whichever identity called.
   */
  watchGithubBudget(remaining: () => number | null): void {
    this.coreBudget = remaining;
  }

  /** Reads the GitHub identities waiting out a rate limit at scrape time. */
  watchGithubLimits(limits: () => ReadonlyArray<{ until: number }>): void {
    this.limits = limits;
  }

  /**
   * Follows a client's circuit breaker: the state gauge now and on every change. Returns the
   * unsubscribe function.
   */
  watchCircuit(
    service: ExternalService,
    policy: ServicePolicy,
    onChange?: (state: CircuitStateName) => void,
  ): () => void {
    this.setCircuit(service, policy.state);
    return policy.onStateChange((state) => {
      this.setCircuit(service, state);
      this.transitions.inc({ service, state });
      onChange?.(state);
    });
  }

  private setCircuit(service: ExternalService, current: CircuitStateName): void {
    for (const state of CIRCUIT_STATES)
      this.circuit.set({ service, state }, state === current ? 1 : 0);
  }
}
