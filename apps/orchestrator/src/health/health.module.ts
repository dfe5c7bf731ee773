import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';

/** `/health`, `/health/live`, `/health/ready`; the checks come from ObservabilityModule. */
@Module({ controllers: [HealthController] })
export class HealthModule {}
