/** Unit specs beside the code; end-to-end suites in test/ (see jest.e2e.config.js). */
const moduleNameMapper = {
  '^@app/domain(|/.*)$': '<rootDir>/libs/domain/src$1',
  '^@app/github(|/.*)$': '<rootDir>/libs/github/src$1',
  '^@app/codegen(|/.*)$': '<rootDir>/libs/codegen/src$1',
};
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/scripts'],
  testRegex: '.*\\.spec\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  testEnvironment: 'node',
  moduleNameMapper,
};
module.exports.moduleNameMapper = moduleNameMapper;
