import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AgentBudgetRepository } from '@app/persistence';
import { AgentRunsController } from './agent-runs.controller';
import { AgentRunsService } from './agent-runs.service';

/** The operator API's view of agent runs: today's spend against the budgets. */
@Module({
  controllers: [AgentRunsController],
  providers: [
    AgentRunsService,
    {
      provide: AgentBudgetRepository,
      useFactory: (dataSource: DataSource) => new AgentBudgetRepository(dataSource),
      inject: [getDataSourceToken()],
    },
  ],
})
export class AgentRunsModule {}
