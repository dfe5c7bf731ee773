import { readArray, readOwn, readPath, readText, toPositiveInt } from '../routing/payload-reader';
import { repositoryId, repositoryName, toPrNumber, toSha } from '../routing/route-helpers';
import { ROUTING_LIMITS } from '../routing/routing.types';
import type { OutcomeEvent } from './agent-outcome';

/** What a delivery may say about agent runs' outcomes, and where to look for them. */
export interface OutcomeFacts {
  repository: string;
  /** The commit the delivery is about (a check's head, a synchronize's new head). */
  sha: string | null;
  prNumbers: number[];
  event: Exclude<OutcomeEvent, { kind: 'run_finished' } | { kind: 'window_elapsed' }>;
}

/**
 * Reads the facts that can judge an agent run from a delivery: a completed check run or suite
 * (any conclusion), or a pull request's `synchronize` with its pusher (`sender.login`). Null for
 * anything else or a payload missing what the rules need. Pure and total.
 */
export function agentOutcomeFacts(eventType: string, payload: unknown): OutcomeFacts | null {
  try {
    return read(eventType, payload);
  } catch {
    return null;
  }
}

function read(eventType: string, payload: unknown): OutcomeFacts | null {
  const repository = repositoryName(payload);
  if (repository === null) return null;
  const action = readOwn(payload, 'action');
  if (eventType === 'pull_request') {
    if (action !== 'synchronize') return null;
    const prNumber = toPrNumber(
      readPath(payload, 'pull_request', 'number') ?? readOwn(payload, 'number'),
    );
    const after = toSha(readOwn(payload, 'after'));
    if (prNumber === null || after === null) return null;
    return {
      repository,
      sha: after,
      prNumbers: [prNumber],
      event: {
        kind: 'head_pushed',
        prNumber,
        after,
        pusher: readText(payload, ROUTING_LIMITS.login, 'sender', 'login'),
      },
    };
  }
  if (eventType !== 'check_run' && eventType !== 'check_suite') return null;
  if (action !== 'completed') return null;
  const check = readOwn(payload, eventType);
  const headSha = toSha(readOwn(check, 'head_sha'));
  // A suite is named by the app that ran it; a run by its own name.
  const name =
    eventType === 'check_run'
      ? readText(check, ROUTING_LIMITS.text, 'name')
      : readText(check, ROUTING_LIMITS.login, 'app', 'slug');
  const conclusion = readOwn(check, 'conclusion');
  if (headSha === null || name === null) return null;
  if (conclusion !== null && typeof conclusion !== 'string') return null;
  const completedText =
    eventType === 'check_run'
      ? readText(check, 64, 'completed_at')
      : readText(check, 64, 'updated_at');
  const completed = completedText === null ? NaN : Date.parse(completedText);
  return {
    repository,
    sha: headSha,
    prNumbers: linkedPrNumbers(payload, check),
    event: {
      kind: 'check_completed',
      scope: eventType,
      name,
      conclusion: conclusion === null ? null : conclusion.slice(0, 32),
      headSha,
      prNumbers: linkedPrNumbers(payload, check),
      completedAt: Number.isNaN(completed) ? new Date(0) : new Date(completed),
      checkId: toPositiveInt(readOwn(check, 'id')),
    },
  };
}

/** The check's pull requests of this repository (a fork's PR numbers mean nothing here). */
function linkedPrNumbers(payload: unknown, check: unknown): number[] {
  const own = repositoryId(payload);
  const out = new Set<number>();
  for (const entry of (readArray(check, 'pull_requests') ?? []).slice(0, 200)) {
    const number = toPrNumber(readOwn(entry, 'number'));
    const base = readPath(entry, 'base', 'repo', 'id');
    if (number === null || (own !== null && typeof base === 'number' && base !== own)) continue;
    out.add(number);
    if (out.size >= ROUTING_LIMITS.tasksPerEvent) break;
  }
  return [...out].sort((a, b) => a - b);
}

/** The facts as a task's JSON input. */
export function outcomeFactsToInput(facts: OutcomeFacts): Record<string, unknown> {
  const { event } = facts;
  return {
    repository: facts.repository,
    sha: facts.sha,
    pr_numbers: facts.prNumbers,
    event:
      event.kind === 'check_completed'
        ? {
            ...event,
            prNumbers: [...event.prNumbers],
            completedAt: event.completedAt.toISOString(),
          }
        : { ...event },
  };
}

/** Reads facts back from a task's input; null when it is not what outcomeFactsToInput wrote. */
export function outcomeFactsFromInput(input: Record<string, unknown>): OutcomeFacts | null {
  const repository = readText(input, ROUTING_LIMITS.repository, 'repository');
  const event = readOwn(input, 'event');
  const prNumbers = (readArray(input, 'pr_numbers') ?? [])
    .map((n) => toPrNumber(n))
    .filter((n): n is number => n !== null);
  if (repository === null) return null;
  const sha = toSha(readOwn(input, 'sha'));
  const kind = readOwn(event, 'kind');
  if (kind === 'head_pushed') {
    const prNumber = toPrNumber(readOwn(event, 'prNumber'));
    const after = toSha(readOwn(event, 'after'));
    if (prNumber === null || after === null) return null;
    return {
      repository,
      sha,
      prNumbers,
      event: {
        kind,
        prNumber,
        after,
        pusher: readText(event, ROUTING_LIMITS.login, 'pusher'),
      },
    };
  }
  if (kind === 'check_completed') {
    const scope = readOwn(event, 'scope');
    const name = readText(event, ROUTING_LIMITS.text, 'name');
    const headSha = toSha(readOwn(event, 'headSha'));
    const conclusion = readOwn(event, 'conclusion');
    const completedAt = Date.parse(readText(event, 64, 'completedAt') ?? '');
    if (scope !== 'check_run' && scope !== 'check_suite') return null;
    if (name === null || headSha === null || Number.isNaN(completedAt)) return null;
    return {
      repository,
      sha,
      prNumbers,
      event: {
        kind,
        scope,
        name,
        conclusion: typeof conclusion === 'string' ? conclusion : null,
        headSha,
        prNumbers: (readArray(event, 'prNumbers') ?? [])
          .map((n) => toPrNumber(n))
          .filter((n): n is number => n !== null),
        completedAt: new Date(completedAt),
        checkId: toPositiveInt(readOwn(event, 'checkId')),
      },
    };
  }
  return null;
}
