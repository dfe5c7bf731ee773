const { moduleNameMapper } = require('./jest.config');
/** End-to-end suites: real apps, real PostgreSQL and Redis, HTTP fakes of GitHub and Codegen. */
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  roots: ['<rootDir>/test'],
  testRegex: '.*\\.e2e-spec\\.ts$',
  // Suites a check of `npm test` runs itself, so they run once per `npm test`: the static
  // deployment specs (`npm run check:deploy`, test/deploy/jest.static.config.js) and the two
  // monitoring suites (`npm run check:observability`, which also lints what they scraped).
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/deploy/deploy-[^/]*\\.e2e-spec\\.ts$',
    '<rootDir>/test/(observability|metrics-from-start)\\.e2e-spec\\.ts$',
  ],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  testEnvironment: 'node',
  moduleNameMapper,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Each worker's own database copy and Bull prefix (made by the global setup).
  setupFiles: ['<rootDir>/test/support/worker-scope.ts'],
  setupFilesAfterEnv: [
    '<rootDir>/test/support/clean-database.ts',
    '<rootDir>/test/support/github-contract.ts',
  ],
  testTimeout: 60000,
  // Two files at a time (E2E_WORKERS): most of an e2e file's time is spent waiting (on a fault's
  // freeze, a drain, a rate window, an app's boot), so a second file fills that time; each worker
  // has its own database and Bull prefix (test/support/worker-scope.ts). E2E_WORKERS=1 runs the
  // files one by one, as a file run alone always is.
  maxWorkers: Number(process.env.E2E_WORKERS ?? 2),
  // Every suite stops what it starts, and a failure to do so fails nothing here; but a socket or
  // timer a client library leaves behind must not keep the run (and CI) waiting after the last
  // result: Jest reports such handles ("did not exit one second after…") and then exits.
  forceExit: true,
  // Each file's wall time at the end of the run, slowest first.
  reporters: ['default', '<rootDir>/test/support/duration-reporter.js'],
};
