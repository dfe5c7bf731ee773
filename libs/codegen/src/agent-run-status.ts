/**
 * What a follower of an agent run does with its status, per the status list Codegen's own
 * clients use (upper case; compared case-insensitively because some of Codegen's prose docs
 * write `completed` / `failed`).
 * - `running`: still working, keep polling;
 * - `paused`: waiting for input, will not finish by itself;
 * - `succeeded` / `failed`: finished;
 * - `not_known_yet`: the status is null, keep polling;
 * - `unknown`: a status outside the list, keep polling for a bounded time.
 */
export type AgentRunStatusKind =
  'running' | 'paused' | 'succeeded' | 'failed' | 'not_known_yet' | 'unknown';

const STATUS_KINDS: ReadonlyMap<string, AgentRunStatusKind> = new Map([
  ['PENDING', 'running'],
  ['ACTIVE', 'running'],
  ['RUNNING', 'running'],
  ['EVALUATION', 'running'],
  ['PAUSED', 'paused'],
  ['COMPLETE', 'succeeded'],
  // Codegen's prose docs say `completed`.
  ['COMPLETED', 'succeeded'],
  ['FAILED', 'failed'],
  ['ERROR', 'failed'],
  ['CANCELLED', 'failed'],
  ['STOPPED', 'failed'],
  ['TIMEOUT', 'failed'],
  ['MAX_ITERATIONS_REACHED', 'failed'],
  ['OUT_OF_TOKENS', 'failed'],
]);

/** Every status of the published list (upper case), for tests and documentation. */
export const KNOWN_AGENT_RUN_STATUSES: readonly string[] = [...STATUS_KINDS.keys()].filter(
  (status) => status !== 'COMPLETED',
);

/** Classifies an agent run status (case-insensitive; null means not known yet). */
export function agentRunStatusKind(status: string | null): AgentRunStatusKind {
  if (status === null) return 'not_known_yet';
  return STATUS_KINDS.get(status.trim().toUpperCase()) ?? 'unknown';
}

/** True when an agent run will not change any more by itself (paused included). */
export function isTerminalAgentRunStatus(status: string | null): boolean {
  const kind = agentRunStatusKind(status);
  return kind === 'succeeded' || kind === 'failed' || kind === 'paused';
}

/** True when an agent run ended well. */
export function isSuccessfulAgentRunStatus(status: string | null): boolean {
  return agentRunStatusKind(status) === 'succeeded';
}
