const { moduleNameMapper } = require('./jest.config');
/** End-to-end suites: real apps, real PostgreSQL and Redis, HTTP fakes of GitHub and Codegen. */
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  roots: ['<rootDir>/test'],
  testRegex: '.*\\.e2e-spec\\.ts$',
  // The static deployment specs (test/deploy/deploy-*.e2e-spec.ts) need no PostgreSQL, Redis or
  // build: `npm run check:deploy` runs them (test/deploy/jest.static.config.js), once per `npm test`.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/deploy/deploy-[^/]*\\.e2e-spec\\.ts$'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  testEnvironment: 'node',
  moduleNameMapper,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFilesAfterEnv: [
    '<rootDir>/test/support/clean-database.ts',
    '<rootDir>/test/support/github-contract.ts',
  ],
  testTimeout: 60000,
  maxWorkers: 1,
  // Each file's wall time at the end of the run, slowest first.
  reporters: ['default', '<rootDir>/test/support/duration-reporter.js'],
};
