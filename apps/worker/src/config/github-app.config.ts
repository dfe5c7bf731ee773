import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { EnvReader } from '@app/platform';
import {
  DEFAULT_RATE_LIMIT_RESERVE,
  DeliveryHook,
  GithubPrivateKeyError,
  isGithubAppId,
  parseDeliveryHook,
  parseGithubPrivateKey,
} from '@app/github';

/** A GitHub App whose key parsed at start-up. The KeyObject never prints its material. */
export interface GithubAppSettings {
  appId: string;
  privateKey: KeyObject;
}

/** Settings of the periodic delivery recovery. */
export interface DeliveryRecoverySettings {
  /** Between two passes; 0 turns the periodic job off (the admin endpoint still works). */
  intervalMs: number;
  /** Whose delivery log to read: the App's hook, or a repository / organisation hook. */
  hook: DeliveryHook | null;
  /** Redeliveries asked for per pass at most; the rest wait for the next pass. */
  maxRedeliveriesPerRun: number;
}

/**
 * GITHUB_APP_ID with GITHUB_PRIVATE_KEY (PEM, also `\n`-escaped on one line) or
 * GITHUB_PRIVATE_KEY_FILE. Problems name the variable, never the key.
 */
export function readGithubApp(env: EnvReader): GithubAppSettings | null {
  const appId = env.optionalString('GITHUB_APP_ID');
  const inline = env.optionalString('GITHUB_PRIVATE_KEY');
  const file = env.optionalString('GITHUB_PRIVATE_KEY_FILE');
  if (inline !== undefined && file !== undefined) {
    env.problem('set only one of GITHUB_PRIVATE_KEY and GITHUB_PRIVATE_KEY_FILE');
    return null;
  }
  const keyVariable = file !== undefined ? 'GITHUB_PRIVATE_KEY_FILE' : 'GITHUB_PRIVATE_KEY';
  let keyText = inline;
  if (file !== undefined) {
    try {
      keyText = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      env.problem(
        `GITHUB_PRIVATE_KEY_FILE cannot be read (${typeof code === 'string' ? code : 'error'})`,
      );
      return null;
    }
  }
  if (appId === undefined && keyText === undefined) return null;
  if (appId === undefined) {
    env.problem(`GITHUB_APP_ID is required when ${keyVariable} is set`);
    return null;
  }
  if (!isGithubAppId(appId)) {
    env.problem('GITHUB_APP_ID must be a GitHub App id or client id (letters, digits, . _ -)');
    return null;
  }
  if (keyText === undefined) {
    env.problem(
      'GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_FILE) is required when GITHUB_APP_ID is set',
    );
    return null;
  }
  try {
    return { appId, privateKey: parseGithubPrivateKey(keyText) };
  } catch (error) {
    const reason = error instanceof GithubPrivateKeyError ? error.message : 'not a usable key';
    env.problem(`${keyVariable} is ${reason}`);
    return null;
  }
}

/** GITHUB_RATE_LIMIT_RESERVE: requests kept back from background work per identity. */
export function readRateLimitReserve(env: EnvReader): number {
  return env.int('GITHUB_RATE_LIMIT_RESERVE', DEFAULT_RATE_LIMIT_RESERVE, 0, 1_000_000);
}

/**
 * DELIVERY_RECOVERY_INTERVAL_MS, DELIVERY_RECOVERY_HOOK, DELIVERY_RECOVERY_MAX_PER_RUN. Without
 * DELIVERY_RECOVERY_HOOK the App's own hook is read when an App is configured.
 */
export function readDeliveryRecovery(
  env: EnvReader,
  app: GithubAppSettings | null,
  githubToken: string | undefined,
): DeliveryRecoverySettings {
  const intervalMs = env.int('DELIVERY_RECOVERY_INTERVAL_MS', 600_000, 0, 7 * 86_400_000);
  if (intervalMs > 0 && intervalMs < 100)
    env.problem('DELIVERY_RECOVERY_INTERVAL_MS must be 0 (off) or at least 100');
  const maxRedeliveriesPerRun = env.int('DELIVERY_RECOVERY_MAX_PER_RUN', 500, 1, 100_000);
  const text = env.optionalString('DELIVERY_RECOVERY_HOOK');
  let hook: DeliveryHook | null = app ? { kind: 'app' } : null;
  if (text !== undefined) {
    const parsed = parseDeliveryHook(text);
    if (!parsed) {
      env.problem(
        'DELIVERY_RECOVERY_HOOK must be repos/OWNER/REPO/hooks/ID, orgs/ORG/hooks/ID or app',
      );
    } else if (parsed.kind === 'app' && !app) {
      env.problem('DELIVERY_RECOVERY_HOOK=app needs GITHUB_APP_ID and GITHUB_PRIVATE_KEY');
    } else if (parsed.kind !== 'app' && githubToken === undefined) {
      env.problem('DELIVERY_RECOVERY_HOOK needs GITHUB_TOKEN (one that may read the hook)');
    } else {
      hook = parsed;
    }
  }
  return { intervalMs, hook, maxRedeliveriesPerRun };
}
