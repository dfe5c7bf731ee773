import { isFailingConclusion } from '../checks/failing-check';
import { capText } from '../routing/payload-reader';

/** The kind of work a failing check asks for. */
export type CheckCategory = 'test' | 'lint' | 'build' | 'other';

/** Categories an agent can act on; a lone `other` failure (deploy, coverage upload) is not. */
const FIXABLE: ReadonlySet<CheckCategory> = new Set(['test', 'lint', 'build']);
const CATEGORY_ORDER: readonly CheckCategory[] = ['test', 'lint', 'build', 'other'];

/**
 * Keywords matched against whole words of a check name (and joined neighbours, so "Type check"
 * reads as "typecheck"). Whole words, not substrings: "inspect" is no spec, "community" no unit.
 * First match wins in this order, so "build-and-test" is a test check.
 */
const KEYWORDS: ReadonlyArray<[CheckCategory, ReadonlySet<string>]> = [
  [
    'test',
    new Set([
      'test',
      'tests',
      'testing',
      'unittest',
      'unittests',
      'jest',
      'vitest',
      'pytest',
      'spec',
      'specs',
      'rspec',
      'unit',
      'e2e',
      'integration',
      'mocha',
      'cypress',
      'playwright',
      'karma',
      'junit',
      'phpunit',
      'tox',
    ]),
  ],
  [
    'lint',
    new Set([
      'lint',
      'lints',
      'linter',
      'linting',
      'eslint',
      'tslint',
      'stylelint',
      'flake8',
      'pylint',
      'prettier',
      'format',
      'formatter',
      'formatting',
      'fmt',
      'gofmt',
      'style',
      'codestyle',
      'checkstyle',
      'ruff',
      'black',
      'isort',
      'clippy',
      'rubocop',
      'golangci',
      'shellcheck',
      'precommit',
      'spotless',
    ]),
  ],
  [
    'build',
    new Set([
      'build',
      'builds',
      'building',
      'compile',
      'compiler',
      'compilation',
      'tsc',
      'typecheck',
      'typescript',
      'webpack',
      'vite',
      'rollup',
      'esbuild',
      'docker',
      'dockerfile',
      'bundle',
      'make',
      'cmake',
      'gradle',
      'maven',
      'mvn',
      'mypy',
    ]),
  ],
];

const MAX_CHECKS = 100;
const MAX_NAME_LENGTH = 200;

/** One check and its conclusion, as reported by GitHub. */
export interface CheckConclusionInput {
  name: string;
  conclusion: string | null;
}

/** Input of {@link analyzeCheckFailure}. */
export interface CheckFailureAnalysisInput {
  checkNames: CheckConclusionInput[];
  /** `include_cancelled_checks` of the repository's rules: the routing and the analysis agree. */
  includeCancelledChecks: boolean;
}

/** A failing check with its category. */
export interface FailedCheck {
  name: string;
  conclusion: string | null;
  category: CheckCategory;
}

/** Which kinds of failure a set of checks shows, and whether an agent should fix them. */
export interface CheckFailureAnalysis {
  /** Distinct categories of the failing checks, in the order test, lint, build, other. */
  categories: CheckCategory[];
  /** At most 100 failing checks, in input order. */
  failedChecks: FailedCheck[];
  shouldTriggerAgent: boolean;
  reasons: string[];
}

/** Categorises a check by the words in its name ("CI / Unit tests (node 20)" → test). */
export function categorizeCheckName(name: string): CheckCategory {
  const words = nameWords(name);
  for (const [category, keywords] of KEYWORDS) {
    if (words.some((word) => keywords.has(word))) return category;
  }
  return 'other';
}

/**
 * Picks the failing checks out of a run or suite, categorises them by name and decides whether an
 * agent run is worth it: yes when at least one failure is a test, lint or build failure.
 */
export function analyzeCheckFailure(input: CheckFailureAnalysisInput): CheckFailureAnalysis {
  const rules = { includeCancelledChecks: input.includeCancelledChecks === true };
  const checks: unknown[] = Array.isArray(input.checkNames) ? input.checkNames : [];
  const failedChecks: FailedCheck[] = [];
  let failedTotal = 0;
  for (const entry of checks) {
    const check = entry as Partial<Record<keyof CheckConclusionInput, unknown>> | null;
    if (typeof check !== 'object' || check === null || typeof check.name !== 'string') continue;
    const conclusion = typeof check.conclusion === 'string' ? check.conclusion : null;
    if (!isFailingConclusion(conclusion, 'check_run', rules)) continue;
    failedTotal += 1;
    if (failedChecks.length >= MAX_CHECKS) continue;
    failedChecks.push({
      name: capText(check.name, MAX_NAME_LENGTH),
      conclusion,
      category: categorizeCheckName(check.name),
    });
  }

  const present = new Set(failedChecks.map((c) => c.category));
  const categories = CATEGORY_ORDER.filter((c) => present.has(c));
  if (failedTotal === 0) {
    return { categories, failedChecks, shouldTriggerAgent: false, reasons: ['no failing checks'] };
  }

  const summary = categories
    .map((category) => `${failedChecks.filter((c) => c.category === category).length} ${category}`)
    .join(', ');
  const reasons = [`${failedTotal} failing check${failedTotal === 1 ? '' : 's'} (${summary})`];
  const shouldTriggerAgent = categories.some((c) => FIXABLE.has(c));
  if (!shouldTriggerAgent) {
    reasons.push('no failing check is a test, lint or build check');
  }
  return { categories, failedChecks, shouldTriggerAgent, reasons };
}

/** Lower-cased words of a name, split on punctuation and camelCase, plus joined neighbours. */
function nameWords(name: string): string[] {
  if (typeof name !== 'string') return [];
  const text = name.slice(0, MAX_NAME_LENGTH);
  const plain = text.toLowerCase().split(/[^a-z0-9]+/);
  const camel = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  const parts = camel.filter((w) => w.length > 0);
  const words = [...plain.filter((w) => w.length > 0), ...parts];
  const joined = parts.slice(1).map((word, i) => parts[i] + word);
  return [...words, ...joined];
}
