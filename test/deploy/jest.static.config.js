const { moduleNameMapper } = require('../../jest.config');
/**
 * The static deployment checks (test/deploy/deploy-*.e2e-spec.ts) without the e2e global setup:
 * they read files and run local tools, and need no PostgreSQL or Redis. Used by
 * scripts/check-deploy.sh (`npm run check:deploy`, part of `npm test`); `npm run test:e2e` leaves them
 * to it.
 */
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '../..',
  roots: ['<rootDir>/test/deploy'],
  testRegex: 'deploy-[^/]*\\.e2e-spec\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  testEnvironment: 'node',
  moduleNameMapper,
  // Temporary folders land in one of the run's own, which must be empty at the end.
  globalSetup: '<rootDir>/test/support/tmp-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/tmp-global-teardown.ts',
  testTimeout: 120000,
};
