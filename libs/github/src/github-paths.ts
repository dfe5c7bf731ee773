import { invalidInput } from './github-errors';
import {
  DeliveryHook,
  deliveryHookKey,
  deliveryHookPath,
  parseDeliveryHook,
} from './hook-deliveries';

/**
 * Request paths built from caller input, each part checked first so that no input can change
 * which resource a request names. A refusal is a permanent error and nothing is sent.
 */

const REPOSITORY_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const FILE_PATH_PATTERN = /^[A-Za-z0-9_.\-/]{1,255}$/;
const SHA_PATTERN = /^[0-9a-f]{40}([0-9a-f]{24})?$/i;

/** `/repos/{owner}/{repo}` for `owner/repo`. */
export function repositoryPath(repository: string): string {
  const segments = typeof repository === 'string' ? repository.split('/') : [];
  const valid =
    REPOSITORY_PATTERN.test(repository) &&
    segments.every((segment) => segment !== '.' && segment !== '..');
  if (!valid) {
    throw invalidInput(`invalid repository ${JSON.stringify(String(repository).slice(0, 100))}`);
  }
  return `/repos/${segments[0]}/${segments[1]}`;
}

export function requirePositiveInteger(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw invalidInput(`invalid ${what} ${String(value)}: expected a positive integer`);
  }
}

/** A commit sha: 40 (SHA-1) or 64 (SHA-256) hex digits. */
export function requireSha(sha: string): void {
  if (typeof sha !== 'string' || !SHA_PATTERN.test(sha)) {
    throw invalidInput('invalid commit sha: expected 40 or 64 hex digits');
  }
}

/** `contents/{path}[?ref=…]` of a file inside the repository (no `..`, no odd characters). */
export function contentsPath(path: string, ref: string | null): string {
  if (!FILE_PATH_PATTERN.test(path) || path.split('/').includes('..'))
    throw invalidInput('invalid repository file path');
  const query = ref === null ? '' : `?ref=${encodeURIComponent(ref)}`;
  return `contents/${path.split('/').map(encodeURIComponent).join('/')}${query}`;
}

/** The hook's API path, after checking it the way parsed input is checked. */
export function checkedHookPath(hook: DeliveryHook): string {
  const checked = parseDeliveryHook(deliveryHookKey(hook));
  if (!checked) throw invalidInput('invalid webhook reference');
  return deliveryHookPath(checked);
}
