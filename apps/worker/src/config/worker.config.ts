import { hostname } from 'node:os';
import { WorkflowRules } from '@app/domain';
import { CommonConfig, EnvReader, readCommonConfig, refusePlaceholderSecrets } from '@app/platform';
import { readWorkflowRulesFromSettings } from '@app/runtime';
import {
  DeliveryRecoverySettings,
  GithubAppSettings,
  readDeliveryRecovery,
  readGithubApp,
  readRateLimitReserve,
} from './github-app.config';

export const WORKER_CONFIG = Symbol('WORKER_CONFIG');

/** Settings of the worker process, validated once at start. */
export interface WorkerConfig extends CommonConfig {
  workerId: string;
  analysisConcurrency: number;
  codegenConcurrency: number;
  github: {
    apiUrl: string;
    token: string | undefined;
    timeoutMs: number;
    /** GITHUB_APP_ID + GITHUB_PRIVATE_KEY(_FILE): installation tokens per event's installation. */
    app: GithubAppSettings | null;
    /** GITHUB_RATE_LIMIT_RESERVE: background work waits when fewer requests are left. */
    rateLimitReserve: number;
    /**
     * GITHUB_SECONDARY_LIMIT_MIN_WAIT_MS: after a secondary rate limit without Retry-After, the
     * identity waits this long (doubled while it repeats). Default 60000, as GitHub asks.
     */
    secondaryLimitMinWaitMs: number;
  };
  /** Periodic redelivery of what GitHub could not deliver (see DeliveryRecoverySettings). */
  deliveryRecovery: DeliveryRecoverySettings;
  codegen: {
    baseUrl: string;
    token: string | undefined;
    /** Codegen organization id (a positive integer); null in dry-run mode. */
    orgId: number | null;
    timeoutMs: number;
    /** No token outside production: record the prompt instead of starting a run. */
    dryRun: boolean;
    /**
     * Codegen's limits, enforced across all workers: creations over a sliding minute in
     * PostgreSQL, reads by a Bull queue limiter in Redis.
     */
    createLimitPerMinute: number;
    readLimitPer30s: number;
    /** First poll of a new run, and the cap its backoff grows to. */
    pollIntervalMs: number;
    pollMaxIntervalMs: number;
    /** A run not finished this long after it started fails its task. */
    runDeadlineMs: number;
    /** A run whose status is not in Codegen's list fails its task after this long. */
    unknownStatusGraceMs: number;
    /**
     * After a create whose answer was lost, how long the run is looked for (by its metadata in
     * Codegen's run list) before the service asks for it again.
     */
    reconcileGraceMs: number;
    /** How long Codegen's repository list (for `repo_id`) is reused. */
    repoCacheMs: number;
  };
  /** Safety rules for starting agent runs. */
  agent: {
    /** At most this many agent runs per pull request in 24 hours. */
    maxRunsPerPrPerDay: number;
    /** Post (and update) one PR comment linking the agent run, when a GitHub token is set. */
    prComments: boolean;
    /** How Codegen's own pull requests are recognised: author logins (lower case) ... */
    codegenAuthors: string[];
    /** ... and the head-branch prefix of the branches its agent creates. */
    codegenBranchPrefix: string;
    /** Start check-failure runs on Codegen's own PRs too (its auto-fixer usually handles them). */
    fixCodegenPullRequests: boolean;
    /** Logins (lower case) whose pushes are the agent's commits (`AGENT_PUSHER_LOGINS`). */
    pusherLogins: string[];
    /** A run that ended with no commit or PR from the agent within this is `no_change`. */
    outcomeWindowMs: number;
    /** Follow-up runs after `still_failing` before a human is asked for (`AGENT_MAX_FOLLOW_UPS`). */
    maxFollowUps: number;
    /** How often the worker looks for runs whose window has passed. */
    outcomeSweepIntervalMs: number;
  };
  /** Repositories' own `.github/webhook-orchestrator.yml` (default branch). */
  repositoryRules: {
    enabled: boolean;
    /** A stored read is used this long before the file is read again. */
    refreshMs: number;
  };
  breaker: { threshold: number; halfOpenAfterMs: number };
  relay: { intervalMs: number; pendingAgeMs: number; queuedCheckAgeMs: number; batchSize: number };
  analysis: { synchronizeCodeFileThreshold: number };
  /** Per-repository workflow rules (settings + RULES_FILE). */
  rules: WorkflowRules;
  /** Exit non-zero after the queue Redis has not answered this long (0 = never). */
  redisUnavailableExitMs: number;
  /** Bull's job lock; a job whose worker died is handed out again after about twice this. */
  queueLockDurationMs: number;
  /** Health probes and /metrics (port 0 picks a free port, for tests). */
  listener: { host: string; port: number };
  /** How often the worker writes its heartbeat to Redis; it counts as alive for 3 intervals. */
  heartbeatIntervalMs: number;
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
  refusePlaceholderSecrets(env, source);
  const codegenToken = env.optionalString('CODEGEN_TOKEN');
  if (common.isProduction && codegenToken === undefined) {
    env.problem('CODEGEN_TOKEN is required in production (dry-run mode is for development only)');
  }
  const orgIdText = env.optionalString('CODEGEN_ORG_ID') ?? '';
  if (codegenToken !== undefined && orgIdText === '')
    env.problem('CODEGEN_ORG_ID is required when CODEGEN_TOKEN is set');
  // Codegen's paths take an integer organization id; anything else is a 422 on every call.
  const orgIdValid = /^[1-9]\d{0,15}$/.test(orgIdText) && Number.isSafeInteger(Number(orgIdText));
  if (orgIdText !== '' && !orgIdValid)
    env.problem("CODEGEN_ORG_ID must be a positive integer (Codegen's organization id)");
  const orgId = orgIdValid ? Number(orgIdText) : null;
  const githubToken = env.optionalString('GITHUB_TOKEN');
  const githubApp = readGithubApp(env);
  const config: WorkerConfig = {
    ...common,
    workerId: env.string('WORKER_ID', `${hostname()}:${process.pid}`),
    analysisConcurrency: env.int('WORKER_CONCURRENCY', 5, 1, 200),
    codegenConcurrency: env.int('CODEGEN_CONCURRENCY', 2, 1, 50),
    github: {
      apiUrl: env.url('GITHUB_API_URL', 'https://api.github.com', ['https:', 'http:']),
      token: githubToken,
      timeoutMs: env.int('GITHUB_TIMEOUT_MS', 10_000, 100, 120_000),
      app: githubApp,
      rateLimitReserve: readRateLimitReserve(env),
      secondaryLimitMinWaitMs: env.int(
        'GITHUB_SECONDARY_LIMIT_MIN_WAIT_MS',
        60_000,
        100,
        3_600_000,
      ),
    },
    deliveryRecovery: readDeliveryRecovery(env, githubApp, githubToken),
    codegen: {
      baseUrl: env.url('CODEGEN_BASE_URL', 'https://api.codegen.com', ['https:', 'http:']),
      token: codegenToken,
      orgId,
      timeoutMs: env.int('CODEGEN_TIMEOUT_MS', 30_000, 100, 300_000),
      dryRun: codegenToken === undefined,
      createLimitPerMinute: env.int('CODEGEN_CREATE_LIMIT_PER_MINUTE', 10, 1, 10_000),
      readLimitPer30s: env.int('CODEGEN_READ_LIMIT_PER_30S', 60, 1, 100_000),
      pollIntervalMs: env.int('CODEGEN_POLL_INTERVAL_MS', 15_000, 10, 3_600_000),
      pollMaxIntervalMs: env.int('CODEGEN_POLL_MAX_INTERVAL_MS', 300_000, 10, 86_400_000),
      runDeadlineMs: env.int('CODEGEN_RUN_DEADLINE_MS', 4 * 3_600_000, 1000, 7 * 86_400_000),
      unknownStatusGraceMs: env.int(
        'CODEGEN_UNKNOWN_STATUS_GRACE_MS',
        30 * 60_000,
        0,
        7 * 86_400_000,
      ),
      reconcileGraceMs: env.int('CODEGEN_RECONCILE_GRACE_MS', 60_000, 0, 3_600_000),
      repoCacheMs: env.int('CODEGEN_REPO_CACHE_MS', 300_000, 0, 86_400_000),
    },
    agent: {
      maxRunsPerPrPerDay: env.int('AGENT_MAX_RUNS_PER_PR_PER_DAY', 5, 0, 1000),
      prComments: env.bool('PR_COMMENTS_ENABLED', true),
      codegenAuthors: env
        .string('AGENT_CODEGEN_AUTHORS', 'codegen-sh[bot]')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s.length > 0),
      codegenBranchPrefix: env.string('AGENT_CODEGEN_BRANCH_PREFIX', 'codegen-bot/'),
      fixCodegenPullRequests: env.bool('AGENT_FIX_CODEGEN_PRS', false),
      pusherLogins: env
        .string('AGENT_PUSHER_LOGINS', 'codegen-sh[bot]')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s.length > 0),
      outcomeWindowMs: readDuration(
        env,
        'AGENT_OUTCOME_WINDOW',
        2 * 3_600_000,
        1000,
        30 * 86_400_000,
      ),
      maxFollowUps: env.int('AGENT_MAX_FOLLOW_UPS', 1, 0, 10),
      outcomeSweepIntervalMs: 0,
    },
    repositoryRules: {
      enabled: env.bool('REPOSITORY_RULES_ENABLED', true),
      refreshMs: env.int('REPOSITORY_RULES_REFRESH_MS', 300_000, 0, 86_400_000),
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
    rules: readWorkflowRulesFromSettings(env),
    redisUnavailableExitMs: env.int('REDIS_UNAVAILABLE_EXIT_MS', 120_000, 0, 3_600_000),
    queueLockDurationMs: env.int('QUEUE_LOCK_DURATION_MS', 30_000, 1000, 600_000),
    analysis: {
      synchronizeCodeFileThreshold: env.int('SYNCHRONIZE_CODE_FILE_THRESHOLD', 3, 0, 10_000),
    },
    listener: {
      host: env.string('WORKER_HEALTH_HOST', '0.0.0.0'),
      port: env.int('WORKER_HEALTH_PORT', 9100, 0, 65535),
    },
    heartbeatIntervalMs: env.int('WORKER_HEARTBEAT_INTERVAL_MS', 10_000, 100, 300_000),
    shutdownGraceMs: env.int('SHUTDOWN_GRACE_MS', 25_000, 100, 3_600_000),
    migrateOnStart: env.bool('MIGRATE_ON_START', false),
  };
  // Often enough that a short window (tests, demos) is judged soon after it passes.
  config.agent.outcomeSweepIntervalMs = Math.min(
    60_000,
    Math.max(250, Math.round(config.agent.outcomeWindowMs / 4)),
  );
  if (config.agent.pusherLogins.length === 0)
    env.problem('AGENT_PUSHER_LOGINS must name at least one login');
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(config.listener.host))
    env.problem('WORKER_HEALTH_HOST must be a host name or an IP address');
  env.done();
  return config;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A duration setting: milliseconds as a plain integer, or a number with a unit (`90s`, `30m`,
 * `2h`, `1d`). Out of [min, max] or unreadable is a problem naming the setting.
 */
export function readDuration(
  env: EnvReader,
  name: string,
  fallbackMs: number,
  minMs: number,
  maxMs: number,
): number {
  const text = env.optionalString(name);
  if (text === undefined) return fallbackMs;
  const match = /^(\d{1,12})\s*(ms|s|m|h|d)?$/i.exec(text.trim());
  const ms = match ? Number(match[1]) * DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()] : NaN;
  if (!Number.isSafeInteger(ms) || ms < minMs || ms > maxMs) {
    env.problem(
      `${name} must be a duration between ${minMs} ms and ${maxMs / 86_400_000} days (e.g. 7200000, 90m, 2h)`,
    );
    return fallbackMs;
  }
  return ms;
}
