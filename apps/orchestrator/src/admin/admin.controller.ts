import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { RequireRole } from '../auth/auth.decorators';
import { Role } from '../auth/role';
import { ApiErrors } from '../docs/api-errors.decorator';
import { AdminService } from './admin.service';
import { AdminStatsDto, CleanupTriggeredDto, SystemMetricsDto } from './dto/admin.dto';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('api/v1')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('metrics')
  @ApiOperation({ summary: 'System totals as JSON (Prometheus text is at /metrics)' })
  @ApiOkResponse({ type: SystemMetricsDto })
  @ApiErrors(401, 429)
  metrics(): Promise<SystemMetricsDto> {
    return this.admin.metrics();
  }

  @Get('admin/stats')
  @ApiOperation({ summary: 'Activity and error rates of the last 24 hours' })
  @ApiOkResponse({ type: AdminStatsDto })
  @ApiErrors(401, 429)
  stats(): Promise<AdminStatsDto> {
    return this.admin.stats();
  }

  @Post('admin/cleanup')
  @HttpCode(202)
  @RequireRole(Role.Operator)
  @ApiOperation({
    summary: 'Delete data older than RETENTION_DAYS',
    description: 'Runs as a tracked cleanup task; its output_data reports what was deleted.',
  })
  @ApiAcceptedResponse({ type: CleanupTriggeredDto })
  @ApiErrors(401, 403, 429)
  cleanup(@Req() req: Request): Promise<CleanupTriggeredDto> {
    return this.admin.cleanup(req.actor?.sub ?? 'unknown');
  }
}
