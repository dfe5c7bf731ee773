import { Controller, Get, Query, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '../auth/auth.decorators';
import { Role } from '../auth/role';
import { apiValidationPipe } from '../common/validation';
import { ApiErrors } from '../docs/api-errors.decorator';
import { AuditService } from './audit.service';
import { AuditRecordDto, ListAuditQuery } from './dto/audit.dto';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('api/v1/admin')
@UsePipes(apiValidationPipe)
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get('audit')
  @RequireRole(Role.Operator)
  @ApiOperation({
    summary: 'The audit trail, newest first',
    description:
      'Webhook signature failures, throttled requests, authentication failures, forbidden attempts ' +
      'and every reprocess, retry and cleanup. Repeated failures of one client address are folded ' +
      'into one record per minute with a count.',
  })
  @ApiOkResponse({ type: [AuditRecordDto] })
  @ApiErrors(400, 401, 403, 429)
  list(@Query() query: ListAuditQuery): Promise<AuditRecordDto[]> {
    return this.audit.list(query);
  }
}
