import { EnvReader } from '@app/platform';
import { EffectiveRules, isLabelName, RulesError, WorkflowRules } from '@app/domain';

/**
 * The workflow rules from settings plus the optional RULES_FILE. A bad file becomes a start-up
 * problem that names its line, like any bad setting.
 */
export function readWorkflowRules(
  env: EnvReader,
  base: Omit<EffectiveRules, 'events' | 'pushBranches'>,
): WorkflowRules {
  const defaults: EffectiveRules = {
    events: ['pull_request', 'check_run', 'check_suite', 'push'],
    pushBranches: null,
    ...base,
  };
  const file = env.optionalString('RULES_FILE');
  if (!file) return new WorkflowRules(defaults);
  try {
    return WorkflowRules.fromFile(file, defaults);
  } catch (error) {
    if (error instanceof RulesError) {
      for (const problem of error.problems) env.problem(`RULES_FILE: ${problem}`);
      return new WorkflowRules(defaults);
    }
    throw error;
  }
}

/** AGENT_TRUST_LABEL: the opt-in label (default `agent:allow`); `trust_label: false` in the
 * rules file turns the opt-in off. */
function readTrustLabel(env: EnvReader): string | null {
  const raw = env.raw('AGENT_TRUST_LABEL');
  if (raw === undefined) return 'agent:allow';
  if (!isLabelName(raw)) {
    env.problem('AGENT_TRUST_LABEL must be a label name of at most 50 characters');
    return null;
  }
  return raw.toLowerCase();
}

/** The rules both apps share, from CHECK_INCLUDE_CANCELLED, SYNCHRONIZE_CODE_FILE_THRESHOLD,
 * AGENT_SKIP_LABEL, AGENT_BOT_ALLOWLIST, the agent trust and budget settings and RULES_FILE, so
 * orchestrator and worker agree. */
export function readWorkflowRulesFromSettings(env: EnvReader): WorkflowRules {
  return readWorkflowRules(env, {
    includeCancelledChecks: env.bool('CHECK_INCLUDE_CANCELLED', false),
    synchronizeCodeFileThreshold: env.int('SYNCHRONIZE_CODE_FILE_THRESHOLD', 3, 0, 10_000),
    agentRuns: env.bool('AGENT_RUNS_ENABLED', true),
    skipLabels: [env.string('AGENT_SKIP_LABEL', 'no-agent').toLowerCase()],
    botAllowlist: (env.optionalString('AGENT_BOT_ALLOWLIST') ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s.length > 0),
    trustGate: env.bool('AGENT_TRUST_GATE', true),
    trustLabel: readTrustLabel(env),
    maxRunsPerRepoPerDay: env.int('AGENT_MAX_RUNS_PER_REPO_PER_DAY', 50, 0, 100_000),
    maxRunsPerAuthorPerDay: env.int('AGENT_MAX_RUNS_PER_AUTHOR_PER_DAY', 10, 0, 100_000),
  });
}
