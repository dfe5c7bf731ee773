import { lifecycle } from '@app/platform';
import { HealthCache } from './health-cache';

describe('HealthCache (/health at most once a second)', () => {
  it('computes once per second however many calls come, sharing one computation', async () => {
    let now = 0;
    let computed = 0;
    const cache = new HealthCache(
      async () => ++computed,
      1000,
      () => now,
    );
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.get()));
    expect(new Set(answers)).toEqual(new Set([1]));
    now = 999;
    expect(await cache.get()).toBe(1);
    now = 1000;
    expect(await cache.get()).toBe(2);
    expect(computed).toBe(2);
  });

  it('does not keep a failure, and never hides the start of draining', async () => {
    const now = 0;
    let fail = true;
    let computed = 0;
    const cache = new HealthCache(
      () => {
        computed++;
        return fail ? Promise.reject(new Error('down')) : Promise.resolve(computed);
      },
      1000,
      () => now,
    );
    await expect(cache.get()).rejects.toThrow('down');
    fail = false;
    expect(await cache.get()).toBe(2);
    try {
      lifecycle.startDraining();
      expect(await cache.get()).toBe(3);
    } finally {
      lifecycle.reset();
    }
  });
});
