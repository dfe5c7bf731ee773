import { Module } from '@nestjs/common';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';
import { RootController } from './root.controller';

@Module({
  controllers: [AdminController, RootController],
  providers: [AdminService],
})
export class AdminModule {}
