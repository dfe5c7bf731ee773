import { CheckScope, isFailingConclusion } from '../checks/failing-check';
import { TaskType } from '../tasks/task-type';
import {
  JsonRecord,
  isRecord,
  readOwn,
  readPath,
  readRecord,
  readText,
  reasonToken,
  toPositiveInt,
} from './payload-reader';
import {
  ignored,
  malformed,
  repositoryId,
  repositoryName,
  senderFacts,
  toPrNumber,
  toSha,
} from './route-helpers';
import { ROUTING_LIMITS, RouteOutcome, RoutingRules, TaskDraft } from './routing.types';

interface LinkedPullRequest {
  number: number;
  headRef: string | null;
  headSha: string | null;
}

type LinkedResult = { ok: true; prs: LinkedPullRequest[] } | { ok: false; outcome: RouteOutcome };

/**
 * Reads `<scope>.pull_requests`. Entries of another repository are dropped: GitHub lists PRs by
 * head sha and branch, which can match a fork's PR whose number means nothing here.
 */
function linkedPullRequests(
  payload: JsonRecord,
  check: JsonRecord,
  scope: CheckScope,
  action: string,
): LinkedResult {
  const raw = readOwn(check, 'pull_requests');
  if (raw === undefined || raw === null) return { ok: true, prs: [] };
  if (!Array.isArray(raw))
    return { ok: false, outcome: malformed(action, `${scope}.pull_requests`) };

  const ownRepoId = repositoryId(payload);
  const seen = new Set<number>();
  const prs: LinkedPullRequest[] = [];
  let malformedEntries = 0;
  // Bounded scan: a hostile array of a million entries costs no more than a few hundred reads.
  for (const entry of raw.slice(0, ROUTING_LIMITS.tasksPerEvent * 4)) {
    if (prs.length >= ROUTING_LIMITS.tasksPerEvent) break;
    const number = isRecord(entry) ? toPrNumber(readOwn(entry, 'number')) : null;
    if (number === null) {
      malformedEntries += 1;
      continue;
    }
    const baseRepoId = readPath(entry, 'base', 'repo', 'id');
    if (ownRepoId !== null && typeof baseRepoId === 'number' && baseRepoId !== ownRepoId) continue;
    if (seen.has(number)) continue;
    seen.add(number);
    prs.push({
      number,
      headRef: readText(entry, ROUTING_LIMITS.branch, 'head', 'ref'),
      headSha: toSha(readPath(entry, 'head', 'sha')),
    });
  }
  if (prs.length === 0 && malformedEntries > 0) {
    return { ok: false, outcome: malformed(action, `${scope}.pull_requests.number`) };
  }
  return { ok: true, prs };
}

/** Shared front half of both check routers: action, object, conclusion, id, repository. */
function readCompletedCheck(
  payload: JsonRecord,
  action: string | null,
  scope: CheckScope,
  rules: RoutingRules,
):
  | {
      ok: true;
      action: string;
      check: JsonRecord;
      id: number;
      conclusion: string;
      repository: string;
    }
  | { ok: false; outcome: RouteOutcome } {
  if (action === null) return { ok: false, outcome: malformed(action, 'action') };
  if (action !== 'completed') {
    return { ok: false, outcome: ignored(action, `action_not_handled:${reasonToken(action)}`) };
  }
  const check = readRecord(payload, scope);
  if (check === null) return { ok: false, outcome: malformed(action, scope) };

  const rawConclusion = readOwn(check, 'conclusion');
  if (rawConclusion !== undefined && rawConclusion !== null && typeof rawConclusion !== 'string') {
    return { ok: false, outcome: malformed(action, `${scope}.conclusion`) };
  }
  const conclusion = typeof rawConclusion === 'string' ? rawConclusion : null;
  if (conclusion === null || !isFailingConclusion(conclusion, scope, rules)) {
    return {
      ok: false,
      outcome: ignored(action, `conclusion_not_failing:${reasonToken(conclusion)}`),
    };
  }
  const id = toPositiveInt(readOwn(check, 'id'));
  if (id === null) return { ok: false, outcome: malformed(action, `${scope}.id`) };
  const repository = repositoryName(payload);
  if (repository === null) return { ok: false, outcome: malformed(action, 'repository.full_name') };
  return { ok: true, action, check, id, conclusion, repository };
}

/** `check_run.completed` with a failing conclusion → one `check_failure_analysis` per linked PR. */
export function routeCheckRun(
  payload: JsonRecord,
  action: string | null,
  rules: RoutingRules,
): RouteOutcome {
  const head = readCompletedCheck(payload, action, 'check_run', rules);
  if (!head.ok) return head.outcome;
  const linked = linkedPullRequests(payload, head.check, 'check_run', head.action);
  if (!linked.ok) return linked.outcome;

  const { check } = head;
  const shared = {
    action: head.action,
    check_run_id: head.id,
    check_run_name: readText(check, ROUTING_LIMITS.text, 'name'),
    conclusion: head.conclusion,
    details_url: readText(check, ROUTING_LIMITS.url, 'details_url'),
    html_url: readText(check, ROUTING_LIMITS.url, 'html_url'),
    head_sha: toSha(readOwn(check, 'head_sha')),
    check_suite_id: toPositiveInt(readPath(check, 'check_suite', 'id')),
    app_slug: readText(check, ROUTING_LIMITS.login, 'app', 'slug'),
    ...senderFacts(payload),
  };
  if (linked.prs.length === 0) {
    // Fork PRs (and PRs GitHub did not link) arrive without pull_requests: the worker looks
    // them up by head SHA instead of dropping the failure.
    return lookupByHeadSha(
      TaskType.CheckFailureAnalysis,
      head,
      shared,
      readText(check, ROUTING_LIMITS.branch, 'check_suite', 'head_branch'),
    );
  }
  return {
    kind: 'tasks',
    action: head.action,
    tasks: linked.prs.map((pr): TaskDraft => ({
      taskType: TaskType.CheckFailureAnalysis,
      repository: head.repository,
      prNumber: pr.number,
      branch: pr.headRef ?? readText(check, ROUTING_LIMITS.branch, 'check_suite', 'head_branch'),
      commitSha: pr.headSha ?? shared.head_sha,
      inputData: { ...shared, pr_number: pr.number },
    })),
  };
}

/** `check_suite.completed` failing → one `check_suite_failure_analysis` per linked PR. */
export function routeCheckSuite(
  payload: JsonRecord,
  action: string | null,
  rules: RoutingRules,
): RouteOutcome {
  const head = readCompletedCheck(payload, action, 'check_suite', rules);
  if (!head.ok) return head.outcome;
  const linked = linkedPullRequests(payload, head.check, 'check_suite', head.action);
  if (!linked.ok) return linked.outcome;

  const { check } = head;
  const shared = {
    action: head.action,
    check_suite_id: head.id,
    conclusion: head.conclusion,
    head_branch: readText(check, ROUTING_LIMITS.branch, 'head_branch'),
    head_sha: toSha(readOwn(check, 'head_sha')),
    app_slug: readText(check, ROUTING_LIMITS.login, 'app', 'slug'),
    ...senderFacts(payload),
  };
  if (linked.prs.length === 0) {
    return lookupByHeadSha(TaskType.CheckSuiteFailureAnalysis, head, shared, shared.head_branch);
  }
  return {
    kind: 'tasks',
    action: head.action,
    tasks: linked.prs.map((pr): TaskDraft => ({
      taskType: TaskType.CheckSuiteFailureAnalysis,
      repository: head.repository,
      prNumber: pr.number,
      branch: pr.headRef ?? shared.head_branch,
      commitSha: pr.headSha ?? shared.head_sha,
      inputData: { ...shared, pr_number: pr.number },
    })),
  };
}

/** One analysis without a PR number, asking the worker to find the PRs by head SHA. */
function lookupByHeadSha(
  taskType: TaskType,
  head: { action: string; repository: string | null },
  shared: Record<string, unknown> & { head_sha: string | null },
  branch: string | null,
): RouteOutcome {
  if (shared.head_sha === null) return ignored(head.action, 'no_linked_pull_requests');
  return {
    kind: 'tasks',
    action: head.action,
    tasks: [
      {
        taskType,
        repository: head.repository,
        prNumber: null,
        branch,
        commitSha: shared.head_sha,
        inputData: { ...shared, pr_number: null, lookup_pull_requests: true },
      },
    ],
  };
}
