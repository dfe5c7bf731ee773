import { lifecycle } from '@app/platform';

/**
 * Serves one computed result for `ttlMs` (about a second, as the /metrics state is), so a flood
 * of `GET /health` costs one PostgreSQL query and one Redis ping per second, not one per call.
 * Callers during a computation share it. A start of draining is never hidden behind the cache.
 */
export class HealthCache<T> {
  private last: { at: number; draining: boolean; value: Promise<T> } | null = null;

  constructor(
    private readonly compute: () => Promise<T>,
    private readonly ttlMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    const at = this.now();
    const draining = lifecycle.draining;
    const last = this.last;
    if (last && at - last.at < this.ttlMs && last.draining === draining) return last.value;
    const value = this.compute();
    const entry = { at, draining, value };
    this.last = entry;
    // A failed computation is not kept: the next call tries again.
    value.catch(() => {
      if (this.last === entry) this.last = null;
    });
    return value;
  }
}
