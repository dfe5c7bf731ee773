import { CheckScope, isFailingConclusion } from '../checks/failing-check';
import {
  EffectiveRules,
  parseRuleOverrides,
  RuleOverrides,
  RulesError,
  RuleSource,
  RulesWithSources,
  TASK_EVENTS,
} from './workflow-rules';

/** Where a repository keeps its own rules, read from its default branch only. */
export const REPOSITORY_RULES_PATH = '.github/webhook-orchestrator.yml';

/** A larger file is not read (a rules file is a few hundred bytes). */
export const MAX_REPOSITORY_RULES_BYTES = 16 * 1024;

/** What a repository's rules file holds, as far as the service will use it. */
export type RepositoryRulesFile =
  | { status: 'absent' }
  | { status: 'valid'; sha: string; overrides: RuleOverrides }
  | { status: 'invalid'; sha: string; problem: string };

/**
 * Reads the bytes of a repository's rules file. Too large, binary (a NUL byte or invalid UTF-8)
 * or not a valid rules mapping: `invalid` with the first problem, never a throw.
 */
export function readRepositoryRulesFile(
  sha: string,
  size: number,
  bytes: Uint8Array | null,
): RepositoryRulesFile {
  if (size > MAX_REPOSITORY_RULES_BYTES || (bytes && bytes.length > MAX_REPOSITORY_RULES_BYTES))
    return {
      status: 'invalid',
      sha,
      problem: `file is ${size} bytes, larger than the ${MAX_REPOSITORY_RULES_BYTES} allowed`,
    };
  if (bytes === null) return { status: 'invalid', sha, problem: 'file content is not readable' };
  if (bytes.includes(0)) return { status: 'invalid', sha, problem: 'file is binary' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { status: 'invalid', sha, problem: 'file is not UTF-8 text' };
  }
  try {
    return { status: 'valid', sha, overrides: parseRuleOverrides(text, REPOSITORY_RULES_PATH) };
  } catch (error) {
    if (error instanceof RulesError)
      return { status: 'invalid', sha, problem: error.problems.slice(0, 3).join('; ') };
    throw error;
  }
}

/** Effective rules with sources, and the repository file's values that were not applied. */
export interface NarrowedRules extends RulesWithSources {
  /** One line per repository value left out because it would widen the server's rules. */
  ignored: string[];
}

/**
 * Applies a repository's own rules on top of the server's. A repository may only narrow: fewer
 * events and push branches, a higher synchronize threshold, agent runs and cancelled checks
 * only off, more skip labels, fewer allowed bots, the trust gate only on, the opt-in label only
 * off, lower budgets. A value that would widen the server's rules is ignored and listed.
 */
export function narrowRules(server: RulesWithSources, repo: RuleOverrides): NarrowedRules {
  const rules: EffectiveRules = { ...server.rules };
  const sources = { ...server.sources };
  const ignored: string[] = [];
  const take = <K extends keyof EffectiveRules>(key: K, value: EffectiveRules[K]): void => {
    if (JSON.stringify(value) === JSON.stringify(rules[key])) {
      // Same value: the repository agrees; the stricter of equal values is the server's own.
      return;
    }
    rules[key] = value;
    sources[key] = 'repository file';
  };
  const refuse = (name: string, why: string): void => {
    ignored.push(`${name}: ${why}`);
  };

  if (repo.events !== undefined) {
    const kept = rules.events.filter((e) => repo.events?.includes(e));
    take('events', kept);
    const extra = repo.events.filter((e) => !rules.events.includes(e));
    if (extra.length > 0) refuse('events', `${extra.join(', ')} turned off by the server`);
  }
  if (repo.pushBranches !== undefined && repo.pushBranches !== null) {
    if (rules.pushBranches === null) {
      if (repo.pushBranches.length === 0) take('pushBranches', []);
      else refuse('push_branches', 'the server analyses pushes to the default branch only');
    } else {
      const server = rules.pushBranches;
      take(
        'pushBranches',
        server.filter((b) => repo.pushBranches?.includes(b)),
      );
      const extra = repo.pushBranches.filter((b) => !server.includes(b));
      if (extra.length > 0)
        refuse('push_branches', `${extra.join(', ')} not allowed by the server`);
    }
  }
  if (repo.synchronizeCodeFileThreshold !== undefined) {
    if (repo.synchronizeCodeFileThreshold >= rules.synchronizeCodeFileThreshold)
      take('synchronizeCodeFileThreshold', repo.synchronizeCodeFileThreshold);
    else refuse('synchronize_code_file_threshold', 'lower than the server allows');
  }
  for (const [key, name] of [
    ['agentRuns', 'agent_runs'],
    ['includeCancelledChecks', 'include_cancelled_checks'],
  ] as const) {
    const value = repo[key];
    if (value === undefined) continue;
    if (value === false) take(key, false);
    else if (!rules[key]) refuse(name, 'turned off by the server');
  }
  if (repo.trustGate !== undefined) {
    if (repo.trustGate) take('trustGate', true);
    else if (rules.trustGate) refuse('trust_gate', 'the server requires it');
  }
  if (repo.trustLabel !== undefined) {
    if (repo.trustLabel === null) take('trustLabel', null);
    else if (repo.trustLabel !== rules.trustLabel)
      refuse(
        'trust_label',
        rules.trustLabel === null
          ? 'opting in by label is turned off by the server'
          : `only false (no opt-in) or the server's "${rules.trustLabel}"`,
      );
  }
  if (repo.skipLabels !== undefined) {
    const merged = [...rules.skipLabels];
    for (const label of repo.skipLabels) if (!merged.includes(label)) merged.push(label);
    take('skipLabels', merged);
  }
  if (repo.botAllowlist !== undefined) {
    const server = rules.botAllowlist;
    take(
      'botAllowlist',
      server.filter((b) => repo.botAllowlist?.includes(b)),
    );
    const extra = repo.botAllowlist.filter((b) => !server.includes(b));
    if (extra.length > 0) refuse('bot_allowlist', `${extra.join(', ')} not allowed by the server`);
  }
  for (const [key, name] of [
    ['maxRunsPerRepoPerDay', 'max_runs_per_repo_per_day'],
    ['maxRunsPerAuthorPerDay', 'max_runs_per_author_per_day'],
  ] as const) {
    const value = repo[key];
    if (value === undefined) continue;
    if (value <= rules[key]) take(key, value);
    else refuse(name, `above the server's ${rules[key]}`);
  }
  return { rules, sources, ignored };
}

/** What an analysis task is about, as far as the rules that can only be known in the worker go. */
export interface AnalysisFacts {
  /** The delivery's event type (`push`, `pull_request`, `check_run`, `check_suite`). */
  eventType: string;
  /** For a push: the branch pushed to. */
  pushBranch?: string | null;
  /** For a check failure: the check's or suite's conclusion, and which of the two it is. */
  check?: { scope: CheckScope; conclusion: string | null };
}

/** Where a rule's value was set, in words for a skip reason. */
function ruleOrigin(source: RuleSource): string {
  return source === 'repository file'
    ? `its ${REPOSITORY_RULES_PATH}`
    : source === 'server file'
      ? 'the server rules file'
      : 'the settings';
}

/**
 * Why an analysis task should end without doing its work under the effective (narrowed) rules,
 * or null to go on. Intake routes by the server's rules alone (it never calls GitHub), so the
 * keys a repository file narrows — `events`, `push_branches`, `include_cancelled_checks` — are
 * applied here, in the worker. The reason names the rule and where its value came from.
 */
export function analysisSkipReason(
  facts: AnalysisFacts,
  effective: RulesWithSources,
): string | null {
  const { rules, sources } = effective;
  if (
    (TASK_EVENTS as readonly string[]).includes(facts.eventType) &&
    !rules.events.includes(facts.eventType)
  )
    return `events: ${facts.eventType} events are turned off for this repository by ${ruleOrigin(sources.events)}`;
  if (
    facts.pushBranch !== undefined &&
    facts.pushBranch !== null &&
    rules.pushBranches !== null &&
    !rules.pushBranches.includes(facts.pushBranch)
  ) {
    const allowed =
      rules.pushBranches.length > 0 ? `only ${rules.pushBranches.join(', ')}` : 'none';
    return `push_branches: pushes to ${facts.pushBranch} are not analysed for this repository (${allowed}, set by ${ruleOrigin(sources.pushBranches)})`;
  }
  // A check without a conclusion was judged at intake; the analysis finds its runs itself.
  const check = facts.check;
  if (
    check &&
    check.conclusion !== null &&
    !isFailingConclusion(check.conclusion, check.scope, rules)
  ) {
    if (check.conclusion === 'cancelled')
      return `include_cancelled_checks: cancelled checks are turned off for this repository by ${ruleOrigin(sources.includeCancelledChecks)}`;
    return `${check.scope} conclusion ${check.conclusion} is not a failure`;
  }
  return null;
}
