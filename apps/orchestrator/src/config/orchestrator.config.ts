import { CommonConfig, EnvReader, readCommonConfig } from '@app/domain';

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
  };
  env.done();
  return config;
}
