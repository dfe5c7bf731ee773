import { CheckScope, FailingCheckRules, isFailingConclusion } from '../checks/failing-check';

/**
 * What became of an agent run sent to fix a failing check, judged from the deliveries that
 * follow it. Stored in `agent_run_outcomes.outcome`.
 */
export const AGENT_OUTCOMES = [
  'pending',
  'fixed',
  'still_failing',
  'superseded',
  'no_change',
  'run_failed',
] as const;
export type AgentOutcome = (typeof AGENT_OUTCOMES)[number];

export function isAgentOutcome(value: unknown): value is AgentOutcome {
  return typeof value === 'string' && (AGENT_OUTCOMES as readonly string[]).includes(value);
}

/** A completed check on a commit newer than the one the run was started for. */
export interface CheckObservation {
  sha: string;
  name: string;
  conclusion: string | null;
  /** ISO time the check completed. */
  completedAt: string;
  /** The pull requests the check event named. */
  prNumbers: number[];
  /** The check run's (or suite's) id, to read its output for a follow-up prompt. */
  checkId?: number | null;
}

/** The part of a stored outcome the rules read. */
export interface AgentRunRecord {
  outcome: AgentOutcome;
  /** Check run names, or the suite's app for a suite, that failed and sent the agent. */
  checkScope: CheckScope;
  failingChecks: readonly string[];
  failingCheckCompletedAt: Date | null;
  /** The head commit the run was started for. */
  headSha: string;
  prNumber: number | null;
  /** Pull requests the run reported (`github_pull_requests`): the agent's own. */
  agentPrNumbers: readonly number[];
  /** The newest head commit recognised as the agent's. */
  agentHeadSha: string | null;
  /** When Codegen's run ended; null while it works. */
  finishedAt: Date | null;
  /** Check results on newer commits not yet known to be the agent's (out-of-order deliveries). */
  observations: readonly CheckObservation[];
}

export type OutcomeEvent =
  | {
      kind: 'check_completed';
      scope: CheckScope;
      /** The check run's name, or the suite's app for a suite. */
      name: string;
      conclusion: string | null;
      headSha: string;
      prNumbers: readonly number[];
      completedAt: Date;
      checkId?: number | null;
    }
  | {
      /** `pull_request` `synchronize`: a new head commit of a pull request, pushed by `pusher`. */
      kind: 'head_pushed';
      prNumber: number;
      after: string;
      pusher: string | null;
    }
  | {
      kind: 'run_finished';
      succeeded: boolean;
      agentPrNumbers: readonly number[];
      at: Date;
    }
  | { kind: 'window_elapsed' };

export interface OutcomeRules extends FailingCheckRules {
  /** Logins whose pushes are the agent's (`AGENT_PUSHER_LOGINS`), compared case-insensitively. */
  agentPusherLogins: readonly string[];
  /** How long after the run's end the agent may take to show a commit (`AGENT_OUTCOME_WINDOW`). */
  windowMs: number;
}

/** What to store after an event. */
export interface OutcomeDecision {
  outcome: AgentOutcome;
  agentHeadSha: string | null;
  agentPrNumbers: number[];
  finishedAt: Date | null;
  observations: CheckObservation[];
  /** The agent commit that was judged; null while pending or when no commit was. */
  judgedSha: string | null;
  judgedAt: Date | null;
  timeToGreenSeconds: number | null;
  /** For `still_failing`: the checks that failed again on the agent's commit. */
  failedAgain: CheckObservation[];
}

/** Observations kept per outcome; only checks named by the outcome are kept at all. */
export const MAX_OBSERVATIONS = 50;

/**
 * Applies one event to a stored outcome. Returns what to store, or null when nothing changes
 * (a judged outcome, a redelivery, a commit or check the run has nothing to do with). Pure: the
 * caller holds the row lock and writes the answer, so an outcome is judged once.
 */
export function judgeAgentRun(
  record: AgentRunRecord,
  event: OutcomeEvent,
  rules: OutcomeRules,
  now: Date,
): OutcomeDecision | null {
  if (record.outcome !== 'pending') return null;
  const base = decisionFrom(record);
  switch (event.kind) {
    case 'run_finished': {
      if (record.finishedAt !== null) return null;
      if (!event.succeeded) return judged(base, 'run_failed', now, { finishedAt: event.at });
      // The PR the run was sent to is not the agent's own, even when Codegen lists it.
      const agentPrNumbers = union(base.agentPrNumbers, event.agentPrNumbers).filter(
        (n) => n !== record.prNumber,
      );
      const next: OutcomeDecision = {
        ...base,
        finishedAt: event.at,
        agentPrNumbers,
        // Checks kept while the run worked judge it now if they were on its pull requests; the
        // rest were someone else's and are dropped.
        observations: base.observations.filter((o) =>
          concerns({ ...record, agentPrNumbers }, o.sha, o.prNumbers),
        ),
      };
      return evaluate(record, next, rules, now) ?? next;
    }
    case 'head_pushed': {
      if (!touchesPr(record, event.prNumber)) return null;
      if (event.after === record.headSha || event.after === record.agentHeadSha) return null;
      if (!isAgentLogin(event.pusher, rules)) {
        return judged(base, 'superseded', now, { judgedSha: event.after });
      }
      const next: OutcomeDecision = { ...base, agentHeadSha: event.after };
      return evaluate(record, next, rules, now) ?? next;
    }
    case 'check_completed': {
      if (event.scope !== record.checkScope) return null;
      if (!record.failingChecks.includes(event.name)) return null;
      if (event.headSha === record.headSha) return null;
      // While the run works, a check on another pull request may be on one the agent just
      // opened and Codegen has not reported yet: it is kept, and judges once the run's end
      // names that pull request (or is dropped then).
      const maybeAgentPr = record.finishedAt === null && event.prNumbers.length > 0;
      if (!concerns(record, event.headSha, event.prNumbers) && !maybeAgentPr) return null;
      const observation: CheckObservation = {
        sha: event.headSha,
        name: event.name,
        conclusion: event.conclusion,
        completedAt: event.completedAt.toISOString(),
        prNumbers: [...event.prNumbers].sort((a, b) => a - b),
        ...(event.checkId != null ? { checkId: event.checkId } : {}),
      };
      const observations = withObservation(base.observations, observation);
      if (observations === null) return null;
      const next: OutcomeDecision = { ...base, observations };
      return evaluate(record, next, rules, now) ?? next;
    }
    case 'window_elapsed': {
      if (record.finishedAt === null) return null;
      if (record.agentHeadSha !== null || record.agentPrNumbers.length > 0) return null;
      if (now.getTime() - record.finishedAt.getTime() < rules.windowMs) return null;
      return judged(base, 'no_change', now, {});
    }
  }
}

/** True when `login` is one of the agent's pushing logins. */
export function isAgentLogin(login: string | null, rules: Pick<OutcomeRules, 'agentPusherLogins'>) {
  if (!login) return false;
  const lower = login.toLowerCase();
  return rules.agentPusherLogins.some((l) => l.toLowerCase() === lower);
}

/** Seconds from the failing check's completion to the passing one's; null when unknown. */
export function timeToGreenSeconds(failedAt: Date | null, passedAt: Date): number | null {
  if (failedAt === null) return null;
  return Math.max(0, Math.round((passedAt.getTime() - failedAt.getTime()) / 1000));
}

function decisionFrom(record: AgentRunRecord): OutcomeDecision {
  return {
    outcome: record.outcome,
    agentHeadSha: record.agentHeadSha,
    agentPrNumbers: [...record.agentPrNumbers],
    finishedAt: record.finishedAt,
    observations: [...record.observations],
    judgedSha: null,
    judgedAt: null,
    timeToGreenSeconds: null,
    failedAgain: [],
  };
}

function judged(
  base: OutcomeDecision,
  outcome: AgentOutcome,
  now: Date,
  changes: Partial<OutcomeDecision>,
): OutcomeDecision {
  return { ...base, ...changes, outcome, judgedAt: now, observations: [] };
}

function touchesPr(
  record: Pick<AgentRunRecord, 'prNumber' | 'agentPrNumbers'>,
  prNumber: number,
): boolean {
  return prNumber === record.prNumber || record.agentPrNumbers.includes(prNumber);
}

/** Whether a check on `sha` for `prNumbers` is about the run: its PR, its own PRs or commit. */
function concerns(
  record: Pick<AgentRunRecord, 'prNumber' | 'agentPrNumbers' | 'agentHeadSha'>,
  sha: string,
  prNumbers: readonly number[],
): boolean {
  return sha === record.agentHeadSha || prNumbers.some((n) => touchesPr(record, n));
}

/**
 * Judges the agent's commits among the observations: its pushed head, or any commit of a pull
 * request the run opened. Any named check failing again → still_failing; every named check
 * passing on one commit → fixed. Otherwise null (keep waiting).
 */
function evaluate(
  record: AgentRunRecord,
  next: OutcomeDecision,
  rules: OutcomeRules,
  now: Date,
): OutcomeDecision | null {
  const agentShas = new Set<string>();
  if (next.agentHeadSha !== null) agentShas.add(next.agentHeadSha);
  for (const o of next.observations) {
    if (o.sha !== record.headSha && o.prNumbers.some((n) => next.agentPrNumbers.includes(n)))
      agentShas.add(o.sha);
  }
  for (const sha of agentShas) {
    const onSha = next.observations.filter((o) => o.sha === sha);
    const failed = onSha.filter((o) => isFailingConclusion(o.conclusion, record.checkScope, rules));
    if (failed.length > 0) {
      return { ...judged(next, 'still_failing', now, { judgedSha: sha }), failedAgain: failed };
    }
    const passed = onSha.filter(
      (o) => o.conclusion === 'success' && record.failingChecks.includes(o.name),
    );
    const allPassed = record.failingChecks.every((name) => passed.some((o) => o.name === name));
    if (allPassed && record.failingChecks.length > 0) {
      const lastPass = new Date(Math.max(...passed.map((o) => new Date(o.completedAt).getTime())));
      return {
        ...judged(next, 'fixed', now, { judgedSha: sha }),
        timeToGreenSeconds: timeToGreenSeconds(record.failingCheckCompletedAt, lastPass),
      };
    }
  }
  return null;
}

/** Adds or replaces the (sha, name) observation; null when it is already there (redelivery). */
function withObservation(
  list: readonly CheckObservation[],
  observation: CheckObservation,
): CheckObservation[] | null {
  const same = list.find((o) => o.sha === observation.sha && o.name === observation.name);
  if (same) {
    if (same.completedAt > observation.completedAt) return null;
    if (same.completedAt === observation.completedAt && same.conclusion === observation.conclusion)
      return null;
  }
  const rest = list.filter((o) => !(o.sha === observation.sha && o.name === observation.name));
  return [...rest, observation].slice(-MAX_OBSERVATIONS);
}

function union(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}
