import { isRecord, readOwn, readPath, readText, toPositiveInt } from './payload-reader';
import { routeCheckRun, routeCheckSuite } from './route-check-events';
import { malformed } from './route-helpers';
import { routeInstallation } from './route-installation';
import { routePullRequest } from './route-pull-request';
import { routePush } from './route-push';
import { DEFAULT_ROUTING_RULES, ROUTING_LIMITS, RouteOutcome, RoutingRules } from './routing.types';

/** GitHub event types (`X-GitHub-Event`) the orchestrator acts on; others are stored and ignored. */
export const SUPPORTED_EVENT_TYPES: readonly string[] = [
  'pull_request',
  'check_run',
  'check_suite',
  'push',
  'ping',
  'installation',
  'installation_repositories',
];

/**
 * Decides what a verified webhook delivery means: task drafts to store with the event, a pong,
 * an installation change, or an ignore with a machine-readable reason
 * (`unsupported_event_type`, `action_not_handled:<action>`, `malformed_payload:<field>`, ...).
 * Pure and total: never throws, whatever JSON `payload` holds.
 */
export function routeEvent(
  eventType: string,
  payload: unknown,
  rules: RoutingRules = DEFAULT_ROUTING_RULES,
): RouteOutcome {
  try {
    return dispatch(eventType, payload, rules);
  } catch {
    // Parsed JSON cannot make the readers throw; this guards exotic inputs (getters, proxies)
    // because a throw here would fail the whole delivery and GitHub does not redeliver.
    return { kind: 'ignored', action: null, reason: 'malformed_payload:unreadable' };
  }
}

function dispatch(eventType: string, payload: unknown, rules: RoutingRules): RouteOutcome {
  if (!SUPPORTED_EVENT_TYPES.includes(eventType)) {
    return {
      kind: 'ignored',
      action: readText(payload, ROUTING_LIMITS.action, 'action'),
      reason: 'unsupported_event_type',
    };
  }
  if (!isRecord(payload)) return malformed(null, 'not_an_object');
  const action = readText(payload, ROUTING_LIMITS.action, 'action');

  switch (eventType) {
    case 'pull_request':
      return routePullRequest(payload, action, rules.trustLabel ?? null);
    case 'check_run':
      return routeCheckRun(payload, action, rules);
    case 'check_suite':
      return routeCheckSuite(payload, action, rules);
    case 'push':
      return routePush(payload, action, rules.pushBranches ?? null);
    case 'ping':
      return {
        kind: 'pong',
        zen: readText(payload, ROUTING_LIMITS.text, 'zen'),
        hookId:
          toPositiveInt(readOwn(payload, 'hook_id')) ??
          toPositiveInt(readPath(payload, 'hook', 'id')),
      };
    case 'installation':
    case 'installation_repositories':
      return routeInstallation(eventType, payload, action);
    default:
      return { kind: 'ignored', action, reason: 'unsupported_event_type' };
  }
}
