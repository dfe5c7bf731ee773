import { hostname } from 'node:os';
import { CommonConfig, EnvReader, readCommonConfig } from '@app/domain';

export const WORKER_CONFIG = Symbol('WORKER_CONFIG');

/** Settings of the worker process, validated once at start. */
export interface WorkerConfig extends CommonConfig {
  workerId: string;
  analysisConcurrency: number;
  codegenConcurrency: number;
  github: { apiUrl: string; token: string | undefined; timeoutMs: number };
  codegen: {
    baseUrl: string;
    token: string | undefined;
    orgId: string;
    timeoutMs: number;
    /** No token outside production: record the prompt instead of starting a run. */
    dryRun: boolean;
  };
  breaker: { threshold: number; halfOpenAfterMs: number };
  relay: { intervalMs: number; pendingAgeMs: number; queuedCheckAgeMs: number; batchSize: number };
  analysis: { synchronizeCodeFileThreshold: number };
  /** SIGTERM → exit deadline (SHUTDOWN_GRACE_MS); running jobs get this long to finish. */
  shutdownGraceMs: number;
  /** Local development only: apply migrations at start under the migration advisory lock. */
  migrateOnStart: boolean;
}

/** Reads and validates the worker's settings; throws ConfigError naming every problem. */
export function loadWorkerConfig(
  source: Record<string, string | undefined> = process.env,
): WorkerConfig {
  const env = new EnvReader(source);
  const common = readCommonConfig(env);
  const codegenToken = env.optionalString('CODEGEN_TOKEN');
  if (common.isProduction && codegenToken === undefined) {
    env.problem('CODEGEN_TOKEN is required in production (dry-run mode is for development only)');
  }
  const orgId = env.optionalString('CODEGEN_ORG_ID') ?? '';
  if (codegenToken !== undefined && orgId === '')
    env.problem('CODEGEN_ORG_ID is required when CODEGEN_TOKEN is set');
  if (orgId !== '' && !/^[A-Za-z0-9_-]{1,64}$/.test(orgId))
    env.problem('CODEGEN_ORG_ID must be an id (letters, digits, - or _)');
  const config: WorkerConfig = {
    ...common,
    workerId: env.string('WORKER_ID', `${hostname()}:${process.pid}`),
    analysisConcurrency: env.int('WORKER_CONCURRENCY', 5, 1, 200),
    codegenConcurrency: env.int('CODEGEN_CONCURRENCY', 2, 1, 50),
    github: {
      apiUrl: env.url('GITHUB_API_URL', 'https://api.github.com', ['https:', 'http:']),
      token: env.optionalString('GITHUB_TOKEN'),
      timeoutMs: env.int('GITHUB_TIMEOUT_MS', 10_000, 100, 120_000),
    },
    codegen: {
      baseUrl: env.url('CODEGEN_BASE_URL', 'https://api.codegen.com', ['https:', 'http:']),
      token: codegenToken,
      orgId,
      timeoutMs: env.int('CODEGEN_TIMEOUT_MS', 30_000, 100, 300_000),
      dryRun: codegenToken === undefined,
    },
    breaker: {
      threshold: env.int('CIRCUIT_BREAKER_THRESHOLD', 5, 1, 1000),
      halfOpenAfterMs: env.int('CIRCUIT_BREAKER_RECOVERY_MS', 30_000, 10, 3_600_000),
    },
    relay: {
      intervalMs: env.int('RELAY_INTERVAL_MS', 2000, 50, 600_000),
      pendingAgeMs: env.int('RELAY_PENDING_AGE_MS', 5000, 0, 3_600_000),
      queuedCheckAgeMs: env.int('RELAY_QUEUED_CHECK_AGE_MS', 30_000, 0, 86_400_000),
      batchSize: env.int('RELAY_BATCH_SIZE', 200, 1, 10_000),
    },
    analysis: {
      synchronizeCodeFileThreshold: env.int('SYNCHRONIZE_CODE_FILE_THRESHOLD', 3, 0, 10_000),
    },
    shutdownGraceMs: env.int('SHUTDOWN_GRACE_MS', 25_000, 100, 3_600_000),
    migrateOnStart: env.bool('MIGRATE_ON_START', false),
  };
  env.done();
  return config;
}
