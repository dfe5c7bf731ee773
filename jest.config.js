/** Unit specs beside the code; end-to-end suites in test/ (see jest.e2e.config.js). */
// Libraries are reached through their index only; '@app/platform/tracing' is the one other entry.
const moduleNameMapper = {
  '^@app/platform/tracing$': '<rootDir>/libs/platform/src/observability/tracing',
  '^@app/(domain|platform|persistence|runtime|github|codegen)$': '<rootDir>/libs/$1/src',
};
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/scripts'],
  testRegex: '.*\\.spec\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  testEnvironment: 'node',
  moduleNameMapper,
  // Temporary folders land in one of the run's own, which must be empty at the end.
  globalSetup: '<rootDir>/test/support/tmp-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/tmp-global-teardown.ts',
  // The GitHub fake checks requests against GitHub's description; a test that breaks it fails.
  setupFilesAfterEnv: ['<rootDir>/test/support/github-contract.ts'],
  // Each file's wall time at the end of the run, slowest first.
  reporters: ['default', '<rootDir>/test/support/duration-reporter.js'],
};
module.exports.moduleNameMapper = moduleNameMapper;
