import { ErrorCode } from '@app/platform';
import { InflightBudget } from './inflight-budget';

describe('InflightBudget', () => {
  it('refuses a client past its own cap with 429, counting nothing of the refused chunk', () => {
    const budget = new InflightBudget(1000, 300);
    const a = budget.open('198.51.100.1');
    expect(a.add(200)).toBeNull();
    const refused = budget.open('198.51.100.1').add(101);
    expect(refused?.code).toBe(ErrorCode.RateLimited);
    expect(refused?.retryAfterSeconds).toBe(5);
    expect(budget.bytesOf('198.51.100.1')).toBe(200);
    expect(budget.open('198.51.100.2').add(300)).toBeNull();
  });

  it('refuses anyone past the global cap with 503', () => {
    const budget = new InflightBudget(500, 300);
    expect(budget.open('a').add(300)).toBeNull();
    expect(budget.open('b').add(200)).toBeNull();
    const refused = budget.open('c').add(1);
    expect(refused?.code).toBe(ErrorCode.Unavailable);
    expect(budget.bytes).toBe(500);
  });

  it('gives every byte back on release, once, and ignores chunks after it', () => {
    const budget = new InflightBudget(1000, 1000);
    const one = budget.open('a');
    const two = budget.open('a');
    one.add(100);
    one.add(150);
    two.add(50);
    one.release();
    one.release();
    expect(budget.bytesOf('a')).toBe(50);
    expect(one.add(500)).toBeNull();
    expect(budget.bytes).toBe(50);
    two.release();
    expect(budget.bytes).toBe(0);
    expect(budget.bytesOf('a')).toBe(0);
  });
});
