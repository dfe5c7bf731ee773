import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EffectiveRules, globToRegExp, RulesError, WorkflowRules } from './workflow-rules';

const BASE: EffectiveRules = {
  events: ['pull_request', 'check_run', 'check_suite', 'push'],
  pushBranches: null,
  synchronizeCodeFileThreshold: 3,
  agentRuns: true,
  skipLabels: ['no-agent'],
  botAllowlist: [],
  includeCancelledChecks: false,
  trustGate: true,
  trustLabel: 'agent:allow',
  maxRunsPerRepoPerDay: 50,
  maxRunsPerAuthorPerDay: 10,
};

function problems(yaml: string): string[] {
  try {
    WorkflowRules.fromYaml(yaml, BASE, 'rules.yml');
  } catch (error) {
    if (error instanceof RulesError) return error.problems;
    throw error;
  }
  return [];
}

describe('WorkflowRules', () => {
  it('applies defaults, then every matching repository entry in order', () => {
    const rules = WorkflowRules.fromYaml(
      `
defaults:
  synchronize_code_file_threshold: 5
  skip_labels: [no-agent, WIP]
repositories:
  - match: "octo/*"
    agent_runs: false
  - match: "octo/important-*"
    agent_runs: true
    push_branches: [main, release]
  - match: "other/**"
    events: [push]
`,
      BASE,
    );
    expect(rules.forRepository('octo/app')).toMatchObject({
      agentRuns: false,
      synchronizeCodeFileThreshold: 5,
      skipLabels: ['no-agent', 'wip'],
    });
    expect(rules.forRepository('octo/important-api')).toMatchObject({
      agentRuns: true,
      pushBranches: ['main', 'release'],
    });
    expect(rules.forRepository('OCTO/App').agentRuns).toBe(false);
    expect(rules.forRepository('other/x').events).toEqual(['push']);
    expect(rules.forRepository('elsewhere/x')).toEqual({
      ...BASE,
      synchronizeCodeFileThreshold: 5,
      skipLabels: ['no-agent', 'wip'],
    });
    expect(rules.forRepository(null).agentRuns).toBe(true);
  });

  it('an empty file changes nothing', () => {
    expect(WorkflowRules.fromYaml('', BASE).forRepository('a/b')).toEqual(BASE);
  });

  it('points at the line and column of each mistake', () => {
    const found = problems(`defaults:
  synchronize_code_file_threshold: lots
  agent_run: true
repositories:
  - match: "octo/*"
    events: [push, issues]
  - agent_runs: false
`);
    expect(found).toEqual([
      'rules.yml:2:36: synchronize_code_file_threshold must be a whole number ≥ 0',
      'rules.yml:3:3: unknown rule "agent_run" (known: events, push_branches, synchronize_code_file_threshold, agent_runs, skip_labels, bot_allowlist, include_cancelled_checks, trust_gate, trust_label, max_runs_per_repo_per_day, max_runs_per_author_per_day)',
      'rules.yml:6:13: events must be a list of pull_request, check_run, check_suite, push',
      'rules.yml:7:5: match must be a glob like "org/*" or "org/repo-*"',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const found = problems('defaults:\n  agent_runs: [true\n');
    expect(found[0]).toMatch(/^rules\.yml:\d+:\d+: /);
  });

  it('refuses an unknown top-level key and a non-mapping file', () => {
    expect(problems('repos: []')).toEqual([
      'rules.yml:1:1: unknown key "repos" (expected defaults or repositories)',
    ]);
    expect(problems('- a\n- b')[0]).toMatch(/must be a mapping/);
  });

  it('reads a file and names it in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const file = join(dir, 'rules.yml');
    writeFileSync(file, 'defaults:\n  agent_runs: nope\n');
    try {
      expect(() => WorkflowRules.fromFile(file, BASE)).toThrow(
        `${file}:2:15: agent_runs must be true or false`,
      );
      expect(() => WorkflowRules.fromFile(join(dir, 'missing.yml'), BASE)).toThrow(/cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns globs into anchored, case-insensitive patterns', () => {
    expect(globToRegExp('org/*').test('org/repo')).toBe(true);
    expect(globToRegExp('org/*').test('org/repo/extra')).toBe(false);
    expect(globToRegExp('org/**').test('org/a/b')).toBe(true);
    expect(globToRegExp('org/re?o').test('org/repo')).toBe(true);
    expect(globToRegExp('org/a.b').test('org/axb')).toBe(false);
  });
});
