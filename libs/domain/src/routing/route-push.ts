import { TaskType } from '../tasks/task-type';
import { JsonRecord, readArray, readBoolean, readOwn, readText, toText } from './payload-reader';
import { ignored, isZeroSha, malformed, repositoryName, senderFacts, toSha } from './route-helpers';
import { ROUTING_LIMITS, RouteOutcome } from './routing.types';

const BRANCH_PREFIX = 'refs/heads/';
const TAG_PREFIX = 'refs/tags/';

/** Branches accepted as default when the payload does not name one. */
const FALLBACK_DEFAULT_BRANCHES: readonly string[] = ['main', 'master'];

/**
 * `push` to the default branch → one `push_analysis` draft. Tags, deletions, other refs and other
 * branches are ignored, each with its own reason so operators can tell them apart.
 */
export function routePush(payload: JsonRecord, action: string | null, pushBranches: readonly string[] | null = null): RouteOutcome {
  // Refs are not capped before matching: a capped ref could match a branch it is not.
  const ref = toText(readOwn(payload, 'ref'), Number.MAX_SAFE_INTEGER);
  if (ref === null || ref.length === 0) return malformed(action, 'ref');
  if (ref.startsWith(TAG_PREFIX)) return ignored(action, 'tag_ref');
  if (!ref.startsWith(BRANCH_PREFIX)) return ignored(action, 'unsupported_ref');

  const after = readOwn(payload, 'after');
  if (readBoolean(payload, 'deleted') === true || isZeroSha(after)) {
    return ignored(action, 'branch_deleted');
  }
  const branch = ref.slice(BRANCH_PREFIX.length);
  if (branch.length === 0) return malformed(action, 'ref');
  if (branch.length > ROUTING_LIMITS.branch) return malformed(action, 'ref');

  const defaultBranch = readText(payload, ROUTING_LIMITS.branch, 'repository', 'default_branch');
  if (pushBranches) {
    // Workflow rules name the branches explicitly.
    if (!pushBranches.includes(branch)) return ignored(action, 'branch_not_in_rules');
  } else {
    const isDefault =
      defaultBranch !== null ? branch === defaultBranch : FALLBACK_DEFAULT_BRANCHES.includes(branch);
    if (!isDefault) return ignored(action, 'not_default_branch');
  }

  const repository = repositoryName(payload);
  if (repository === null) return malformed(action, 'repository.full_name');
  const commitSha = toSha(after);
  if (commitSha === null) return malformed(action, 'after');

  const commits = readArray(payload, 'commits');
  return {
    kind: 'tasks',
    action,
    tasks: [
      {
        taskType: TaskType.PushAnalysis,
        repository,
        prNumber: null,
        branch,
        commitSha,
        inputData: {
          ref,
          before: toSha(readOwn(payload, 'before')),
          after: commitSha,
          commit_count: commits?.length ?? 0,
          forced: readBoolean(payload, 'forced') ?? false,
          compare_url: readText(payload, ROUTING_LIMITS.url, 'compare'),
          pusher: readText(payload, ROUTING_LIMITS.login, 'pusher', 'name'),
          head_commit_id: toSha(readOwn(readOwn(payload, 'head_commit'), 'id')),
          head_commit_message: readText(payload, ROUTING_LIMITS.text, 'head_commit', 'message'),
          ...senderFacts(payload),
        },
      },
    ],
  };
}
