import { actionLabel, eventTypeLabel, taskTypeLabel } from './metric-labels';

describe('metric labels', () => {
  it('keeps known values and turns anything else into "other"', () => {
    expect(eventTypeLabel('pull_request')).toBe('pull_request');
    expect(eventTypeLabel('x'.repeat(5000))).toBe('other');
    expect(eventTypeLabel(['pull_request'])).toBe('other');
    expect(eventTypeLabel(undefined)).toBe('other');
    expect(actionLabel('opened')).toBe('opened');
    expect(actionLabel('drop table')).toBe('other');
    expect(taskTypeLabel('codegen_trigger')).toBe('codegen_trigger');
    expect(taskTypeLabel('rm -rf')).toBe('other');
  });

  it('labels an event without an action "none"', () => {
    expect(actionLabel(undefined)).toBe('none');
    expect(actionLabel(null)).toBe('none');
  });
});
