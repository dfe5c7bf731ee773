import { sweepTmp } from './run-scope';

/** Removes the run's temporary folder; fails the run when a test left something in it. */
export default function tmpGlobalTeardown(): void {
  const root = process.env.TEST_TMP_ROOT;
  if (!root) return;
  const leftovers = sweepTmp(root);
  if (leftovers.length > 0) {
    throw new Error(
      `the test run left ${leftovers.length} temporary file(s) or folder(s) behind (removed now; ` +
        `the test that made them must remove them itself):\n  ${leftovers.join('\n  ')}`,
    );
  }
}
