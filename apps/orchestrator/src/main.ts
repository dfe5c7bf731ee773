import 'reflect-metadata';
import { ConfigError } from '@app/domain';
import { createOrchestratorApp } from './bootstrap';
import { loadOrchestratorConfig } from './config/orchestrator.config';

async function main(): Promise<void> {
  const config = loadOrchestratorConfig();
  const app = await createOrchestratorApp(config);
  await app.listen(config.port, config.host);
}

main().catch((error: unknown) => {
  process.stderr.write(
    (error instanceof ConfigError
      ? error.message
      : `orchestrator failed to start: ${String(error)}`) + '\n',
  );
  process.exit(1);
});
