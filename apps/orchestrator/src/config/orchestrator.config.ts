import { WorkflowRules } from '@app/domain';
import {
  CommonConfig,
  EnvReader,
  readCommonConfig,
  refusePlaceholderSecrets,
  requireStrongSecret,
} from '@app/platform';
import { MIN_RETENTION_DAYS } from '@app/persistence';
import { readWorkflowRulesFromSettings } from '@app/runtime';
import { readTokenSettings, TokenSettings } from '../auth/token-settings';

export const ORCHESTRATOR_CONFIG = Symbol('ORCHESTRATOR_CONFIG');

/** Settings of the HTTP app, validated once at start. */
export interface OrchestratorConfig extends CommonConfig, TokenSettings {
  host: string;
  port: number;
  /** Every accepted webhook secret; more than one during a rotation. */
  webhookSecrets: string[];
  secretKey: string;
  webhookMaxPayloadBytes: number;
  /** Bytes of unverified webhook bodies buffered at once: all clients (503 past it), one (429). */
  webhookInflightMaxBytes: number;
  webhookInflightMaxBytesPerClient: number;
  /** Node's headersTimeout and requestTimeout of the HTTP server, in seconds. */
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  /** Requests that fail verification, per client address. */
  webhookFailureRatePerSecond: number;
  webhookFailureBurst: number;
  /** How long the response path waits for Redis after commit before leaving it to the relay. */
  enqueueTimeoutMs: number;
  /** The deadline for storing a delivery; past it the answer is 503, never a false 2xx. */
  intakeStoreTimeoutMs: number;
  /** How long a stored body is refused under another delivery id (the payload replay guard). */
  webhookPayloadReplayWindowHours: number;
  /** Per-repository workflow rules (settings + RULES_FILE). */
  rules: WorkflowRules;
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
  /** JSON body limit of the API routes (the webhook has its own, WEBHOOK_MAX_PAYLOAD_SIZE). */
  apiBodyLimitBytes: number;
  /** Browser origins allowed to call the API (CORS); empty: CORS stays off. */
  corsOrigins: string[];
  /** ACCESS_LOG: one `info` line per request (method, route, status, duration, ids). */
  accessLog: boolean;
}

/** DATABASE_POOL_SIZE default of the orchestrator. */
export const ORCHESTRATOR_DEFAULT_POOL_SIZE = 8;

/** Reads and validates the orchestrator's settings; throws ConfigError naming every problem. */
export function loadOrchestratorConfig(
  source: Record<string, string | undefined> = process.env,
): OrchestratorConfig {
  const env = new EnvReader(source);
  // 8, not 10: on a 2-core host fewer busy backends leave the event loop more CPU; measured
  // against 10 and 16 in the same rounds (docs/performance.md). Raise it on larger hosts.
  const common = readCommonConfig(env, ORCHESTRATOR_DEFAULT_POOL_SIZE);
  refusePlaceholderSecrets(env, source);
  const rawSecrets = env.raw('GITHUB_WEBHOOK_SECRET');
  const webhookSecrets = (rawSecrets ?? '').split(',').map((s) => s.trim());
  if (rawSecrets === undefined) {
    env.problem('GITHUB_WEBHOOK_SECRET is required (signature verification cannot be turned off)');
  } else if (webhookSecrets.some((s) => s.length === 0)) {
    env.problem(
      'GITHUB_WEBHOOK_SECRET has an empty entry; list secrets separated by single commas',
    );
  }
  const webhookMaxPayloadBytes = env.int(
    'WEBHOOK_MAX_PAYLOAD_SIZE',
    1_048_576,
    1024,
    100 * 1024 * 1024,
  );
  const config: OrchestratorConfig = {
    ...common,
    host: env.string('HOST', '0.0.0.0'),
    port: env.int('PORT', 8000, 0, 65535),
    webhookSecrets: webhookSecrets.filter((s) => s.length > 0),
    secretKey: env.requiredString('SECRET_KEY'),
    webhookMaxPayloadBytes,
    ...readIntakeBounds(env, webhookMaxPayloadBytes),
    webhookFailureRatePerSecond: env.int('WEBHOOK_RATE_LIMIT_PER_SECOND', 10, 1, 100_000),
    webhookFailureBurst: env.int('WEBHOOK_RATE_LIMIT_BURST', 20, 1, 100_000),
    enqueueTimeoutMs: env.int('ENQUEUE_TIMEOUT_MS', 1000, 10, 60_000),
    intakeStoreTimeoutMs: env.int('INTAKE_STORE_TIMEOUT_MS', 2000, 100, 60_000),
    // At most the shortest retention, which prunes digests with the events (MIN_RETENTION_DAYS).
    webhookPayloadReplayWindowHours: env.int(
      'WEBHOOK_PAYLOAD_REPLAY_WINDOW_HOURS',
      72,
      1,
      MIN_RETENTION_DAYS * 24,
    ),
    rules: readWorkflowRulesFromSettings(env),
    shutdownGraceMs: env.int('SHUTDOWN_GRACE_MS', 25_000, 100, 3_600_000),
    shutdownDrainDelayMs: env.int('SHUTDOWN_DRAIN_DELAY_MS', 0, 0, 600_000),
    migrateOnStart: env.bool('MIGRATE_ON_START', false),
    accessTokenExpireMinutes: env.int('ACCESS_TOKEN_EXPIRE_MINUTES', 30, 1, 60 * 24 * 365),
    apiRateLimitPerMinute: env.int('API_RATE_LIMIT_PER_MINUTE', 100, 1, 1_000_000),
    apiRateLimitBurst: env.int('API_RATE_LIMIT_BURST', 50, 1, 1_000_000),
    trustProxy: parseTrustProxy(env),
    retentionDays: env.int('RETENTION_DAYS', 30, MIN_RETENTION_DAYS, 3650),
    retentionBatchSize: env.int('RETENTION_BATCH_SIZE', 1000, 1, 100_000),
    apiBodyLimitBytes: env.int('API_BODY_LIMIT_BYTES', 65_536, 1024, 10 * 1024 * 1024),
    corsOrigins: parseCorsOrigins(env),
    accessLog: env.bool('ACCESS_LOG', true),
    ...readTokenSettings(env),
  };
  if (config.isProduction) checkProductionSecrets(env, config);
  if (config.accessTokenExpireMinutes * 60 > config.tokenMaxTtlSeconds) {
    env.problem('ACCESS_TOKEN_EXPIRE_MINUTES must not exceed TOKEN_MAX_TTL');
  }
  if (config.shutdownDrainDelayMs >= config.shutdownGraceMs) {
    env.problem('SHUTDOWN_DRAIN_DELAY_MS must be shorter than SHUTDOWN_GRACE_MS');
  }
  env.done();
  return config;
}

/**
 * The in-flight caps and the HTTP timeouts. Each client's cap must hold one delivery of the
 * largest size allowed, and the global cap one client's; defaults grow with
 * WEBHOOK_MAX_PAYLOAD_SIZE so raising it alone never makes the settings invalid.
 */
function readIntakeBounds(
  env: EnvReader,
  maxPayload: number,
): Pick<
  OrchestratorConfig,
  | 'webhookInflightMaxBytes'
  | 'webhookInflightMaxBytesPerClient'
  | 'headersTimeoutSeconds'
  | 'requestTimeoutSeconds'
> {
  const gib = 1024 * 1024 * 1024;
  const perClient = env.int(
    'WEBHOOK_INFLIGHT_MAX_BYTES_PER_CLIENT',
    Math.max(16 * 1024 * 1024, maxPayload),
    1024,
    4 * gib,
  );
  const global = env.int(
    'WEBHOOK_INFLIGHT_MAX_BYTES',
    Math.max(64 * 1024 * 1024, perClient),
    1024,
    16 * gib,
  );
  if (perClient < maxPayload) {
    env.problem(
      'WEBHOOK_INFLIGHT_MAX_BYTES_PER_CLIENT must be at least WEBHOOK_MAX_PAYLOAD_SIZE (one delivery of the largest size must fit)',
    );
  }
  if (global < perClient) {
    env.problem(
      'WEBHOOK_INFLIGHT_MAX_BYTES must be at least WEBHOOK_INFLIGHT_MAX_BYTES_PER_CLIENT',
    );
  }
  const headers = env.int('HEADERS_TIMEOUT_SECONDS', 10, 1, 120);
  const request = env.int('REQUEST_TIMEOUT_SECONDS', 15, 1, 300);
  if (headers > request) {
    env.problem('HEADERS_TIMEOUT_SECONDS must not exceed REQUEST_TIMEOUT_SECONDS');
  }
  return {
    webhookInflightMaxBytes: global,
    webhookInflightMaxBytesPerClient: perClient,
    headersTimeoutSeconds: headers,
    requestTimeoutSeconds: request,
  };
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

/**
 * CORS_ORIGINS: exact browser origins (`https://ops.example.com`), comma-separated. `*` is
 * refused: the API carries operator tokens, so every origin allowed to call it is named.
 */
function parseCorsOrigins(env: EnvReader): string[] {
  const raw = env.raw('CORS_ORIGINS');
  if (raw === undefined) return [];
  const origins: string[] = [];
  for (const entry of raw.split(',').map((e) => e.trim())) {
    let origin: string | null = null;
    try {
      const url = new URL(entry);
      // An origin is scheme://host[:port] and nothing else.
      const plainHost = /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/i.test(url.hostname);
      if (['http:', 'https:'].includes(url.protocol) && plainHost && url.origin === entry) {
        origin = url.origin;
      }
    } catch {
      origin = null;
    }
    if (origin === null) {
      env.problem(
        `CORS_ORIGINS entries must be origins like https://ops.example.com (no path, no *), got "${entry.slice(0, 100)}"`,
      );
    } else origins.push(origin);
  }
  return origins;
}

/**
 * NODE_ENV=production refuses development or weak secrets (see weakSecretReason): each webhook
 * secret and SECRET_KEY at least 32 bytes, no placeholder words, and SECRET_KEY never equal to a
 * webhook secret (whoever holds the webhook secret, GitHub admins included, could mint tokens).
 */
function checkProductionSecrets(env: EnvReader, config: OrchestratorConfig): void {
  config.webhookSecrets.forEach((secret, i) =>
    requireStrongSecret(
      env,
      config.webhookSecrets.length > 1
        ? `GITHUB_WEBHOOK_SECRET entry ${i + 1}`
        : 'GITHUB_WEBHOOK_SECRET',
      secret,
    ),
  );
  requireStrongSecret(env, 'SECRET_KEY', config.secretKey);
  if (config.secretKey !== '' && config.webhookSecrets.includes(config.secretKey)) {
    env.problem('SECRET_KEY must differ from every GITHUB_WEBHOOK_SECRET entry');
  }
}
