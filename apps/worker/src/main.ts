import 'reflect-metadata';
import { closeOnSignals, ConfigError } from '@app/domain';
import { createWorkerApp } from './bootstrap';
import { loadWorkerConfig } from './config/worker.config';

async function main(): Promise<void> {
  const app = await createWorkerApp(loadWorkerConfig());
  closeOnSignals(() => app.close());
}

main().catch((error: unknown) => {
  process.stderr.write(
    (error instanceof ConfigError ? error.message : `worker failed to start: ${String(error)}`) +
      '\n',
  );
  process.exit(1);
});
