import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { ServiceInfoDto } from './dto/admin.dto';
import { SERVICE_NAME, SERVICE_VERSION } from '../docs/service-info';

@ApiTags('service')
@Controller()
export class RootController {
  @Get()
  @Public()
  @ApiOperation({ summary: 'Service name, version and where to look next', security: [] })
  @ApiOkResponse({ type: ServiceInfoDto })
  info(): ServiceInfoDto {
    return {
      service: SERVICE_NAME,
      version: SERVICE_VERSION,
      links: {
        docs: '/docs',
        openapi: '/docs-json',
        health: '/health',
        metrics: '/metrics',
        api: '/api/v1',
      },
    };
  }
}
