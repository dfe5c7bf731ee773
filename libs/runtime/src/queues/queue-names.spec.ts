import { retryDelayMs } from './queue-names';

describe('retryDelayMs', () => {
  it('grows exponentially from the base and never passes the cap', () => {
    const max = (attempt: number) => retryDelayMs(attempt, 1000, 300_000, () => 1);
    const min = (attempt: number) => retryDelayMs(attempt, 1000, 300_000, () => 0);
    expect([max(1), max(2), max(3), max(4)]).toEqual([1000, 2000, 4000, 8000]);
    expect([min(1), min(2), min(3)]).toEqual([500, 1000, 2000]);
    expect(max(20)).toBe(300_000);
    expect(max(1000)).toBe(300_000);
  });
});
