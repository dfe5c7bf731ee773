import { CommonConfig, EnvReader, MIN_RETENTION_DAYS, readCommonConfig } from '@app/domain';

export const ORCHESTRATOR_CONFIG = Symbol('ORCHESTRATOR_CONFIG');

/** Settings of the HTTP app, validated once at start. */
export interface OrchestratorConfig extends CommonConfig {
  host: string;
  port: number;
  /** Every accepted webhook secret; more than one during a rotation. */
  webhookSecrets: string[];
  secretKey: string;
  webhookMaxPayloadBytes: number;
  /** Requests that fail verification, per client address. */
  webhookFailureRatePerSecond: number;
  webhookFailureBurst: number;
  /** How long the response path waits for Redis after commit before leaving it to the relay. */
  enqueueTimeoutMs: number;
  /** The deadline for storing a delivery; past it the answer is 503, never a false 2xx. */
  intakeStoreTimeoutMs: number;
  routing: { includeCancelledChecks: boolean };
  /** SIGTERM → exit deadline (SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** SIGTERM → listener close: readiness is 503 but requests are still served meanwhile. */
  shutdownDrainDelayMs: number;
  /** Local development only: apply migrations at start under the migration advisory lock. */
  migrateOnStart: boolean;
  /** Lifetime of API tokens minted by `npm run token` unless it is given a ttl. */
  accessTokenExpireMinutes: number;
  /** API routes: a token bucket per client shared across replicas through Redis. */
  apiRateLimitPerMinute: number;
  apiRateLimitBurst: number;
  /** Express `trust proxy`: false (default), a hop count, or a list of trusted addresses/subnets. */
  trustProxy: boolean | number | string[];
  retentionDays: number;
  retentionBatchSize: number;
}

/** Reads and validates the orchestrator's settings; throws ConfigError naming every problem. */
export function loadOrchestratorConfig(
  source: Record<string, string | undefined> = process.env,
): OrchestratorConfig {
  const env = new EnvReader(source);
  const common = readCommonConfig(env);
  const rawSecrets = env.raw('GITHUB_WEBHOOK_SECRET');
  const webhookSecrets = (rawSecrets ?? '').split(',').map((s) => s.trim());
  if (rawSecrets === undefined) {
    env.problem('GITHUB_WEBHOOK_SECRET is required (signature verification cannot be turned off)');
  } else if (webhookSecrets.some((s) => s.length === 0)) {
    env.problem(
      'GITHUB_WEBHOOK_SECRET has an empty entry; list secrets separated by single commas',
    );
  }
  const config: OrchestratorConfig = {
    ...common,
    host: env.string('HOST', '0.0.0.0'),
    port: env.int('PORT', 8000, 0, 65535),
    webhookSecrets: webhookSecrets.filter((s) => s.length > 0),
    secretKey: env.requiredString('SECRET_KEY'),
    webhookMaxPayloadBytes: env.int('WEBHOOK_MAX_PAYLOAD_SIZE', 1_048_576, 1024, 100 * 1024 * 1024),
    webhookFailureRatePerSecond: env.int('WEBHOOK_RATE_LIMIT_PER_SECOND', 10, 1, 100_000),
    webhookFailureBurst: env.int('WEBHOOK_RATE_LIMIT_BURST', 20, 1, 100_000),
    enqueueTimeoutMs: env.int('ENQUEUE_TIMEOUT_MS', 1000, 10, 60_000),
    intakeStoreTimeoutMs: env.int('INTAKE_STORE_TIMEOUT_MS', 2000, 100, 60_000),
    routing: { includeCancelledChecks: env.bool('CHECK_INCLUDE_CANCELLED', false) },
    shutdownGraceMs: env.int('SHUTDOWN_GRACE_MS', 25_000, 100, 3_600_000),
    shutdownDrainDelayMs: env.int('SHUTDOWN_DRAIN_DELAY_MS', 0, 0, 600_000),
    migrateOnStart: env.bool('MIGRATE_ON_START', false),
    accessTokenExpireMinutes: env.int('ACCESS_TOKEN_EXPIRE_MINUTES', 30, 1, 60 * 24 * 365),
    apiRateLimitPerMinute: env.int('API_RATE_LIMIT_PER_MINUTE', 100, 1, 1_000_000),
    apiRateLimitBurst: env.int('API_RATE_LIMIT_BURST', 50, 1, 1_000_000),
    trustProxy: parseTrustProxy(env),
    retentionDays: env.int('RETENTION_DAYS', 30, MIN_RETENTION_DAYS, 3650),
    retentionBatchSize: env.int('RETENTION_BATCH_SIZE', 1000, 1, 100_000),
  };
  if (config.shutdownDrainDelayMs >= config.shutdownGraceMs) {
    env.problem('SHUTDOWN_DRAIN_DELAY_MS must be shorter than SHUTDOWN_GRACE_MS');
  }
  env.done();
  return config;
}

const TRUST_ENTRY = /^[0-9a-fA-F:.]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/;

function parseTrustProxy(env: EnvReader): boolean | number | string[] {
  const raw = env.raw('TRUST_PROXY');
  if (raw === undefined || ['false', '0', 'no', 'off'].includes(raw.toLowerCase())) return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  if (raw.toLowerCase() === 'true') return true;
  const entries = raw.split(',').map((e) => e.trim());
  if (entries.some((e) => !TRUST_ENTRY.test(e))) {
    env.problem(
      'TRUST_PROXY must be false, true, a hop count, or addresses/subnets separated by commas',
    );
    return false;
  }
  return entries;
}
