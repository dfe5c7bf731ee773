import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthReport, HealthReporter, Probes } from '@app/runtime';
import { HealthCache } from './health-cache';
import { Public, SkipApiThrottle } from '../auth/auth.decorators';

/** Health for operators (`/health`, the spec's body) and for Kubernetes (Terminus probes). */
@ApiTags('monitoring')
@Public()
@SkipApiThrottle()
@Controller('health')
export class HealthController {
  private readonly cached: HealthCache<HealthReport>;

  constructor(
    reporter: HealthReporter,
    private readonly probes: Probes,
  ) {
    this.cached = new HealthCache(() => reporter.report());
  }

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Health of the orchestrator and what it depends on',
    description:
      '`status` healthy, degraded or unhealthy; `checks` database, redis, workers (heartbeats), ' +
      'github_api and codegen_api (from the workers’ circuit breakers and recent calls; no API ' +
      'quota is spent). 200 when healthy or degraded, 503 when unhealthy. Computed at most once a ' +
      'second; calls within it get the same answer.',
    security: [],
  })
  @ApiResponse({ status: 200, description: 'Healthy or degraded' })
  @ApiResponse({ status: 503, description: 'Unhealthy (PostgreSQL unreachable, or draining)' })
  async health(@Res({ passthrough: true }) res: Response): Promise<unknown> {
    const report = await this.cached.get();
    res.status(report.httpStatus);
    return report.body;
  }

  @Get('live')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Liveness probe: the process answers (no dependency)', security: [] })
  @ApiResponse({ status: 200, description: 'Alive' })
  async live(@Res({ passthrough: true }) res: Response): Promise<unknown> {
    const answer = await this.probes.live();
    res.status(answer.httpStatus);
    return answer.body;
  }

  @Get('ready')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Readiness probe: PostgreSQL answers and the process is not draining',
    security: [],
  })
  @ApiResponse({ status: 200, description: 'Ready' })
  @ApiResponse({ status: 503, description: 'Not ready (draining, or PostgreSQL unreachable)' })
  async ready(@Res({ passthrough: true }) res: Response): Promise<unknown> {
    const answer = await this.probes.ready();
    res.status(answer.httpStatus);
    return answer.body;
  }
}
