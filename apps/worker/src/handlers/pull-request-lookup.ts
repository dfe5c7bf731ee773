import { WorkflowTaskEntity } from '@app/persistence';
import { GithubClient } from '@app/github';

/** At most this many PRs get an agent run for one commit found without a link. */
const MAX_LOOKED_UP = 5;

/**
 * The PRs a check failure concerns: its own PR, or — when GitHub linked none (fork PRs) —
 * the open PRs whose head is the failing commit, looked up through the API.
 */
export async function pullRequestsOf(
  github: GithubClient,
  task: WorkflowTaskEntity,
): Promise<{ prs: Array<{ number: number; branch: string | null }>; lookedUp: boolean }> {
  if (task.prNumber !== null)
    return { prs: [{ number: task.prNumber, branch: task.branch }], lookedUp: false };
  if (!task.repository || !task.commitSha) return { prs: [], lookedUp: true };
  const found = await github.listPullRequestsForCommit(task.repository, task.commitSha);
  const prs = found
    .filter(
      (pr) => pr.state === 'open' && pr.headSha.toLowerCase() === task.commitSha?.toLowerCase(),
    )
    .slice(0, MAX_LOOKED_UP)
    .map((pr) => ({ number: pr.number, branch: pr.headRef }));
  return { prs, lookedUp: true };
}
