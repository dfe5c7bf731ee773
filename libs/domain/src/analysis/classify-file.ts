/** What a changed file is, for deciding whether a change deserves an agent run. */
export type FileCategory = 'test' | 'config' | 'code' | 'docs' | 'other';

/** Directory names whose contents are tests wherever they sit in the path. */
const TEST_DIRECTORIES = new Set(['test', 'tests', '__tests__', 'spec', 'specs', 'e2e']);

/** File-name shapes of tests across the common ecosystems. Matched on the base name. */
const TEST_FILE_PATTERNS: readonly RegExp[] = [
  /^test_.+\.py$/i, // pytest
  /^.+_test\.py$/i,
  /^conftest\.py$/i,
  /^.+_test\.go$/i,
  /^.+\.(?:test|spec|e2e-spec)\.(?:[cm]?[jt]sx?)$/i, // jest, vitest, mocha, Nest e2e
  /^.+_(?:spec|test)\.rb$/i,
  /^.+Tests?\.(?:java|kt|cs|php|swift|scala)$/, // JUnit, xUnit, PHPUnit, XCTest: case matters
  /^.+IT\.(?:java|kt)$/, // Failsafe integration tests
  /^.+_test\.(?:exs|dart|rs)$/i,
];

/** Config files known by their exact (lower-cased) name. */
const CONFIG_NAMES = new Set([
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'tsconfig.json',
  'jsconfig.json',
  'config.json',
  'composer.json',
  'composer.lock',
  'dockerfile',
  'containerfile',
  'makefile',
  'procfile',
  'gemfile',
  'gemfile.lock',
  'pipfile',
  'pipfile.lock',
  'requirements.txt',
  'go.mod',
  'go.sum',
  'cargo.lock',
  '.env.example',
  '.env',
  '.gitignore',
  '.gitattributes',
  '.dockerignore',
  '.editorconfig',
  '.npmrc',
  '.nvmrc',
  '.node-version',
  '.python-version',
  '.tool-versions',
  'codeowners',
]);

/** Config shapes known by name pattern: `tsconfig.build.json`, `.eslintrc.json`, `jest.config.ts`. */
const CONFIG_NAME_PATTERNS: readonly RegExp[] = [
  /^tsconfig\..+\.json$/i,
  /^\.[a-z0-9-]+rc(?:\.(?:json|js|cjs|mjs|ya?ml))?$/i,
  /^.+\.config\.(?:[cm]?[jt]s|json)$/i,
  /^dockerfile\..+$/i,
  /^.+\.dockerfile$/i,
  /^requirements[-_.].+\.txt$/i,
  /^\.env\.[a-z0-9_-]+$/i, // .env.local, .env.production
];

const CONFIG_EXTENSIONS = new Set([
  'yml',
  'yaml',
  'toml',
  'ini',
  'cfg',
  'conf',
  'properties',
  'gradle',
  'lock',
  'tf',
  'tfvars',
  'hcl',
]);

const CODE_EXTENSIONS = new Set([
  'py',
  'pyi',
  'ts',
  'tsx',
  'mts',
  'cts',
  'js',
  'jsx',
  'mjs',
  'cjs',
  'go',
  'rs',
  'java',
  'kt',
  'kts',
  'rb',
  'php',
  'cs',
  'fs',
  'c',
  'h',
  'cc',
  'cpp',
  'cxx',
  'hpp',
  'hh',
  'm',
  'mm',
  'swift',
  'scala',
  'sc',
  'sh',
  'bash',
  'zsh',
  'ps1',
  'dart',
  'ex',
  'exs',
  'erl',
  'hs',
  'lua',
  'pl',
  'pm',
  'r',
  'sql',
  'vue',
  'svelte',
  'clj',
  'groovy',
  'zig',
]);

const DOCS_EXTENSIONS = new Set(['md', 'markdown', 'mdx', 'rst', 'txt', 'adoc', 'asciidoc']);
const DOCS_NAMES = new Set([
  'readme',
  'license',
  'licence',
  'changelog',
  'contributing',
  'authors',
  'notice',
]);

/**
 * Classifies a repository path. Order matters: test by path first (a fixture under `tests/` is a
 * test change), then config, then code, then docs. Extensions match exactly, never by substring:
 * `main.pyc` is not code and `config.jsonx` is not config.
 */
export function classifyFile(path: string): FileCategory {
  if (typeof path !== 'string' || path.length === 0) return 'other';
  const segments = path.replace(/\\/g, '/').split('/');
  const name = segments[segments.length - 1];
  if (name.length === 0) return 'other';
  const lowerName = name.toLowerCase();
  const directories = segments.slice(0, -1).map((s) => s.toLowerCase());

  if (directories.some((d) => TEST_DIRECTORIES.has(d))) return 'test';
  if (TEST_FILE_PATTERNS.some((p) => p.test(name))) return 'test';

  const dot = lowerName.lastIndexOf('.');
  // A leading dot starts a hidden name, not an extension (`.gitignore`).
  const extension = dot > 0 ? lowerName.slice(dot + 1) : '';

  if (CONFIG_NAMES.has(lowerName)) return 'config';
  if (CONFIG_NAME_PATTERNS.some((p) => p.test(name))) return 'config';
  if (CONFIG_EXTENSIONS.has(extension)) return 'config';
  if (CODE_EXTENSIONS.has(extension)) return 'code';
  if (DOCS_EXTENSIONS.has(extension)) return 'docs';
  if (DOCS_NAMES.has(dot > 0 ? lowerName.slice(0, dot) : lowerName)) return 'docs';
  return 'other';
}
