import { toComment } from './github-mappers';
import { repositoryPath, requirePositiveInteger } from './github-paths';
import type { GithubRequests } from './github-requests';

/** Issue comments on pull requests: posting one, and replacing the body of one posted. */

/** GitHub refuses comment bodies over 65 536 characters; ours stop well before. */
const MAX_COMMENT_LENGTH = 60_000;

export interface PostedComment {
  id: number;
  htmlUrl: string | null;
}

/** Not retried in-call after a timeout or 5xx: the comment may exist. */
export async function createIssueComment(
  api: GithubRequests,
  repository: string,
  issueNumber: number,
  body: string,
): Promise<PostedComment> {
  const repoPath = repositoryPath(repository);
  requirePositiveInteger('issue number', issueNumber);
  return api.json(
    {
      operation: 'create_comment',
      method: 'POST',
      path: `${repoPath}/issues/${issueNumber}/comments`,
      body: { body: body.slice(0, MAX_COMMENT_LENGTH) },
      idempotent: false,
    },
    toComment,
  );
}

/** Replacing a body twice leaves the same comment: retried in-call. */
export async function updateIssueComment(
  api: GithubRequests,
  repository: string,
  commentId: number,
  body: string,
): Promise<PostedComment> {
  const repoPath = repositoryPath(repository);
  requirePositiveInteger('comment id', commentId);
  return api.json(
    {
      operation: 'update_comment',
      method: 'PATCH',
      path: `${repoPath}/issues/comments/${commentId}`,
      body: { body: body.slice(0, MAX_COMMENT_LENGTH) },
      idempotent: true,
    },
    toComment,
  );
}
