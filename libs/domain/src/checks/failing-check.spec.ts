import { isFailingConclusion } from './failing-check';

describe('isFailingConclusion', () => {
  const off = { includeCancelledChecks: false };
  const on = { includeCancelledChecks: true };

  it.each(['failure', 'timed_out'])(
    '%s is failing for runs and suites, whatever the rules',
    (c) => {
      for (const scope of ['check_run', 'check_suite'] as const) {
        expect(isFailingConclusion(c, scope, off)).toBe(true);
        expect(isFailingConclusion(c, scope, on)).toBe(true);
      }
    },
  );

  it('startup_failure is a failing suite; runs do not end that way', () => {
    expect(isFailingConclusion('startup_failure', 'check_suite', off)).toBe(true);
    expect(isFailingConclusion('startup_failure', 'check_run', on)).toBe(false);
  });

  it('counts cancelled only with include_cancelled_checks', () => {
    for (const scope of ['check_run', 'check_suite'] as const) {
      expect(isFailingConclusion('cancelled', scope, off)).toBe(false);
      expect(isFailingConclusion('cancelled', scope, on)).toBe(true);
    }
  });

  it.each([
    'success',
    'neutral',
    'skipped',
    'stale',
    'action_required',
    'FAILURE',
    '',
    null,
    undefined,
  ])('%p is not failing', (c) => {
    expect(isFailingConclusion(c, 'check_suite', on)).toBe(false);
  });
});
