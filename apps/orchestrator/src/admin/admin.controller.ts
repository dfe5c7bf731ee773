import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditType } from '@app/platform';
import { AuditedAction } from '../audit/audited-action';
import { RequireRole } from '../auth/auth.decorators';
import { Role } from '../auth/role';
import { ApiErrors } from '../docs/api-errors.decorator';
import { AdminService } from './admin.service';
import {
  AdminStatsDto,
  CleanupTriggeredDto,
  DeliveryRecoveryTriggeredDto,
  SystemMetricsDto,
} from './dto/admin.dto';

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
  @AuditedAction({
    type: AuditType.Cleanup,
    target: (_req, result) =>
      result ? `task:${(result as CleanupTriggeredDto).task_id}` : 'retention',
    details: (result) => ({ retention_days: (result as CleanupTriggeredDto).retention_days }),
  })
  @ApiOperation({
    summary: 'Delete data older than RETENTION_DAYS',
    description: 'Runs as a tracked cleanup task; its output_data reports what was deleted.',
  })
  @ApiAcceptedResponse({ type: CleanupTriggeredDto })
  @ApiErrors(401, 403, 429)
  cleanup(@Req() req: Request): Promise<CleanupTriggeredDto> {
    return this.admin.cleanup(req.actor?.sub ?? 'unknown');
  }

  @Post('admin/deliveries/recover')
  @HttpCode(202)
  @RequireRole(Role.Operator)
  @AuditedAction({
    type: AuditType.DeliveryRecovery,
    target: (_req, result) =>
      result ? `task:${(result as DeliveryRecoveryTriggeredDto).task_id}` : 'deliveries',
  })
  @ApiOperation({
    summary: 'Ask GitHub to redeliver what never reached us (last 72 hours)',
    description:
      'Runs as a tracked delivery_recovery task in the worker: walks the webhook delivery log (the GitHub App hook, or DELIVERY_RECOVERY_HOOK) back to the last examined delivery, and asks GitHub once to redeliver every delivery whose GUID is not stored. The task fails with a clear message when the worker has no hook configured.',
  })
  @ApiAcceptedResponse({ type: DeliveryRecoveryTriggeredDto })
  @ApiErrors(401, 403, 429)
  recoverDeliveries(@Req() req: Request): Promise<DeliveryRecoveryTriggeredDto> {
    return this.admin.recoverDeliveries(req.actor?.sub ?? 'unknown');
  }
}
