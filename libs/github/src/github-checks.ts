import type { CheckRunDetails, CheckRunSummary } from './github.types';
import { toAnnotations, toCheckRunOutput, toCheckRunPage } from './github-mappers';
import { repositoryPath, requirePositiveInteger } from './github-paths';
import { GithubRequests, PAGE_SIZE } from './github-requests';

/** Check runs: those of a suite, and what one of them reported. */

const MAX_CHECK_RUNS = 1000;

/** Check runs of a check suite, following pagination up to 1000 runs. */
export async function listCheckRunsForSuite(
  api: GithubRequests,
  repository: string,
  checkSuiteId: number,
): Promise<CheckRunSummary[]> {
  const repoPath = repositoryPath(repository);
  requirePositiveInteger('check suite id', checkSuiteId);
  const runs: CheckRunSummary[] = [];
  for (let page = 1; runs.length < MAX_CHECK_RUNS; page++) {
    const { totalCount, items } = await api.get(
      'list_check_runs',
      `${repoPath}/check-suites/${checkSuiteId}/check-runs`,
      page,
      toCheckRunPage,
    );
    runs.push(...items);
    if (items.length < PAGE_SIZE || runs.length >= totalCount) break;
  }
  return runs.slice(0, MAX_CHECK_RUNS);
}

/** A check run's output and its first `maxAnnotations` annotations (first page). */
export async function getCheckRunDetails(
  api: GithubRequests,
  repository: string,
  checkRunId: number,
  maxAnnotations: number,
): Promise<CheckRunDetails> {
  const repoPath = repositoryPath(repository);
  requirePositiveInteger('check run id', checkRunId);
  const run = await api.get(
    'get_check_run',
    `${repoPath}/check-runs/${checkRunId}`,
    undefined,
    toCheckRunOutput,
  );
  const annotations = await api.get(
    'list_annotations',
    `${repoPath}/check-runs/${checkRunId}/annotations`,
    1,
    (body) => toAnnotations(body, maxAnnotations),
  );
  return { ...run, annotations };
}
