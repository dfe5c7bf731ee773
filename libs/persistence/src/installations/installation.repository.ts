import { Injectable } from '@nestjs/common';
import type { InstallationChange } from '@app/domain';
import type { Queryable } from '../database/sql-results';

/**
 * The one writer of `github_installations` and `github_installation_repositories`: what the
 * app's installations can reach, as GitHub's installation events told it.
 */
@Injectable()
export class InstallationRepository {
  /** Records an installation change, inside the transaction that stores its event. */
  async recordChange(db: Queryable, change: InstallationChange): Promise<void> {
    const deleted = change.action === 'deleted';
    const suspended =
      change.action === 'suspend' ? true : change.action === 'unsuspend' ? false : null;
    await db.query(
      `INSERT INTO github_installations (id, account_login, account_type, repository_selection,
         last_action, suspended, deleted_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, coalesce($6, false), CASE WHEN $7 THEN now() END, now())
       ON CONFLICT (id) DO UPDATE SET
         account_login = coalesce(EXCLUDED.account_login, github_installations.account_login),
         account_type = coalesce(EXCLUDED.account_type, github_installations.account_type),
         repository_selection = coalesce(EXCLUDED.repository_selection,
           github_installations.repository_selection),
         last_action = EXCLUDED.last_action,
         suspended = coalesce($6, github_installations.suspended),
         deleted_at = CASE WHEN $7 THEN now() ELSE NULL END,
         updated_at = now()`,
      [
        change.installationId,
        change.accountLogin,
        change.accountType,
        change.repositorySelection,
        change.action.slice(0, 32),
        suspended,
        deleted,
      ],
    );
    if (change.repositoriesAdded.length > 0) {
      await db.query(
        `INSERT INTO github_installation_repositories (installation_id, repository, removed_at, updated_at)
         SELECT $1, r, NULL, now() FROM unnest($2::text[]) AS r
         ON CONFLICT (installation_id, repository) DO UPDATE SET removed_at = NULL, updated_at = now()`,
        [change.installationId, change.repositoriesAdded],
      );
    }
    if (change.repositoriesRemoved.length > 0) {
      await db.query(
        `INSERT INTO github_installation_repositories (installation_id, repository, removed_at, updated_at)
         SELECT $1, r, now(), now() FROM unnest($2::text[]) AS r
         ON CONFLICT (installation_id, repository) DO UPDATE SET removed_at = now(), updated_at = now()`,
        [change.installationId, change.repositoriesRemoved],
      );
    }
  }
}
