/**
 * The one definition of a failing check, used by the routing (which check events become tasks),
 * the analysis and both check handlers (which runs count), so they can never disagree.
 */

/** Which object a conclusion belongs to; only suites can end in `startup_failure`. */
export type CheckScope = 'check_run' | 'check_suite';

const RUN_FAILURES: readonly string[] = ['failure', 'timed_out'];
const SUITE_FAILURES: readonly string[] = ['failure', 'timed_out', 'startup_failure'];

/** The part of the workflow rules that decides what a failing check is. */
export interface FailingCheckRules {
  /** `include_cancelled_checks` (CHECK_INCLUDE_CANCELLED): `cancelled` counts as failing too. */
  includeCancelledChecks: boolean;
}

/** The conclusions that count as failing for `scope` under `rules`. */
export function failingConclusions(scope: CheckScope, rules: FailingCheckRules): readonly string[] {
  const base = scope === 'check_run' ? RUN_FAILURES : SUITE_FAILURES;
  return rules.includeCancelledChecks ? [...base, 'cancelled'] : base;
}

/**
 * True when a check run or suite ended in a failure worth analysing. `neutral`, `skipped`,
 * `stale` and `action_required` never are; `cancelled` is only under `include_cancelled_checks`.
 */
export function isFailingConclusion(
  conclusion: string | null | undefined,
  scope: CheckScope,
  rules: FailingCheckRules,
): boolean {
  return typeof conclusion === 'string' && failingConclusions(scope, rules).includes(conclusion);
}
