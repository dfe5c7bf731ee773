import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { loadOrchestratorConfig } from '../config/orchestrator.config';
import { createJsonLogger } from '@app/platform';
import { OrchestratorModule } from '../orchestrator.module';
import { buildOpenApiDocument } from './swagger';

/**
 * Writes the OpenAPI document without a server, a database or Redis: the module graph is built
 * in preview mode (nothing instantiated), which is all the document needs.
 */
async function main(): Promise<void> {
  const out = process.argv[2] ?? 'openapi.json';
  const placeholders = {
    DATABASE_URL: 'postgres://docs@127.0.0.1:5432/docs',
    GITHUB_WEBHOOK_SECRET: 'docs-only',
    SECRET_KEY: 'docs-only',
    LOG_LEVEL: 'error',
  };
  const config = loadOrchestratorConfig({ ...placeholders });
  const app = await NestFactory.create(
    OrchestratorModule.forRoot(config, createJsonLogger('docs', 'error')),
    {
      preview: true,
      logger: false,
      abortOnError: false,
    },
  );
  const document = buildOpenApiDocument(app);
  writeFileSync(out, JSON.stringify(document, null, 2) + '\n');
  process.stdout.write(`wrote ${out} (${Object.keys(document.paths).length} paths)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`could not export the OpenAPI document: ${String(error)}\n`);
  process.exit(1);
});
