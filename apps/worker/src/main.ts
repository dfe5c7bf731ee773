import 'reflect-metadata';
import { ConfigError } from '@app/domain';
import { createWorkerApp } from './bootstrap';
import { loadWorkerConfig } from './config/worker.config';

async function main(): Promise<void> {
  await createWorkerApp(loadWorkerConfig());
}

main().catch((error: unknown) => {
  process.stderr.write(
    (error instanceof ConfigError ? error.message : `worker failed to start: ${String(error)}`) +
      '\n',
  );
  process.exit(1);
});
