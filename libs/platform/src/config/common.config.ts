import { EnvReader } from './env-reader';
import { readTransportConfig, TransportConfig } from './transport.config';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Settings both apps share: storage, queues, logging, telemetry. */
export interface CommonConfig extends TransportConfig {
  nodeEnv: string;
  isProduction: boolean;
  databaseUrl: string;
  databasePoolSize: number;
  databaseConnectTimeoutMs: number;
  /** Redis behind the Bull queues (REDIS_URL, else CELERY_BROKER_URL). */
  queueRedisUrl: string;
  /** Key prefix of the Bull queues, so several deployments or test runs can share one Redis. */
  queuePrefix: string;
  logLevel: LogLevel;
  enableMetrics: boolean;
  enableTracing: boolean;
  jaegerEndpoint: string | undefined;
  task: TaskSettings;
}

export interface TaskSettings {
  maxRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Deadline of one attempt of a task handler. */
  timeoutMs: number;
}

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/**
 * `defaultPoolSize`: the app's DATABASE_POOL_SIZE default (the orchestrator's is measured for
 * its intake, docs/performance.md).
 */
export function readCommonConfig(env: EnvReader, defaultPoolSize = 10): CommonConfig {
  const nodeEnv = env.string('NODE_ENV', 'development');
  const rawLevel = env.string('LOG_LEVEL', 'info').toLowerCase();
  const logLevel = rawLevel === 'warning' ? 'warn' : rawLevel === 'critical' ? 'error' : rawLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    env.problem(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${rawLevel}"`);
  }
  const queueRedis = env.raw('REDIS_URL')
    ? 'REDIS_URL'
    : env.raw('CELERY_BROKER_URL')
      ? 'CELERY_BROKER_URL'
      : 'REDIS_URL';
  const common: CommonConfig = {
    nodeEnv,
    isProduction: nodeEnv === 'production',
    databaseUrl: env.url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']),
    databasePoolSize: env.int('DATABASE_POOL_SIZE', defaultPoolSize, 1, 200),
    databaseConnectTimeoutMs: env.int('DATABASE_CONNECT_TIMEOUT_MS', 1500, 100, 60000),
    queueRedisUrl: env.url(queueRedis, 'redis://localhost:6379/0', ['redis:', 'rediss:']),
    queuePrefix: env.string('QUEUE_PREFIX', 'orchestrator'),
    logLevel: (LOG_LEVELS as readonly string[]).includes(logLevel)
      ? (logLevel as LogLevel)
      : 'info',
    enableMetrics: env.bool('ENABLE_METRICS', true),
    enableTracing: env.bool('ENABLE_TRACING', true),
    // OTLP/HTTP collector (Jaeger: http://jaeger:4318); validated so a typo stops the start.
    jaegerEndpoint: env.raw('JAEGER_ENDPOINT')
      ? env.url('JAEGER_ENDPOINT', undefined, ['http:', 'https:'])
      : undefined,
    task: {
      maxRetries: env.int('TASK_MAX_RETRIES', 3, 0, 20),
      backoffBaseMs: env.int('TASK_BACKOFF_BASE_MS', 1000, 1, 3_600_000),
      backoffMaxMs: env.int('TASK_BACKOFF_MAX_MS', 300_000, 1, 86_400_000),
      timeoutMs: env.int('TASK_TIMEOUT_MS', 120_000, 100, 3_600_000),
    },
  };
  return {
    ...common,
    ...readTransportConfig(env, common.databaseUrl, common.queueRedisUrl, queueRedis),
  };
}
