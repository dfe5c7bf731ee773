import { Registry } from 'prom-client';
import { AGENT_OUTCOME_LABELS, AgentOutcomeTelemetry } from './agent-outcome-telemetry';

/** Every sample line of `family` (no HELP/TYPE lines). */
function samples(text: string, family: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${family}{`) || l.startsWith(`${family} `));
}

/** The value of one sample line, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('AgentOutcomeTelemetry', () => {
  it('starts every outcome at 0 and exports an empty time-to-green histogram before any run', async () => {
    const registry = new Registry();
    new AgentOutcomeTelemetry(registry);
    const text = await registry.metrics();
    expect(samples(text, 'agent_run_outcomes_total').sort()).toEqual(
      ['pending', 'fixed', 'still_failing', 'superseded', 'no_change', 'run_failed']
        .map((outcome) => `agent_run_outcomes_total{outcome="${outcome}"} 0`)
        .sort(),
    );
    expect(AGENT_OUTCOME_LABELS).toHaveLength(6);
    expect(sample(text, 'agent_time_to_green_seconds_count')).toBe(0);
  });

  it('counts each outcome and observes the time to green of fixed runs', async () => {
    const registry = new Registry();
    const telemetry = new AgentOutcomeTelemetry(registry);
    telemetry.recordOutcome('pending');
    telemetry.recordOutcome('pending');
    telemetry.recordOutcome('fixed', 840);
    telemetry.recordOutcome('still_failing');
    const text = await registry.metrics();
    expect(sample(text, 'agent_run_outcomes_total{outcome="pending"}')).toBe(2);
    expect(sample(text, 'agent_run_outcomes_total{outcome="fixed"}')).toBe(1);
    expect(sample(text, 'agent_run_outcomes_total{outcome="still_failing"}')).toBe(1);
    expect(sample(text, 'agent_run_outcomes_total{outcome="no_change"}')).toBe(0);
    expect(sample(text, 'agent_time_to_green_seconds_count')).toBe(1);
    expect(sample(text, 'agent_time_to_green_seconds_sum')).toBe(840);
    expect(sample(text, 'agent_time_to_green_seconds_bucket{le="600"}')).toBe(0);
    expect(sample(text, 'agent_time_to_green_seconds_bucket{le="900"}')).toBe(1);
  });

  it('observes no time to green for other outcomes, or for a missing, negative or non-finite time', async () => {
    const registry = new Registry();
    const telemetry = new AgentOutcomeTelemetry(registry);
    telemetry.recordOutcome('still_failing', 120);
    telemetry.recordOutcome('fixed');
    telemetry.recordOutcome('fixed', null);
    telemetry.recordOutcome('fixed', -5);
    telemetry.recordOutcome('fixed', Number.NaN);
    telemetry.recordOutcome('fixed', Number.POSITIVE_INFINITY);
    const text = await registry.metrics();
    expect(sample(text, 'agent_run_outcomes_total{outcome="fixed"}')).toBe(5);
    expect(sample(text, 'agent_time_to_green_seconds_count')).toBe(0);
  });
});
