import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createJsonLogger, NestJsonLogger } from '@app/platform';
import { WorkerConfig } from './config/worker.config';
import { WorkerModule } from './worker.module';

/** Builds and starts the worker context; tests boot exactly what production runs. */
export async function createWorkerApp(config: WorkerConfig): Promise<INestApplicationContext> {
  const logger = createJsonLogger('worker', config.logLevel);
  if (config.codegen.dryRun) {
    logger.warn(
      'CODEGEN_TOKEN is not set: dry-run mode, agent prompts are recorded and no run is started',
    );
  }
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, logger), {
    logger: new NestJsonLogger(logger),
    abortOnError: false,
  });
  await app.init();
  return app;
}
