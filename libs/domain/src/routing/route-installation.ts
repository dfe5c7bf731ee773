import {
  JsonRecord,
  readArray,
  readOwn,
  readRecord,
  readText,
  toPositiveInt,
} from './payload-reader';
import { malformed } from './route-helpers';
import { InstallationChange, ROUTING_LIMITS, RouteOutcome } from './routing.types';

const ACCOUNT_TYPE_MAX = 32;
const REPOSITORY_SELECTION_MAX = 16;

/**
 * `installation` and `installation_repositories` → an installation change. For `installation`,
 * `repositories` lists what the app can reach: gained on `created`, lost on `deleted`; other
 * actions (suspend, new_permissions_accepted, ...) change no repository list.
 */
export function routeInstallation(
  eventType: 'installation' | 'installation_repositories',
  payload: JsonRecord,
  action: string | null,
): RouteOutcome {
  if (action === null) return malformed(action, 'action');
  const installation = readRecord(payload, 'installation');
  if (installation === null) return malformed(action, 'installation');
  const installationId = toPositiveInt(readOwn(installation, 'id'));
  if (installationId === null) return malformed(action, 'installation.id');

  let repositoriesAdded: string[] = [];
  let repositoriesRemoved: string[] = [];
  if (eventType === 'installation_repositories') {
    repositoriesAdded = fullNames(readArray(payload, 'repositories_added'));
    repositoriesRemoved = fullNames(readArray(payload, 'repositories_removed'));
  } else if (action === 'created') {
    repositoriesAdded = fullNames(readArray(payload, 'repositories'));
  } else if (action === 'deleted') {
    repositoriesRemoved = fullNames(readArray(payload, 'repositories'));
  }

  const change: InstallationChange = {
    installationId,
    // Enterprise accounts have no login, only a slug.
    accountLogin:
      readText(installation, ROUTING_LIMITS.login, 'account', 'login') ??
      readText(installation, ROUTING_LIMITS.login, 'account', 'slug'),
    // Capped to their github_installations columns (varchar 32 and 16): longer was a 503.
    accountType: readText(installation, ACCOUNT_TYPE_MAX, 'account', 'type'),
    action,
    repositoriesAdded,
    repositoriesRemoved,
    repositorySelection:
      readText(payload, REPOSITORY_SELECTION_MAX, 'repository_selection') ??
      readText(installation, REPOSITORY_SELECTION_MAX, 'repository_selection'),
  };
  return { kind: 'installation', action, change };
}

function fullNames(list: unknown[] | null): string[] {
  if (list === null) return [];
  const names = new Set<string>();
  for (const repo of list.slice(0, ROUTING_LIMITS.installationRepositories)) {
    const name = readText(repo, ROUTING_LIMITS.repository, 'full_name');
    if (name !== null) names.add(name);
  }
  return [...names];
}
