import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { DeliveryRecoveryRepository } from '@app/persistence';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';
import { RootController } from './root.controller';

@Module({
  controllers: [AdminController, RootController],
  providers: [
    AdminService,
    {
      provide: DeliveryRecoveryRepository,
      useFactory: (dataSource: DataSource) => new DeliveryRecoveryRepository(dataSource),
      inject: [getDataSourceToken()],
    },
  ],
})
export class AdminModule {}
