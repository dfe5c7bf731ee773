import type { CommitSummary, PullRequestFile, PullRequestSummary } from './github.types';
import {
  toCommitSummary,
  toPullRequestFiles,
  toPullRequestSummaries,
  toPullRequestSummary,
} from './github-mappers';
import { repositoryPath, requirePositiveInteger, requireSha } from './github-paths';
import { GithubRequests, PAGE_SIZE } from './github-requests';

/** Pull requests and commits: what a pull request changes, who made a commit, and its PRs. */

/** GitHub itself stops listing a pull request's files at 3000. */
export const DEFAULT_MAX_FILES = 3000;

/** Files changed by a pull request, following pagination until a short page or `maxFiles`. */
export async function listPullRequestFiles(
  api: GithubRequests,
  repository: string,
  prNumber: number,
  maxFiles: number,
): Promise<PullRequestFile[]> {
  const repoPath = repositoryPath(repository);
  requirePositiveInteger('pull request number', prNumber);
  requirePositiveInteger('maxFiles', maxFiles);
  const files: PullRequestFile[] = [];
  for (let page = 1; files.length < maxFiles; page++) {
    const items = await api.get(
      'list_pull_request_files',
      `${repoPath}/pulls/${prNumber}/files`,
      page,
      toPullRequestFiles,
    );
    files.push(...items);
    if (items.length < PAGE_SIZE) break;
  }
  return files.slice(0, maxFiles);
}

export async function getPullRequest(
  api: GithubRequests,
  repository: string,
  prNumber: number,
): Promise<PullRequestSummary> {
  const repoPath = repositoryPath(repository);
  requirePositiveInteger('pull request number', prNumber);
  return api.get(
    'get_pull_request',
    `${repoPath}/pulls/${prNumber}`,
    undefined,
    toPullRequestSummary,
  );
}

export async function getCommit(
  api: GithubRequests,
  repository: string,
  sha: string,
): Promise<CommitSummary> {
  const repoPath = repositoryPath(repository);
  requireSha(sha);
  return api.get('get_commit', `${repoPath}/commits/${sha}`, undefined, toCommitSummary);
}

/** Pull requests whose head is this commit (the first page). */
export async function listPullRequestsForCommit(
  api: GithubRequests,
  repository: string,
  sha: string,
): Promise<PullRequestSummary[]> {
  const repoPath = repositoryPath(repository);
  requireSha(sha);
  return api.get(
    'list_commit_pulls',
    `${repoPath}/commits/${sha}/pulls`,
    1,
    toPullRequestSummaries,
  );
}
