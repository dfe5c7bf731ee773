import { Inject, Injectable, OnModuleDestroy, OnModuleInit, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Logger } from 'winston';
import {
  ExternalService,
  ExternalServiceTelemetry,
  LOGGER,
  RateLimitedIdentity,
  ServiceCallTracker,
  WorkerSnapshot,
} from '@app/platform';
import { CodegenClient } from '@app/codegen';
import { GithubClient } from '@app/github';

/**
 * Connects the GitHub and Codegen clients to the metrics (each request, the circuit state) and to
 * the trackers the heartbeat and health checks read. The clients are the ones the handlers use,
 * so these are the real calls and the real breakers; nothing extra is sent.
 */
@Injectable()
export class ClientTelemetry implements OnModuleInit, OnModuleDestroy {
  private readonly trackers = new Map<ExternalService, ServiceCallTracker>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly metrics: ExternalServiceTelemetry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    const github = this.find(GithubClient);
    if (github) this.watch('github', github);
    const codegen = this.find(CodegenClient);
    if (codegen) {
      this.watch('codegen', codegen);
      this.unsubscribe.push(
        codegen.onBadAnswer((answer) =>
          // The raw answer has the token removed and is at most 2000 characters.
          this.logger.warn('Codegen answer outside its published contract', {
            operation: answer.operation,
            http_status: answer.httpStatus,
            problem: answer.problem,
            raw_answer: answer.raw,
          }),
        ),
      );
    }
    // Without CODEGEN_TOKEN there is no client: Codegen is never called (dry-run mode).
    else this.trackers.set('codegen', new ServiceCallTracker(() => 'closed', 'dry_run'));
  }

  onModuleDestroy(): void {
    for (const stop of this.unsubscribe.splice(0)) stop();
  }

  /** What this worker knows about each outside service, for its heartbeat. */
  services(): WorkerSnapshot['services'] {
    const out: WorkerSnapshot['services'] = {};
    for (const [service, tracker] of this.trackers) out[service] = tracker.snapshot();
    return out;
  }

  private watch(service: ExternalService, client: GithubClient | CodegenClient): void {
    const budget = client instanceof GithubClient ? () => lowestBudget(client) : undefined;
    const limits = client instanceof GithubClient ? () => rateLimited(client) : undefined;
    if (budget) this.metrics.watchGithubBudget(budget);
    // Codegen's plan allowance used up (402): every create fails until the plan changes.
    const degraded =
      client instanceof CodegenClient
        ? () => (client.planLimitReached ? 'plan_limit_reached' : null)
        : undefined;
    if (limits) this.metrics.watchGithubLimits(limits);
    const tracker = new ServiceCallTracker(
      () => client.policy.state,
      'live',
      Date.now,
      budget,
      degraded,
      limits,
    );
    this.trackers.set(service, tracker);
    this.unsubscribe.push(
      client.onRequest((event) => {
        this.metrics.recordRequest(service, event);
        tracker.record(event);
      }),
      this.metrics.watchCircuit(service, client.policy, (state) => {
        const fields = { service, circuit: state };
        if (state === 'closed') this.logger.info('circuit breaker closed', fields);
        else this.logger.warn(`circuit breaker ${state}`, fields);
      }),
    );
  }

  private find<T>(type: Type<T>): T | null {
    try {
      return this.moduleRef.get(type, { strict: false }) ?? null;
    } catch {
      return null;
    }
  }
}

/** Identities waiting out a GitHub rate limit, for the heartbeat, /health and metrics. */
function rateLimited(client: GithubClient): RateLimitedIdentity[] {
  return client
    .rateLimitHolds()
    .map((hold) => ({ identity: hold.identity, kind: hold.kind, until: hold.untilMs }));
}

/** The lowest core budget left over GITHUB_TOKEN, the App and every installation seen. */
function lowestBudget(client: GithubClient): number | null {
  const budgets = client.rateLimitBudgets();
  return budgets.length === 0 ? null : Math.min(...budgets.map((b) => b.remaining));
}
