import { monthPartitionName, monthStart } from './event-partitions';

describe('monthly partitions of webhook_events', () => {
  it('names each UTC month and steps over year ends', () => {
    const lateOnNewYearsEve = new Date('2026-12-31T23:30:00-05:00'); // already January in UTC
    expect(monthStart(lateOnNewYearsEve).toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(monthPartitionName(monthStart(lateOnNewYearsEve))).toBe('webhook_events_p2027_01');
    const december = new Date('2026-12-02T03:00:00Z');
    expect(monthPartitionName(monthStart(december, 1))).toBe('webhook_events_p2027_01');
    expect(monthPartitionName(monthStart(december, -12))).toBe('webhook_events_p2025_12');
    expect(monthStart(december, 3).toISOString()).toBe('2027-03-01T00:00:00.000Z');
  });
});
