// First: tracing has to be set up before the modules it instruments load.
import { tracing } from './listener/instrument';
import 'reflect-metadata';
import { closeOnSignals, ConfigError } from '@app/platform';
import { migrateOnStart } from '@app/persistence';
import { createWorkerApp } from './bootstrap';
import { loadWorkerConfig } from './config/worker.config';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  if (config.migrateOnStart) {
    await migrateOnStart(config.databaseUrl, 'worker', config.databaseSslCaFile);
  }
  const app = await createWorkerApp(config);
  // Closing pauses the queues (no new job), waits for the active ones, then closes the pools.
  // Spans still buffered are flushed once the app has closed.
  closeOnSignals(() => app.close().finally(() => tracing.shutdown()), {
    graceMs: config.shutdownGraceMs,
    service: 'worker',
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    (error instanceof ConfigError ? error.message : `worker failed to start: ${String(error)}`) +
      '\n',
  );
  process.exit(1);
});
