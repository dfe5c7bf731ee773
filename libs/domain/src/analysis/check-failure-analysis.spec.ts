import examples from '@octokit/webhooks-examples';
import {
  analyzeCheckFailure,
  categorizeCheckName,
  CheckConclusionInput,
} from './check-failure-analysis';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are read loosely
type Payload = Record<string, any>;
const definitions = examples as unknown as Array<{ name: string; examples: Payload[] }>;

describe('categorizeCheckName', () => {
  it.each([
    ['test', 'test'],
    ['CI / test (ubuntu-latest, 20.x)', 'test'],
    ['Unit tests', 'test'],
    ['unitTests', 'test'],
    ['jest', 'test'],
    ['pytest (3.12)', 'test'],
    ['e2e', 'test'],
    ['rspec spec', 'test'],
    ['build-and-test', 'test'],
    ['Octocoders-linter', 'lint'],
    ['ESLint', 'lint'],
    ['flake8', 'lint'],
    ['prettier --check', 'lint'],
    ['Check formatting', 'lint'],
    ['code style', 'lint'],
    ['ruff', 'lint'],
    ['build', 'build'],
    ['Compile (release)', 'build'],
    ['tsc', 'build'],
    ['Type check', 'build'],
    ['webpack', 'build'],
    ['docker image', 'build'],
    ['deploy-preview', 'other'],
    ['codecov/patch', 'other'],
    ['inspect dependencies', 'other'],
    ['community guidelines', 'other'],
    ['latest release', 'other'],
  ])('%s → %s', (name, category) => {
    expect(categorizeCheckName(name)).toBe(category);
  });

  it('categorises the real failing check run from the GitHub examples', () => {
    const run = definitions
      .find((d) => d.name === 'check_run')
      ?.examples.find((p) => p.check_run.conclusion === 'failure');
    expect(categorizeCheckName(run?.check_run.name)).toBe('lint');
  });
});

describe('analyzeCheckFailure', () => {
  it('keeps only failing conclusions and orders categories', () => {
    const result = analyzeCheckFailure({
      includeCancelledChecks: false,
      checkNames: [
        { name: 'build', conclusion: 'success' },
        { name: 'needs approval', conclusion: 'action_required' },
        { name: 'lint', conclusion: 'failure' },
        { name: 'unit tests', conclusion: 'timed_out' },
        { name: 'deploy', conclusion: 'failure' },
        { name: 'e2e', conclusion: 'cancelled' },
        { name: 'docs', conclusion: 'skipped' },
        { name: 'pending', conclusion: null },
      ],
    });
    expect(result.failedChecks).toEqual([
      { name: 'lint', conclusion: 'failure', category: 'lint' },
      { name: 'unit tests', conclusion: 'timed_out', category: 'test' },
      { name: 'deploy', conclusion: 'failure', category: 'other' },
    ]);
    expect(result.categories).toEqual(['test', 'lint', 'other']);
    expect(result.shouldTriggerAgent).toBe(true);
    expect(result.reasons).toEqual(['3 failing checks (1 test, 1 lint, 1 other)']);
  });

  it('counts cancelled only when asked', () => {
    const checkNames: CheckConclusionInput[] = [{ name: 'e2e', conclusion: 'cancelled' }];
    const off = analyzeCheckFailure({ checkNames, includeCancelledChecks: false });
    expect(off.failedChecks).toEqual([]);
    expect(off.reasons).toEqual(['no failing checks']);
    const on = analyzeCheckFailure({ checkNames, includeCancelledChecks: true });
    expect(on.failedChecks).toEqual([{ name: 'e2e', conclusion: 'cancelled', category: 'test' }]);
    expect(on.shouldTriggerAgent).toBe(true);
  });

  it('does not trigger without failures', () => {
    expect(
      analyzeCheckFailure({
        checkNames: [{ name: 'test', conclusion: 'success' }],
        includeCancelledChecks: false,
      }),
    ).toEqual({
      categories: [],
      failedChecks: [],
      shouldTriggerAgent: false,
      reasons: ['no failing checks'],
    });
  });

  it('does not trigger when only checks an agent cannot fix are failing', () => {
    const result = analyzeCheckFailure({
      checkNames: [{ name: 'deploy-preview', conclusion: 'failure' }],
      includeCancelledChecks: false,
    });
    expect(result.shouldTriggerAgent).toBe(false);
    expect(result.categories).toEqual(['other']);
    expect(result.reasons).toContain('no failing check is a test, lint or build check');
  });

  it('caps the list and survives malformed entries', () => {
    const many = Array.from({ length: 500 }, (_, i) => ({
      name: `test ${i}`,
      conclusion: 'failure',
    }));
    const junk = [
      null,
      7,
      { name: 5, conclusion: 'failure' },
      { name: 'x'.repeat(5000), conclusion: 'failure' },
    ];
    const result = analyzeCheckFailure({
      checkNames: [...junk, ...many] as unknown as CheckConclusionInput[],
      includeCancelledChecks: false,
    });
    expect(result.failedChecks).toHaveLength(100);
    expect(result.failedChecks[0].name).toHaveLength(200);
    expect(result.reasons[0]).toMatch(/^501 failing checks/);
    expect(
      analyzeCheckFailure({
        checkNames: 'x' as unknown as CheckConclusionInput[],
        includeCancelledChecks: false,
      }).shouldTriggerAgent,
    ).toBe(false);
  });
});
