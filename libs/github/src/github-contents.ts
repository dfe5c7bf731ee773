import { ExternalServiceError } from '@app/platform';
import type { RepositoryFile } from './github.types';
import { toRepositoryFile } from './github-mappers';
import { contentsPath, repositoryPath } from './github-paths';
import type { GithubRequests } from './github-requests';

/** Repository contents: one file (the repository rules file) at a ref. */

/** The file at `path` and `ref` (null: the default branch); null when GitHub answers 404. */
export async function getRepositoryFile(
  api: GithubRequests,
  repository: string,
  path: string,
  ref: string | null,
  maxBytes: number,
): Promise<RepositoryFile | null> {
  const repoPath = repositoryPath(repository);
  const filePath = contentsPath(path, ref);
  try {
    return await api.get('get_repository_content', `${repoPath}/${filePath}`, undefined, (body) =>
      toRepositoryFile(body, maxBytes),
    );
  } catch (error) {
    if (error instanceof ExternalServiceError && error.status === 404) return null;
    throw error;
  }
}
