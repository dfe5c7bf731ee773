import { Inject, Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry } from 'prom-client';
import { AGENT_OUTCOMES, AgentOutcome } from '@app/domain';
import { METRICS_REGISTRY } from '@app/platform';

/**
 * What became of an agent run (the `outcome` label): `pending` when the run starts being
 * followed, then the one judgement it gets (fixed, still_failing, superseded, no_change,
 * run_failed). The values of `agent_run_outcomes.outcome`.
 */
export type AgentOutcomeLabel = AgentOutcome;

/** Every `outcome` label value, each created at 0 when the worker starts. */
export const AGENT_OUTCOME_LABELS: readonly AgentOutcomeLabel[] = AGENT_OUTCOMES;

/**
 * Buckets of `agent_time_to_green_seconds`: from a minute to a day, where the checks the agent
 * is judged by take minutes and a fix can take hours.
 */
export const TIME_TO_GREEN_BUCKETS = [
  60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400,
];

/**
 * `agent_run_outcomes_total{outcome}`: agent runs that started being followed (`pending`) and
 * each judgement a run got; `agent_time_to_green_seconds`: for each `fixed` run, the time from
 * the failing check's completion to the passing check's completion.
 */
@Injectable()
export class AgentOutcomeTelemetry {
  private readonly outcomes: Counter<'outcome'>;
  private readonly timeToGreen: Histogram;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.outcomes = new Counter({
      name: 'agent_run_outcomes_total',
      help: 'Agent runs by outcome: pending when a run starts being followed, then its judgement (fixed, still_failing, superseded, no_change, run_failed)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.timeToGreen = new Histogram({
      name: 'agent_time_to_green_seconds',
      help: "Time from the failing check's completion to the completion of the check that passed after the agent's commit, for each fixed run",
      buckets: TIME_TO_GREEN_BUCKETS,
      registers: [registry],
    });
    for (const outcome of AGENT_OUTCOME_LABELS) this.outcomes.inc({ outcome }, 0);
  }

  /**
   * A run reached `outcome` (call once per run and outcome, when the change is committed).
   * `timeToGreenSeconds` is observed for `fixed` only, and only when it is a finite number of
   * seconds that is not negative (clocks of different check runners can disagree).
   */
  recordOutcome(outcome: AgentOutcomeLabel, timeToGreenSeconds?: number | null): void {
    this.outcomes.inc({ outcome });
    if (
      outcome === 'fixed' &&
      typeof timeToGreenSeconds === 'number' &&
      Number.isFinite(timeToGreenSeconds) &&
      timeToGreenSeconds >= 0
    ) {
      this.timeToGreen.observe(timeToGreenSeconds);
    }
  }
}
