import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { RepositoryRulesFileRepository } from '@app/persistence';
import { RulesController } from './rules.controller';
import { RulesDryRunService } from './rules-dry-run.service';

@Module({
  controllers: [RulesController],
  providers: [
    RulesDryRunService,
    {
      provide: RepositoryRulesFileRepository,
      useFactory: (dataSource: DataSource) => new RepositoryRulesFileRepository(dataSource),
      inject: [getDataSourceToken()],
    },
  ],
})
export class RulesModule {}
