import { ConfigError, EnvReader, readDatabaseTls } from '@app/platform';
import { waitForSchema } from './migration-lock';

/**
 * `wait-for-schema`: the init step of the app pods in Kubernetes. Exits 0 once the migration Job
 * has applied every migration this image has, so a new version never runs on an old schema.
 */
async function main(): Promise<void> {
  const env = new EnvReader(process.env);
  const databaseUrl = env.url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']);
  const timeoutMs = env.int('SCHEMA_WAIT_TIMEOUT_MS', 600_000, 1000, 86_400_000);
  const sslCaFile = readDatabaseTls(env, databaseUrl);
  env.done();
  const line = (message: string): string =>
    JSON.stringify({ level: 'info', message, timestamp: new Date().toISOString() }) + '\n';
  await waitForSchema(databaseUrl, {
    timeoutMs,
    sslCaFile,
    onWait: () => process.stdout.write(line('waiting for the migration step')),
  });
  process.stdout.write(line('schema is up to date'));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      (error instanceof ConfigError ? error.message : `wait-for-schema: ${String(error)}`) + '\n',
    );
    process.exit(1);
  });
}
