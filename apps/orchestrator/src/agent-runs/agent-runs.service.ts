import { Inject, Injectable } from '@nestjs/common';
import { budgetDay } from '@app/domain';
import { AgentBudgetRepository } from '@app/persistence';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import { AgentRunBudgetDto } from './dto/agent-run-budget.dto';

@Injectable()
export class AgentRunsService {
  constructor(
    private readonly budgets: AgentBudgetRepository,
    @Inject(ORCHESTRATOR_CONFIG) private readonly config: OrchestratorConfig,
  ) {}

  async budget(now = new Date()): Promise<AgentRunBudgetDto> {
    const day = budgetDay(now);
    const defaults = this.config.rules.forRepository(null);
    const spend = await this.budgets.spendOn(day);
    return {
      day,
      max_runs_per_repo_per_day: defaults.maxRunsPerRepoPerDay,
      max_runs_per_author_per_day: defaults.maxRunsPerAuthorPerDay,
      repositories: spend.map((s) => ({
        repository: s.repository,
        runs: s.runs,
        limit: s.limit,
        remaining: Math.max(0, s.limit - s.runs),
        authors: s.authors,
      })),
    };
  }
}
