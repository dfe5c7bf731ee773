import type { EntityManager } from 'typeorm';
import type { InstallationChange } from '@app/domain';
import { returnedRows } from '../tasks/task.repository';

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

/**
 * Cancels the tasks that would call GitHub as an installation that lost access: live tasks not
 * yet started (`pending`, `queued`) whose event came through that installation, for every
 * repository or the removed ones. Running tasks are left to finish or fail on their own. Events
 * left without a live task become processed. Runs inside the caller's transaction.
 * @returns how many tasks were cancelled
 */
export async function cancelTasksForLostAccess(
  m: EntityManager,
  change: InstallationChange,
): Promise<number> {
  const loss = accessLossOf(change);
  if (loss === null) return 0;
  const repositories =
    loss.scope === 'repositories' ? loss.repositories.map((r) => r.toLowerCase()) : null;
  const rows = returnedRows<{ webhook_event_id: string }>(
    await m.query(
      `UPDATE workflow_tasks t
       SET status = 'cancelled', error_message = $3, completed_at = now(), updated_at = now(),
           claim_token = NULL, lease_expires_at = NULL
       FROM webhook_events e
       WHERE e.id = t.webhook_event_id AND e.installation_id = $1
         AND t.status IN ('pending', 'queued')
         AND ($2::text[] IS NULL OR lower(t.repository) = ANY($2::text[]))
       RETURNING t.webhook_event_id`,
      [change.installationId, repositories, loss.reason],
    ),
  );
  if (rows.length === 0) return 0;
  const eventIds = [...new Set(rows.map((r) => Number(r.webhook_event_id)))];
  // Same rule as when a worker ends a task: processed once nothing is live; the error names
  // the failed tasks of this round (a cancelled task is not a failure).
  await m.query(
    `UPDATE webhook_events e SET processed = true, processing_completed_at = now(), updated_at = now(),
       error_message = (
         SELECT CASE WHEN count(*) = 0 THEN NULL
           ELSE count(*) || ' task(s) failed: ' || string_agg(t.task_type, ', ' ORDER BY t.id) END
         FROM workflow_tasks t WHERE t.webhook_event_id = e.id AND t.status = 'failed'
           AND t.created_at >= coalesce(e.processing_started_at, '-infinity'))
     WHERE e.id = ANY($1::bigint[]) AND NOT EXISTS (
       SELECT 1 FROM workflow_tasks t
       WHERE t.webhook_event_id = e.id AND t.status IN ('pending', 'queued', 'running'))`,
    [eventIds],
  );
  return rows.length;
}
