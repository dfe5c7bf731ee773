import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from '@app/platform';
import { Public, SkipApiThrottle } from '../auth/auth.decorators';

/** Prometheus scrape endpoint; registered only with ENABLE_METRICS=true. */
@ApiTags('monitoring')
@Public()
@SkipApiThrottle()
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format)',
    description: 'Off (404) with ENABLE_METRICS=false. The JSON totals are at /api/v1/metrics.',
    security: [],
  })
  @ApiProduces('text/plain')
  async scrape(@Res({ passthrough: true }) res: Response): Promise<string> {
    res.type(this.registry.contentType);
    return this.registry.metrics();
  }
}
