import { readPath, readText, toPositiveInt } from './payload-reader';
import { ROUTING_LIMITS, RouteOutcome } from './routing.types';

/** Shorthand for an `ignored` outcome. */
export function ignored(action: string | null, reason: string): RouteOutcome {
  return { kind: 'ignored', action, reason };
}

/** `malformed_payload:<field>`: the field path is ours, never payload text. */
export function malformed(action: string | null, field: string): RouteOutcome {
  return ignored(action, `malformed_payload:${field}`);
}

/** Git object ids are 40 (SHA-1) or 64 (SHA-256) hex digits. */
const SHA_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

/** A commit sha, lower-cased, or null when the value is not a plausible one. */
export function toSha(value: unknown): string | null {
  return typeof value === 'string' && SHA_PATTERN.test(value) ? value.toLowerCase() : null;
}

/** `workflow_tasks.pr_number` is an int4; a larger "PR number" is malformed, not a 5xx. */
const MAX_PR_NUMBER = 2_147_483_647;

/** A pull request number: a positive integer that fits the column, or null. */
export function toPrNumber(value: unknown): number | null {
  const number = toPositiveInt(value);
  return number !== null && number <= MAX_PR_NUMBER ? number : null;
}

/** True for the all-zero sha GitHub sends as `after` when a ref is deleted. */
export function isZeroSha(value: unknown): boolean {
  return typeof value === 'string' && SHA_PATTERN.test(value) && /^0+$/.test(value);
}

/** Sender fields shared by every draft's `inputData`. */
export function senderFacts(payload: unknown): {
  sender_login: string | null;
  sender_type: string | null;
} {
  return {
    sender_login: readText(payload, ROUTING_LIMITS.login, 'sender', 'login'),
    sender_type: readText(payload, ROUTING_LIMITS.action, 'sender', 'type'),
  };
}

/** `repository.full_name` capped, or null. */
export function repositoryName(payload: unknown): string | null {
  return readText(payload, ROUTING_LIMITS.repository, 'repository', 'full_name');
}

/** `repository.id` when it is a safe integer, for matching linked pull requests. */
export function repositoryId(payload: unknown): number | null {
  const id = readPath(payload, 'repository', 'id');
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : null;
}
