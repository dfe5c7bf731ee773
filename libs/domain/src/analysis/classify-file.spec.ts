import { classifyFile } from './classify-file';

describe('classifyFile', () => {
  it('classifies the four reference examples', () => {
    expect(classifyFile('tests/test_main.py')).toBe('test');
    expect(classifyFile('config.json')).toBe('config');
    expect(classifyFile('package.json')).toBe('config');
    expect(classifyFile('src/main.py')).toBe('code');
  });

  it('matches extensions exactly, never as substrings', () => {
    expect(classifyFile('main.pyc')).toBe('other');
    expect(classifyFile('src/config.jsonx')).toBe('other');
    expect(classifyFile('src/app.tsx.orig')).toBe('other');
    expect(classifyFile('notes.mdown')).toBe('other');
    expect(classifyFile('src/data.json')).toBe('other');
  });

  it.each([
    'test/app.e2e-spec.ts',
    'tests/fixtures/package.json',
    'src/__tests__/button.tsx',
    'spec/models/user_spec.rb',
    'pkg/server/handler_test.go',
    'app/test_views.py',
    'app/views_test.py',
    'conftest.py',
    'src/user.service.spec.ts',
    'src/util.test.js',
    'web/Button.test.jsx',
    'src/main/java/com/acme/UserServiceTest.java',
    'Acme.Tests/OrderTests.cs',
    'e2e/login.cy.ts',
  ])('%s is a test', (path) => {
    expect(classifyFile(path)).toBe('test');
  });

  it.each([
    '.github/workflows/ci.yml',
    'docker-compose.yaml',
    'pyproject.toml',
    'setup.cfg',
    'tox.ini',
    'Dockerfile',
    'docker/Dockerfile.prod',
    '.env.example',
    'tsconfig.json',
    'tsconfig.build.json',
    '.eslintrc.json',
    '.prettierrc',
    'jest.config.ts',
    'eslint.config.mjs',
    'requirements.txt',
    'requirements-dev.txt',
    'go.mod',
    'Cargo.lock',
    'yarn.lock',
    'Makefile',
  ])('%s is config', (path) => {
    expect(classifyFile(path)).toBe('config');
  });

  it.each([
    'src/index.ts',
    'src/types.d.ts',
    'web/App.tsx',
    'lib/util.js',
    'cmd/main.go',
    'src/lib.rs',
    'app/Main.kt',
    'app/models/user.rb',
    'src/Program.cs',
    'native/io.c',
    'native/io.h',
    'native/io.cpp',
    'ios/App.swift',
    'scripts/deploy.sh',
    'src/Contest.java',
    'src/inspect.py',
  ])('%s is code', (path) => {
    expect(classifyFile(path)).toBe('code');
  });

  it.each(['README.md', 'docs/guide.rst', 'notes.txt', 'LICENSE', 'CHANGELOG'])(
    '%s is docs',
    (path) => {
      expect(classifyFile(path)).toBe('docs');
    },
  );

  it.each(['logo.png', 'data.csv', 'dist/bundle.min.js.map', '', 'src/', '.gitkeep'])(
    '%p is other',
    (path) => {
      expect(classifyFile(path)).toBe('other');
    },
  );

  it('reads Windows separators and ignores case for names and extensions', () => {
    expect(classifyFile('tests\\unit\\thing.py')).toBe('test');
    expect(classifyFile('SRC/MAIN.PY')).toBe('code');
    expect(classifyFile('DOCKERFILE')).toBe('config');
  });

  it('does not mistake words that merely contain "test" for tests', () => {
    expect(classifyFile('src/latest.py')).toBe('code');
    expect(classifyFile('src/attestation/verify.ts')).toBe('code');
  });
});
