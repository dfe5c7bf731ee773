import fc from 'fast-check';

/**
 * Sizes of the hostile-input suite. HOSTILE_RUNS is the number of fast-check runs of a property
 * of weight 1: the default keeps `npm test` quick, `HOSTILE_RUNS=1000` is the manual full size
 * (docs/hostile-testing.md). HOSTILE_SEED replays a failure fast-check reported.
 */
export const HOSTILE_RUNS = positiveInt('HOSTILE_RUNS', 100);
const SEED = process.env.HOSTILE_SEED ? positiveInt('HOSTILE_SEED', 0) : undefined;

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

/** Runs of one property; slower properties get a smaller weight. */
export function runs(weight = 1): number {
  return Math.max(5, Math.round(HOSTILE_RUNS * weight));
}

/**
 * Jest timeout of a test running properties of these weights: generous per run (a run is a few
 * requests and queries, ~5-20 ms here), plus room for shrinking a counterexample.
 */
export function timeoutFor(...weights: number[]): number {
  return 60_000 + weights.reduce((sum, w) => sum + runs(w), 0) * 150;
}

const tally: string[] = [];

/**
 * Checks an async property with fast-check, and notes its runs and time for the summary. A
 * failure throws fast-check's report: the shrunk counterexample, the seed and the path.
 */
export async function checkProperty<T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<void>,
  weight = 1,
): Promise<void> {
  const numRuns = runs(weight);
  const started = Date.now();
  let outcome = 'no counterexample';
  try {
    await fc.assert(fc.asyncProperty(arbitrary, predicate), { numRuns, seed: SEED });
  } catch (error) {
    outcome = 'COUNTEREXAMPLE';
    throw error;
  } finally {
    tally.push(
      `  ${name}: ${numRuns} runs, ${((Date.now() - started) / 1000).toFixed(1)} s, ${outcome}`,
    );
  }
}

/** Prints what ran, once a spec file ends (shown by jest with the file's output). */
export function printTally(suite: string): void {
  if (tally.length === 0) return;
  process.stdout.write(
    `\n[hostile] ${suite} (HOSTILE_RUNS=${HOSTILE_RUNS})\n${tally.join('\n')}\n`,
  );
  tally.length = 0;
}
