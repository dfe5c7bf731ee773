import { analysisSkipReason, narrowRules, readRepositoryRulesFile } from './repository-rules';
import { EffectiveRules, WorkflowRules } from './workflow-rules';

const BASE: EffectiveRules = {
  events: ['pull_request', 'check_run', 'check_suite', 'push'],
  pushBranches: null,
  synchronizeCodeFileThreshold: 3,
  agentRuns: true,
  skipLabels: ['no-agent'],
  botAllowlist: ['renovate[bot]'],
  includeCancelledChecks: false,
  trustGate: true,
  trustLabel: 'agent:allow',
  maxRunsPerRepoPerDay: 50,
  maxRunsPerAuthorPerDay: 10,
};

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const file = (text: string) => readRepositoryRulesFile('abc', text.length, bytes(text));

describe('readRepositoryRulesFile', () => {
  it('reads a flat mapping of the RULES_FILE keys', () => {
    expect(file('agent_runs: false\nskip_labels: [WIP]\nmax_runs_per_repo_per_day: 5\n')).toEqual({
      status: 'valid',
      sha: 'abc',
      overrides: { agentRuns: false, skipLabels: ['wip'], maxRunsPerRepoPerDay: 5 },
    });
    expect(file('')).toEqual({ status: 'valid', sha: 'abc', overrides: {} });
  });

  it('refuses huge, binary, non-UTF-8 and non-YAML files with a reason, never a throw', () => {
    expect(readRepositoryRulesFile('s', 5_000_000, null)).toMatchObject({
      status: 'invalid',
      problem: expect.stringMatching(/larger than/),
    });
    expect(readRepositoryRulesFile('s', 4, new Uint8Array([0x89, 0x50, 0x00, 0x47]))).toMatchObject(
      { status: 'invalid', problem: 'file is binary' },
    );
    expect(readRepositoryRulesFile('s', 2, new Uint8Array([0xc3, 0x28]))).toMatchObject({
      status: 'invalid',
      problem: 'file is not UTF-8 text',
    });
    expect(file('agent_runs: [true\n')).toMatchObject({
      status: 'invalid',
      problem: expect.stringMatching(/^\.github\/webhook-orchestrator\.yml:\d+:\d+: /),
    });
    expect(file('- a\n- b\n')).toMatchObject({ status: 'invalid' });
    expect(file('agent_runs: maybe\n')).toMatchObject({
      status: 'invalid',
      problem: '.github/webhook-orchestrator.yml:1:13: agent_runs must be true or false',
    });
    expect(file('match: "*"\n')).toMatchObject({ status: 'invalid' });
  });
});

describe('narrowRules', () => {
  const server = new WorkflowRules(BASE).withSources('octo/app');

  it('applies narrowing values and says where each value came from', () => {
    const { rules, sources, ignored } = narrowRules(server, {
      agentRuns: false,
      events: ['pull_request'],
      skipLabels: ['wip'],
      maxRunsPerRepoPerDay: 5,
      synchronizeCodeFileThreshold: 10,
      trustLabel: null,
    });
    expect(rules).toMatchObject({
      agentRuns: false,
      events: ['pull_request'],
      skipLabels: ['no-agent', 'wip'],
      maxRunsPerRepoPerDay: 5,
      maxRunsPerAuthorPerDay: 10,
      synchronizeCodeFileThreshold: 10,
      trustLabel: null,
    });
    expect(sources).toMatchObject({
      agentRuns: 'repository file',
      events: 'repository file',
      maxRunsPerRepoPerDay: 'repository file',
      maxRunsPerAuthorPerDay: 'default',
      trustGate: 'default',
    });
    expect(ignored).toEqual([]);
  });

  it('never widens: what the server turned off or capped stays so', () => {
    const strict = new WorkflowRules({
      ...BASE,
      agentRuns: false,
      events: ['pull_request'],
      pushBranches: ['main'],
    }).withSources('octo/app');
    const { rules, ignored } = narrowRules(strict, {
      agentRuns: true,
      events: ['pull_request', 'push'],
      pushBranches: ['main', 'release'],
      maxRunsPerRepoPerDay: 500,
      maxRunsPerAuthorPerDay: 11,
      trustGate: false,
      trustLabel: 'anyone-may-add-this',
      botAllowlist: ['renovate[bot]', 'evil[bot]'],
      synchronizeCodeFileThreshold: 0,
      includeCancelledChecks: true,
    });
    expect(rules).toEqual({
      ...BASE,
      agentRuns: false,
      events: ['pull_request'],
      pushBranches: ['main'],
    });
    expect(ignored).toEqual([
      'events: push turned off by the server',
      'push_branches: release not allowed by the server',
      'synchronize_code_file_threshold: lower than the server allows',
      'agent_runs: turned off by the server',
      'include_cancelled_checks: turned off by the server',
      'trust_gate: the server requires it',
      `trust_label: only false (no opt-in) or the server's "agent:allow"`,
      'bot_allowlist: evil[bot] not allowed by the server',
      "max_runs_per_repo_per_day: above the server's 50",
      "max_runs_per_author_per_day: above the server's 10",
    ]);
  });

  it('names the server file as the source of what it set', () => {
    const fromFile = WorkflowRules.fromYaml(
      'repositories:\n  - match: "octo/*"\n    max_runs_per_repo_per_day: 20\n',
      BASE,
    ).withSources('octo/app');
    expect(fromFile.sources.maxRunsPerRepoPerDay).toBe('server file');
    const narrowed = narrowRules(fromFile, { maxRunsPerRepoPerDay: 30 });
    expect(narrowed.rules.maxRunsPerRepoPerDay).toBe(20);
    expect(narrowed.sources.maxRunsPerRepoPerDay).toBe('server file');
  });
});

describe('analysisSkipReason', () => {
  const serverOn = new WorkflowRules({
    ...BASE,
    pushBranches: ['main', 'release'],
    includeCancelledChecks: true,
  }).withSources('octo/app');
  const cancelledRun = { scope: 'check_run', conclusion: 'cancelled' } as const;

  it('applies what a repository file narrowed, naming the rule and the file', () => {
    const narrowed = narrowRules(serverOn, {
      pushBranches: ['main'],
      includeCancelledChecks: false,
      events: ['pull_request', 'check_run', 'check_suite'],
    });
    expect(analysisSkipReason({ eventType: 'push', pushBranch: 'release' }, narrowed)).toBe(
      'events: push events are turned off for this repository by its .github/webhook-orchestrator.yml',
    );
    const pushes = narrowRules(serverOn, { pushBranches: ['main'] });
    expect(analysisSkipReason({ eventType: 'push', pushBranch: 'release' }, pushes)).toBe(
      'push_branches: pushes to release are not analysed for this repository (only main, set by its .github/webhook-orchestrator.yml)',
    );
    expect(analysisSkipReason({ eventType: 'push', pushBranch: 'main' }, pushes)).toBeNull();
    expect(analysisSkipReason({ eventType: 'check_run', check: cancelledRun }, narrowed)).toBe(
      'include_cancelled_checks: cancelled checks are turned off for this repository by its .github/webhook-orchestrator.yml',
    );
    expect(
      analysisSkipReason(
        { eventType: 'check_suite', check: { scope: 'check_suite', conclusion: 'failure' } },
        narrowed,
      ),
    ).toBeNull();
  });

  it('an empty push_branches list analyses no push; the server default (null) is left to intake', () => {
    const none = narrowRules(new WorkflowRules(BASE).withSources('octo/app'), { pushBranches: [] });
    expect(analysisSkipReason({ eventType: 'push', pushBranch: 'main' }, none)).toMatch(
      /^push_branches: pushes to main are not analysed .* \(none, set by its \.github\/webhook-orchestrator\.yml\)$/,
    );
    const server = narrowRules(new WorkflowRules(BASE).withSources('octo/app'), {});
    expect(analysisSkipReason({ eventType: 'push', pushBranch: 'main' }, server)).toBeNull();
  });

  it('a file cannot turn on what the server turned off', () => {
    const serverOff = new WorkflowRules({
      ...BASE,
      events: ['pull_request'],
      pushBranches: ['main'],
    }).withSources('octo/app');
    const widened = narrowRules(serverOff, {
      includeCancelledChecks: true,
      pushBranches: ['main', 'release'],
      events: ['pull_request', 'push'],
    });
    expect(widened.ignored).toHaveLength(3);
    expect(analysisSkipReason({ eventType: 'check_run', check: cancelledRun }, widened)).toMatch(
      /^events: check_run events are turned off for this repository by the settings$/,
    );
    const pushAllowed = narrowRules(
      new WorkflowRules({ ...BASE, pushBranches: ['main'] }).withSources('octo/app'),
      { includeCancelledChecks: true, pushBranches: ['main', 'release'] },
    );
    expect(analysisSkipReason({ eventType: 'push', pushBranch: 'release' }, pushAllowed)).toBe(
      'push_branches: pushes to release are not analysed for this repository (only main, set by the settings)',
    );
    expect(analysisSkipReason({ eventType: 'check_run', check: cancelledRun }, pushAllowed)).toBe(
      'include_cancelled_checks: cancelled checks are turned off for this repository by the settings',
    );
  });

  it('a check without a conclusion is not judged here', () => {
    const narrowed = narrowRules(serverOn, { includeCancelledChecks: false });
    expect(
      analysisSkipReason(
        { eventType: 'check_suite', check: { scope: 'check_suite', conclusion: null } },
        narrowed,
      ),
    ).toBeNull();
  });
});
