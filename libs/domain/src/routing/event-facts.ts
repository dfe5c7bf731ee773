import { readPath, readText, toPositiveInt } from './payload-reader';
import { EventFacts, ROUTING_LIMITS } from './routing.types';

const NO_FACTS: Readonly<EventFacts> = Object.freeze({
  action: null,
  repository: null,
  installationId: null,
  senderLogin: null,
  senderType: null,
});

/**
 * Pulls the filterable columns of `webhook_events` out of any payload. Never throws: a value of
 * the wrong type reads as null, so a hostile delivery is still stored and can be inspected.
 */
export function extractEventFacts(payload: unknown): EventFacts {
  try {
    return {
      action: readText(payload, ROUTING_LIMITS.action, 'action'),
      repository: readText(payload, ROUTING_LIMITS.repository, 'repository', 'full_name'),
      installationId: toPositiveInt(readPath(payload, 'installation', 'id')),
      senderLogin: readText(payload, ROUTING_LIMITS.login, 'sender', 'login'),
      senderType: readText(payload, ROUTING_LIMITS.action, 'sender', 'type'),
    };
  } catch {
    // Parsed JSON cannot throw on reads; this only guards callers that pass exotic objects
    // (getters, proxies), because losing the event is worse than losing its facts.
    return { ...NO_FACTS };
  }
}
