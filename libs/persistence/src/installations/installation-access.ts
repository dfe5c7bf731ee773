import type { InstallationChange } from '@app/domain';

/** What an installation change withdrew: everything, some repositories, or nothing. */
export type AccessLoss =
  | { scope: 'installation'; reason: string }
  | { scope: 'repositories'; repositories: string[]; reason: string }
  | null;

/**
 * `deleted` and `suspend` take every repository away from the app; `installation_repositories`
 * `removed` (and any change listing removed repositories) takes those.
 */
export function accessLossOf(change: InstallationChange): AccessLoss {
  const id = change.installationId;
  if (change.action === 'deleted') {
    return {
      scope: 'installation',
      reason: `repository access removed (installation ${id} deleted)`,
    };
  }
  if (change.action === 'suspend') {
    return {
      scope: 'installation',
      reason: `repository access removed (installation ${id} suspended)`,
    };
  }
  if (change.repositoriesRemoved.length > 0) {
    return {
      scope: 'repositories',
      repositories: change.repositoriesRemoved,
      reason: `repository access removed (installation ${id})`,
    };
  }
  return null;
}
