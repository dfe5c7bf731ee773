import { randomBytes } from 'node:crypto';
import { makeTmpRoot } from './run-scope';

/**
 * For runs without a database (unit tests, the static deploy checks): TMPDIR points to a folder
 * of the run's own, so the teardown can tell whether a test left a temporary folder behind.
 */
export default function tmpGlobalSetup(): void {
  const root = makeTmpRoot(`${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`);
  process.env.TEST_TMP_ROOT = root;
  process.env.TMPDIR = root;
}
