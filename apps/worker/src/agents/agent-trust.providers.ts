import type { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  AgentBudgetRepository,
  AuditLogRepository,
  RepositoryRulesFileRepository,
} from '@app/persistence';
import { RepositoryRulesService } from './repository-rules.service';
import { TrustLabelRelease } from './trust-label-release';

/** Trust and spend of agent runs in the worker: budgets, repositories' rules files, releases. */
export const AGENT_TRUST_PROVIDERS: Provider[] = [
  {
    provide: AgentBudgetRepository,
    useFactory: (dataSource: DataSource) => new AgentBudgetRepository(dataSource),
    inject: [getDataSourceToken()],
  },
  {
    provide: RepositoryRulesFileRepository,
    useFactory: (dataSource: DataSource) => new RepositoryRulesFileRepository(dataSource),
    inject: [getDataSourceToken()],
  },
  {
    provide: AuditLogRepository,
    useFactory: (dataSource: DataSource) => new AuditLogRepository(dataSource),
    inject: [getDataSourceToken()],
  },
  RepositoryRulesService,
  TrustLabelRelease,
];
