import { extractEventFacts } from '../routing/event-facts';
import { routeEvent } from '../routing/route-event';
import type { RouteOutcome } from '../routing/routing.types';
import { EffectiveRules, TASK_EVENTS, WorkflowRules } from './workflow-rules';

/**
 * Routing under the workflow rules of the event's repository: an event type the rules turn off
 * is stored but ignored (`disabled_by_rules`); push branches and cancelled checks follow them.
 */
export function routeWithRules(
  eventType: string,
  payload: unknown,
  rules: WorkflowRules,
): { outcome: RouteOutcome; rules: EffectiveRules } {
  const effective = rules.forRepository(extractEventFacts(payload).repository);
  if (
    (TASK_EVENTS as readonly string[]).includes(eventType) &&
    !effective.events.includes(eventType)
  ) {
    const action =
      typeof (payload as { action?: unknown } | null)?.action === 'string'
        ? (payload as { action: string }).action.slice(0, 64)
        : null;
    return { outcome: { kind: 'ignored', action, reason: 'disabled_by_rules' }, rules: effective };
  }
  return {
    outcome: routeEvent(eventType, payload, {
      includeCancelledChecks: effective.includeCancelledChecks,
      pushBranches: effective.pushBranches,
      trustLabel: effective.trustLabel,
    }),
    rules: effective,
  };
}
