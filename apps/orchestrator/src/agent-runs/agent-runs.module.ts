import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AgentBudgetRepository, AgentRunOutcomeQueries } from '@app/persistence';
import { AgentRunsController } from './agent-runs.controller';
import { AgentRunsService } from './agent-runs.service';

/**
 * The operator API's view of agent runs: today's spend against the budgets, each run with its
 * outcome, and the fix-rate summary.
 */
@Module({
  controllers: [AgentRunsController],
  providers: [
    AgentRunsService,
    {
      provide: AgentBudgetRepository,
      useFactory: (dataSource: DataSource) => new AgentBudgetRepository(dataSource),
      inject: [getDataSourceToken()],
    },
    {
      provide: AgentRunOutcomeQueries,
      useFactory: (dataSource: DataSource) => new AgentRunOutcomeQueries(dataSource),
      inject: [getDataSourceToken()],
    },
  ],
})
export class AgentRunsModule {}
