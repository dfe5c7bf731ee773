import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * The layer rules of eslint.config.mjs (README, Layout) fire: each case is a snippet linted with
 * the project's own config as if it were the named file. ESLint runs in a child process because
 * the config is an ES module, which Jest's module sandbox cannot load; type-aware rules are
 * switched off there, since only the import rule is under test.
 */

const ROOT = resolve(__dirname, '..');

interface Case {
  file: string;
  from: string;
}

const LINT = `
import { ESLint } from 'eslint';
const cases = JSON.parse(process.argv[1]);
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});
const out = [];
for (const c of cases) {
  const code = "import * as imported from '" + c.from + "';\\nexport const used = imported;\\n";
  const [result] = await eslint.lintText(code, { filePath: c.file });
  out.push(result.messages.map((m) => m.ruleId + ': ' + m.message));
}
process.stdout.write(JSON.stringify(out));
`;

function lint(cases: Case[]): string[][] {
  const stdout = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', LINT, JSON.stringify(cases)],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return JSON.parse(stdout) as string[][];
}

const DOMAIN_FILE = 'libs/domain/src/routing/route-event.ts';

const refused: Case[] = [
  // The domain imports no framework, database, queue, HTTP or telemetry package...
  ...[
    'typeorm',
    'typeorm/driver/postgres/PostgresDriver',
    'pg',
    'bull',
    'ioredis',
    'prom-client',
    '@opentelemetry/api',
    'winston',
    'cockatiel',
    '@nestjs/common',
    'express',
    'node:http',
  ].map((from) => ({ file: DOMAIN_FILE, from })),
  // ...and no lib of ours.
  ...['@app/platform', '@app/persistence', '@app/runtime', '@app/github', '@app/codegen'].map(
    (from) => ({ file: DOMAIN_FILE, from }),
  ),
  // The platform imports no lib of ours.
  { file: 'libs/platform/src/logging/json-logger.ts', from: '@app/domain' },
  { file: 'libs/platform/src/logging/json-logger.ts', from: '@app/persistence' },
  // Persistence sits below the runtime and the clients.
  { file: 'libs/persistence/src/tasks/task.repository.ts', from: '@app/runtime' },
  { file: 'libs/persistence/src/tasks/task.repository.ts', from: '@app/github' },
  // The clients import the platform only, never persistence, the domain or each other.
  { file: 'libs/github/src/github-client.ts', from: '@app/persistence' },
  { file: 'libs/github/src/github-client.ts', from: '@app/domain' },
  { file: 'libs/github/src/github-client.ts', from: '@app/codegen' },
  { file: 'libs/codegen/src/codegen-client.ts', from: '@app/github' },
  { file: 'libs/codegen/src/codegen-client.ts', from: '@app/runtime' },
  // No lib imports an app, or another lib by path.
  { file: 'libs/runtime/src/index.ts', from: '../../../apps/worker/src/worker.module' },
  { file: 'libs/github/src/index.ts', from: '../../platform/src/index' },
  // Nobody reaches inside a lib.
  { file: 'apps/worker/src/main.ts', from: '@app/persistence/tasks/task.repository' },
  { file: 'test/support/harness.ts', from: '@app/platform/logging/json-logger' },
];

const allowed: Case[] = [
  { file: DOMAIN_FILE, from: './payload-reader' },
  { file: DOMAIN_FILE, from: 'yaml' },
  { file: 'libs/platform/src/logging/json-logger.ts', from: 'winston' },
  { file: 'libs/persistence/src/tasks/task.repository.ts', from: '@app/domain' },
  { file: 'libs/persistence/src/tasks/task.repository.ts', from: '@app/platform' },
  { file: 'libs/runtime/src/index.ts', from: '@app/persistence' },
  { file: 'libs/github/src/github-client.ts', from: '@app/platform' },
  { file: 'libs/codegen/src/codegen-client.ts', from: '@app/platform' },
  { file: 'apps/worker/src/main.ts', from: '@app/runtime' },
  { file: 'apps/worker/src/listener/instrument.ts', from: '@app/platform/tracing' },
];

describe('library layers (eslint no-restricted-imports)', () => {
  // One child process for every case: starting ESLint is the slow part.
  let results: string[][];
  beforeAll(() => {
    results = lint([...refused, ...allowed]);
  }, 120_000);

  it.each(refused.map((c, i) => [c.file, c.from, i] as const))(
    '%s may not import %s',
    (_file, _from, i) => {
      expect(results[i]).toEqual([expect.stringMatching(/^no-restricted-imports: /)]);
    },
  );

  it.each(allowed.map((c, i) => [c.file, c.from, refused.length + i] as const))(
    '%s may import %s',
    (_file, _from, i) => {
      expect(results[i]).toEqual([]);
    },
  );
});
