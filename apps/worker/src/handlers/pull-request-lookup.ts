import { WorkflowTaskEntity } from '@app/persistence';
import { GithubClient } from '@app/github';

/** At most this many PRs get an agent run for one commit found without a link. */
const MAX_LOOKED_UP = 5;

/** A pull request a check failure concerns. */
export interface LinkedPullRequest {
  number: number;
  branch: string | null;
  /** Its head is in another repository (or a deleted one). */
  fork: boolean;
  baseBranch: string | null;
}

/**
 * The PRs a check failure concerns: its own PR, or — when GitHub linked none (fork PRs) —
 * the open PRs whose head is the failing commit, looked up through the API.
 */
export async function pullRequestsOf(
  github: GithubClient,
  task: WorkflowTaskEntity,
): Promise<{ prs: LinkedPullRequest[]; lookedUp: boolean }> {
  // GitHub links only pull requests from the base repository to a check; the trust gate checks
  // again from the pull request itself before any run.
  if (task.prNumber !== null)
    return {
      prs: [{ number: task.prNumber, branch: task.branch, fork: false, baseBranch: null }],
      lookedUp: false,
    };
  if (!task.repository || !task.commitSha) return { prs: [], lookedUp: true };
  const found = await github.listPullRequestsForCommit(task.repository, task.commitSha);
  const prs = found
    .filter(
      (pr) => pr.state === 'open' && pr.headSha.toLowerCase() === task.commitSha?.toLowerCase(),
    )
    .slice(0, MAX_LOOKED_UP)
    .map((pr) => ({
      number: pr.number,
      branch: pr.headRef,
      fork:
        pr.headRepository === null ||
        pr.headRepository.toLowerCase() !== (task.repository ?? '').toLowerCase(),
      baseBranch: pr.baseRef,
    }));
  return { prs, lookedUp: true };
}
