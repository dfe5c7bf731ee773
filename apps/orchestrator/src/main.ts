// First: tracing has to be set up before the modules it instruments load.
import { tracing } from './metrics/instrument';
import 'reflect-metadata';
import { closeOnSignals, ConfigError } from '@app/platform';
import { migrateOnStart } from '@app/persistence';
import { createOrchestratorApp } from './bootstrap';
import { loadOrchestratorConfig } from './config/orchestrator.config';

async function main(): Promise<void> {
  const config = loadOrchestratorConfig();
  if (config.migrateOnStart) {
    await migrateOnStart(config.databaseUrl, 'orchestrator', config.databaseSslCaFile);
  }
  const app = await createOrchestratorApp(config);
  // Spans still buffered are flushed once the app has closed.
  closeOnSignals(() => app.close().finally(() => tracing.shutdown()), {
    graceMs: config.shutdownGraceMs,
    drainDelayMs: config.shutdownDrainDelayMs,
    service: 'orchestrator',
  });
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address() as { port: number } | null;
  process.stdout.write(
    JSON.stringify({
      level: 'info',
      message: 'orchestrator listening',
      service: 'orchestrator',
      port: address?.port ?? config.port,
      webhook_secrets: config.webhookSecrets.length,
      max_payload_bytes: config.webhookMaxPayloadBytes,
      timestamp: new Date().toISOString(),
    }) + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    (error instanceof ConfigError
      ? error.message
      : `orchestrator failed to start: ${String(error)}`) + '\n',
  );
  process.exit(1);
});
