import { Inject, Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { AgentBudgetKind } from '@app/domain';
import { METRICS_REGISTRY } from '@app/platform';

/** Why the trust gate stopped an agent run. */
export type UntrustedRule = 'fork' | 'author_association';

/**
 * `agent_runs_over_budget_total{budget}`: agent triggers cancelled because a daily budget
 * (repository, author) or the per-PR guard (pull_request) was spent;
 * `agent_runs_untrusted_total{rule}`: triggers the trust gate stopped.
 */
@Injectable()
export class AgentTrustTelemetry {
  private readonly overBudget: Counter<'budget'>;
  private readonly untrusted: Counter<'rule'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.overBudget = new Counter({
      name: 'agent_runs_over_budget_total',
      help: 'Agent triggers cancelled over a budget (repository, author: per UTC day; pull_request: per 24 h)',
      labelNames: ['budget'],
      registers: [registry],
    });
    this.untrusted = new Counter({
      name: 'agent_runs_untrusted_total',
      help: 'Agent triggers the trust gate stopped (fork pull request, author association)',
      labelNames: ['rule'],
      registers: [registry],
    });
    for (const budget of ['repository', 'author', 'pull_request'])
      this.overBudget.inc({ budget }, 0);
    for (const rule of ['fork', 'author_association']) this.untrusted.inc({ rule }, 0);
  }

  budgetSpent(budget: AgentBudgetKind | 'pull_request'): void {
    this.overBudget.inc({ budget });
  }

  untrustedStopped(rule: UntrustedRule): void {
    this.untrusted.inc({ rule });
  }
}
