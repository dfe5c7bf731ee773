import 'reflect-metadata';
import { closeOnSignals, ConfigError, migrateOnStart } from '@app/domain';
import { createWorkerApp } from './bootstrap';
import { loadWorkerConfig } from './config/worker.config';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  if (config.migrateOnStart) await migrateOnStart(config.databaseUrl, 'worker');
  const app = await createWorkerApp(config);
  // Closing pauses the queues (no new job), waits for the active ones, then closes the pools.
  closeOnSignals(() => app.close(), { graceMs: config.shutdownGraceMs, service: 'worker' });
}

main().catch((error: unknown) => {
  process.stderr.write(
    (error instanceof ConfigError ? error.message : `worker failed to start: ${String(error)}`) +
      '\n',
  );
  process.exit(1);
});
