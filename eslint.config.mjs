import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Libraries by layer, arrows one way (README, Layout). Each lib reaches another only through its
 * index ('@app/platform/tracing' is the one other entry: it must load before what it instruments),
 * and never an app.
 */
const OUR_LIBS = ['domain', 'platform', 'persistence', 'runtime', 'github', 'codegen'];
const MAY_IMPORT = {
  domain: [],
  platform: [],
  persistence: ['domain', 'platform'],
  runtime: ['domain', 'platform', 'persistence'],
  github: ['platform'],
  codegen: ['platform'],
};
/** The domain stays pure: no framework, database, queue, HTTP or telemetry package. */
const NOT_IN_DOMAIN = [
  'typeorm',
  'typeorm/**',
  'pg',
  'pg/**',
  'bull',
  'bull/**',
  'ioredis',
  'prom-client',
  '@opentelemetry/*',
  'winston',
  'cockatiel',
  '@nestjs/*',
  'express',
  'node:http',
  'node:https',
  'http',
  'https',
];
const DEEP = {
  group: ['@app/*/**', '!@app/platform/tracing'],
  message: "Import a library through its index ('@app/<lib>'), not a path inside it.",
};
const INTO_APPS = {
  group: ['**/apps/**', '**/libs/**', '**/src', '**/src/**'],
  message: 'A library never imports an app, nor another library by path.',
};
function layerRule(lib) {
  const banned = OUR_LIBS.filter((other) => !MAY_IMPORT[lib].includes(other));
  const patterns = [DEEP, INTO_APPS];
  if (banned.length)
    patterns.push({
      group: banned.map((other) => `@app/${other}`),
      message: `libs/${lib} may import ${MAY_IMPORT[lib].map((l) => `@app/${l}`).join(', ') || 'no lib of ours'} (README, Layout).`,
    });
  if (lib === 'domain')
    patterns.push({
      group: NOT_IN_DOMAIN,
      message: 'The domain lib imports no framework, database, queue, HTTP or telemetry package.',
    });
  return {
    files: [`libs/${lib}/src/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [DEEP] }] } },
  ...OUR_LIBS.map(layerRule),
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
