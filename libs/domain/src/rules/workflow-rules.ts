import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';

/** The rules in force for one repository. */
export interface EffectiveRules {
  /** Event types that create tasks (others are stored and ignored). */
  events: string[];
  /** Branches whose pushes are analysed; null = the repository's default branch. */
  pushBranches: string[] | null;
  synchronizeCodeFileThreshold: number;
  /** May agent runs start at all for this repository? */
  agentRuns: boolean;
  /** Any of these labels on a PR turns agent runs off for it. */
  skipLabels: string[];
  /** Bot logins whose events may start agent runs. */
  botAllowlist: string[];
  includeCancelledChecks: boolean;
  /** Only PRs from the base repository by OWNER/MEMBER/COLLABORATOR start agent runs. */
  trustGate: boolean;
  /** A PR carrying this label is opted in past the trust gate; null = no opt-in by label. */
  trustLabel: string | null;
  /** Agent runs per repository per UTC day. */
  maxRunsPerRepoPerDay: number;
  /** Agent runs per pull-request author per UTC day. */
  maxRunsPerAuthorPerDay: number;
}

export const TASK_EVENTS = ['pull_request', 'check_run', 'check_suite', 'push'] as const;

/** Values a rules file (or one of its entries) sets; absent keys leave the value alone. */
export type RuleOverrides = Partial<EffectiveRules>;

/** Where a rule's value came from. */
export type RuleSource = 'default' | 'server file' | 'repository file';

/** Effective rules and, per rule, where its value came from. */
export interface RulesWithSources {
  rules: EffectiveRules;
  sources: Record<keyof EffectiveRules, RuleSource>;
}

export class RulesError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid workflow rules:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RulesError';
  }
}

const KEYS: Record<string, keyof EffectiveRules> = {
  events: 'events',
  push_branches: 'pushBranches',
  synchronize_code_file_threshold: 'synchronizeCodeFileThreshold',
  agent_runs: 'agentRuns',
  skip_labels: 'skipLabels',
  bot_allowlist: 'botAllowlist',
  include_cancelled_checks: 'includeCancelledChecks',
  trust_gate: 'trustGate',
  trust_label: 'trustLabel',
  max_runs_per_repo_per_day: 'maxRunsPerRepoPerDay',
  max_runs_per_author_per_day: 'maxRunsPerAuthorPerDay',
};

/** The rule names a file may use, in their file spelling. */
export const RULE_KEYS: readonly string[] = Object.keys(KEYS);

/**
 * Per-repository workflow rules: defaults from the settings, overridden by an optional YAML file
 * (`defaults:` then `repositories:` entries whose `match` glob fits, later entries winning).
 * Lookups are cached per repository, so the intake path pays one Map read.
 */
export class WorkflowRules {
  private readonly cache = new Map<string, EffectiveRules>();

  constructor(
    private readonly base: EffectiveRules,
    private readonly entries: Array<{
      pattern: RegExp;
      source: string;
      overrides: RuleOverrides;
    }> = [],
    readonly sourceFile: string | null = null,
    /** The file's `defaults:` section, kept apart so a value's source can be told. */
    private readonly fileDefaults: RuleOverrides = {},
  ) {}

  forRepository(repository: string | null): EffectiveRules {
    const key = repository ?? '';
    const cached = this.cache.get(key);
    if (cached) return cached;
    let rules = { ...this.base, ...this.fileDefaults };
    for (const entry of this.entries) {
      if (repository !== null && entry.pattern.test(repository))
        rules = { ...rules, ...entry.overrides };
    }
    if (this.cache.size < 10_000) this.cache.set(key, rules);
    return rules;
  }

  /** The rules for a repository, each with its source: the settings' default or the server file. */
  withSources(repository: string | null): RulesWithSources {
    const rules = this.forRepository(repository);
    const fromFile = new Set<string>(Object.keys(this.fileDefaults));
    for (const entry of this.entries) {
      if (repository !== null && entry.pattern.test(repository))
        for (const k of Object.keys(entry.overrides)) fromFile.add(k);
    }
    const sources = {} as Record<keyof EffectiveRules, RuleSource>;
    for (const k of Object.keys(rules) as Array<keyof EffectiveRules>)
      sources[k] = fromFile.has(k) ? 'server file' : 'default';
    return { rules, sources };
  }

  /** Reads and validates a rules file; every problem names its line and column. */
  static fromFile(path: string, base: EffectiveRules): WorkflowRules {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new RulesError([`cannot read ${path}: ${(error as Error).message}`]);
    }
    return WorkflowRules.fromYaml(text, base, path);
  }

  static fromYaml(text: string, base: EffectiveRules, source = 'rules'): WorkflowRules {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
    const at = (node: YamlNode | null | undefined): string => {
      const offset = node?.range?.[0];
      if (offset === undefined) return source;
      const pos = lines.linePos(offset);
      return `${source}:${pos.line}:${pos.col}`;
    };
    const problems: string[] = doc.errors.map(
      (e) =>
        `${source}:${e.linePos?.[0].line ?? '?'}:${e.linePos?.[0].col ?? '?'}: ${e.message.split('\n')[0]}`,
    );
    if (problems.length > 0) throw new RulesError(problems);
    const root = doc.contents;
    if (root === null) return new WorkflowRules(base, [], source);
    if (!isMap(root))
      throw new RulesError([
        `${at(root)}: the file must be a mapping with defaults and repositories`,
      ]);

    let defaults: RuleOverrides = {};
    const entries: Array<{ pattern: RegExp; source: string; overrides: RuleOverrides }> = [];
    for (const pair of root.items) {
      const key = scalarKey(pair.key);
      const value = pair.value as YamlNode | null;
      if (key === 'defaults') {
        if (!isMap(value)) problems.push(`${at(value)}: defaults must be a mapping`);
        else defaults = readOverrides(value, at, problems);
      } else if (key === 'repositories') {
        if (!isSeq(value)) {
          problems.push(`${at(value)}: repositories must be a list`);
          continue;
        }
        for (const item of value.items as YamlNode[]) {
          if (!isMap(item)) {
            problems.push(`${at(item)}: each repository entry must be a mapping with match`);
            continue;
          }
          const matchNode = item.items.find(
            (p) => (p.key as { value?: unknown })?.value === 'match',
          );
          const pattern = (matchNode?.value as { value?: unknown } | undefined)?.value;
          if (typeof pattern !== 'string' || !/^[A-Za-z0-9_.*?\-/]+$/.test(pattern)) {
            problems.push(
              `${at((matchNode?.value as YamlNode) ?? item)}: match must be a glob like "org/*" or "org/repo-*"`,
            );
            continue;
          }
          const overrides = readOverrides(item, at, problems, ['match']);
          entries.push({ pattern: globToRegExp(pattern), source: at(item), overrides });
        }
      } else {
        problems.push(`${at(pair.key)}: unknown key "${key}" (expected defaults or repositories)`);
      }
    }
    if (problems.length > 0) throw new RulesError(problems);
    return new WorkflowRules(base, entries, source, defaults);
  }
}

/**
 * A flat mapping of rules, as in one `repositories:` entry without `match` (the shape of a
 * repository's own rules file). Throws RulesError naming each problem's line and column.
 */
export function parseRuleOverrides(text: string, source: string): RuleOverrides {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const at = (node: YamlNode | null | undefined): string => {
    const offset = node?.range?.[0];
    if (offset === undefined) return source;
    const pos = lines.linePos(offset);
    return `${source}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length > 0)
    throw new RulesError(
      doc.errors.map(
        (e) =>
          `${source}:${e.linePos?.[0].line ?? '?'}:${e.linePos?.[0].col ?? '?'}: ${e.message.split('\n')[0]}`,
      ),
    );
  const root = doc.contents;
  if (root === null) return {};
  if (!isMap(root)) throw new RulesError([`${at(root)}: the file must be a mapping of rules`]);
  const problems: string[] = [];
  const overrides = readOverrides(root, at, problems);
  if (problems.length > 0) throw new RulesError(problems);
  return overrides;
}

function readOverrides(
  map: { items: Array<{ key: unknown; value: unknown }> },
  at: (node: YamlNode | null | undefined) => string,
  problems: string[],
  skip: string[] = [],
): RuleOverrides {
  const out: RuleOverrides = {};
  for (const pair of map.items) {
    const name = scalarKey(pair.key);
    if (skip.includes(name)) continue;
    const field = KEYS[name];
    const node = pair.value as YamlNode | null;
    const where = at(node ?? (pair.key as YamlNode));
    if (!field) {
      problems.push(
        `${at(pair.key as YamlNode)}: unknown rule "${name}" (known: ${Object.keys(KEYS).join(', ')})`,
      );
      continue;
    }
    const value: unknown =
      node && 'toJSON' in node ? (node as { toJSON(): unknown }).toJSON() : null;
    switch (field) {
      case 'events': {
        const list = stringList(value);
        const bad = list?.filter((e) => !(TASK_EVENTS as readonly string[]).includes(e));
        if (!list || (bad && bad.length > 0))
          problems.push(`${where}: events must be a list of ${TASK_EVENTS.join(', ')}`);
        else out.events = list;
        break;
      }
      case 'pushBranches': {
        const list = stringList(value);
        if (!list) problems.push(`${where}: push_branches must be a list of branch names`);
        else out.pushBranches = list;
        break;
      }
      case 'skipLabels':
      case 'botAllowlist': {
        const list = stringList(value);
        if (!list) problems.push(`${where}: ${name} must be a list of strings`);
        else out[field] = list.map((s) => s.toLowerCase());
        break;
      }
      case 'synchronizeCodeFileThreshold':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          problems.push(`${where}: synchronize_code_file_threshold must be a whole number ≥ 0`);
        } else out.synchronizeCodeFileThreshold = value;
        break;
      case 'agentRuns':
      case 'includeCancelledChecks':
      case 'trustGate':
        if (typeof value !== 'boolean') problems.push(`${where}: ${name} must be true or false`);
        else out[field] = value;
        break;
      case 'trustLabel':
        // false (or null) turns the opt-in label off.
        if (value === false || value === null) out.trustLabel = null;
        else if (typeof value !== 'string' || !isLabelName(value))
          problems.push(`${where}: trust_label must be a label name (1-50 characters) or false`);
        else out.trustLabel = value.toLowerCase();
        break;
      case 'maxRunsPerRepoPerDay':
      case 'maxRunsPerAuthorPerDay':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 100_000)
          problems.push(`${where}: ${name} must be a whole number from 0 to 100000`);
        else out[field] = value;
        break;
    }
  }
  return out;
}

/** A GitHub label name: 1-50 characters, no control characters. */
export function isLabelName(value: string): boolean {
  return (
    value.trim().length > 0 &&
    value.length <= 50 &&
    [...value].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f)
  );
}

function stringList(value: unknown): string[] | null {
  if (
    !Array.isArray(value) ||
    !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 255)
  )
    return null;
  return value as string[];
}

/** `*` matches within one path segment, `**` across segments, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

/** A mapping key as text; non-scalar keys (a YAML oddity) read as empty and are refused. */
function scalarKey(key: unknown): string {
  const value = (key as { value?: unknown } | null)?.value;
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}
