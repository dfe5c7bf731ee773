import { TaskType } from '../tasks/task-type';
import {
  JsonRecord,
  readArray,
  readBoolean,
  readOwn,
  readRecord,
  readText,
  reasonToken,
} from './payload-reader';
import {
  ignored,
  malformed,
  repositoryName,
  senderFacts,
  toPrNumber,
  toSha,
} from './route-helpers';
import { ROUTING_LIMITS, RouteOutcome } from './routing.types';

/** Pull request actions that may change what the code does, so they are worth analysing. */
export const HANDLED_PULL_REQUEST_ACTIONS: readonly string[] = [
  'opened',
  'synchronize',
  'reopened',
  'ready_for_review',
];

/** `pull_request` → one `pull_request_analysis` draft for a handled action, else ignored. */
export function routePullRequest(
  payload: JsonRecord,
  action: string | null,
  trustLabel: string | null = null,
): RouteOutcome {
  if (action === null) return malformed(action, 'action');
  // The opt-in label being added may release an agent run the trust gate held back.
  const label = readText(payload, ROUTING_LIMITS.branch, 'label', 'name');
  const trustLabelAdded =
    action === 'labeled' && trustLabel !== null && label?.toLowerCase() === trustLabel;
  if (!HANDLED_PULL_REQUEST_ACTIONS.includes(action) && !trustLabelAdded) {
    return ignored(action, `action_not_handled:${reasonToken(action)}`);
  }

  const pr = readRecord(payload, 'pull_request');
  if (pr === null) return malformed(action, 'pull_request');
  // `pull_request.number` is authoritative; the top-level `number` is its documented twin.
  const prNumber = toPrNumber(readOwn(pr, 'number') ?? readOwn(payload, 'number'));
  if (prNumber === null) return malformed(action, 'pull_request.number');
  const repository = repositoryName(payload);
  if (repository === null) return malformed(action, 'repository.full_name');

  const headRepo = readText(pr, ROUTING_LIMITS.repository, 'head', 'repo', 'full_name');
  const baseRepo =
    readText(pr, ROUTING_LIMITS.repository, 'base', 'repo', 'full_name') ?? repository;
  // A null head repo means the fork was deleted: treat it as a fork, we cannot push there.
  const isFork = headRepo === null || headRepo.toLowerCase() !== baseRepo.toLowerCase();

  const inputData: Record<string, unknown> = {
    action,
    pr_number: prNumber,
    draft: readBoolean(pr, 'draft') ?? false,
    title: readText(pr, ROUTING_LIMITS.text, 'title'),
    html_url: readText(pr, ROUTING_LIMITS.url, 'html_url'),
    base_ref: readText(pr, ROUTING_LIMITS.branch, 'base', 'ref'),
    head_repo_full_name: headRepo,
    is_fork: isFork,
    labels: labelNames(pr),
    author_association: readText(pr, 40, 'author_association'),
    ...(trustLabelAdded ? { label } : {}),
    ...senderFacts(payload),
  };
  if (action === 'synchronize') {
    inputData.before = toSha(readOwn(payload, 'before'));
    inputData.after = toSha(readOwn(payload, 'after'));
  }

  return {
    kind: 'tasks',
    action,
    tasks: [
      {
        taskType: TaskType.PullRequestAnalysis,
        repository,
        prNumber,
        branch: readText(pr, ROUTING_LIMITS.branch, 'head', 'ref'),
        commitSha: toSha(readOwn(readOwn(pr, 'head'), 'sha')),
        inputData,
      },
    ],
  };
}

function labelNames(pr: JsonRecord): string[] {
  const labels = readArray(pr, 'labels') ?? [];
  const names: string[] = [];
  for (const label of labels.slice(0, ROUTING_LIMITS.labels)) {
    const name = readText(label, ROUTING_LIMITS.branch, 'name');
    if (name !== null) names.push(name);
  }
  return names;
}
