export { DEFAULT_ROUTING_RULES, ROUTING_LIMITS } from './routing.types';
export type {
  EventFacts,
  InstallationChange,
  RouteOutcome,
  RoutingRules,
  TaskDraft,
} from './routing.types';
export { extractEventFacts } from './event-facts';
export { routeEvent, SUPPORTED_EVENT_TYPES } from './route-event';
export { HANDLED_PULL_REQUEST_ACTIONS } from './route-pull-request';
