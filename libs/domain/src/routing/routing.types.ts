import { TaskType } from '../tasks/task-type';

/** Knobs of the routing rules that operators may change. */
export interface RoutingRules {
  /** `cancelled` check runs and suites count as failing (see checks/failing-check.ts). */
  includeCancelledChecks: boolean;
  /** Branches whose pushes are analysed; unset or null = the repository's default branch. */
  pushBranches?: readonly string[] | null;
  /**
   * The agent opt-in label (lower case): a `pull_request` `labeled` event adding it is routed, so
   * an agent run the trust gate held back can start. Unset or null: `labeled` is ignored.
   */
  trustLabel?: string | null;
}

/** Rules used when the caller passes none: cancelled checks are not failures. */
export const DEFAULT_ROUTING_RULES: Readonly<RoutingRules> = Object.freeze({
  includeCancelledChecks: false,
});

/** A workflow task to store together with its event; ids and status are the caller's job. */
export interface TaskDraft {
  taskType: TaskType;
  /** `owner/name`, at most 255 chars. */
  repository: string | null;
  prNumber: number | null;
  /** Branch name without `refs/heads/`, at most 255 chars. */
  branch: string | null;
  /** At most 64 chars (SHA-256 repositories exist). */
  commitSha: string | null;
  /** Facts the worker needs, snake_case keys, values already length-capped. */
  inputData: Record<string, unknown>;
}

/** A change to a GitHub App installation, from `installation` or `installation_repositories`. */
export interface InstallationChange {
  installationId: number;
  accountLogin: string | null;
  accountType: string | null;
  action: string;
  /** Full names (`owner/name`) the installation gained. */
  repositoriesAdded: string[];
  /** Full names (`owner/name`) the installation lost. */
  repositoriesRemoved: string[];
  /** 'all' | 'selected' as GitHub reports it, or null. */
  repositorySelection: string | null;
}

/**
 * What an event means for the orchestrator. `action` is the payload's `action` (capped), or null
 * for events without one (push).
 */
export type RouteOutcome =
  | { kind: 'tasks'; action: string | null; tasks: TaskDraft[] }
  | { kind: 'ignored'; action: string | null; reason: string }
  | { kind: 'pong'; zen: string | null; hookId: number | null }
  | { kind: 'installation'; action: string | null; change: InstallationChange };

/** Columns of `webhook_events` extracted from any payload for filtering. */
export interface EventFacts {
  action: string | null;
  /** `repository.full_name`. */
  repository: string | null;
  installationId: number | null;
  senderLogin: string | null;
  senderType: string | null;
}

/** Length caps for strings copied out of payloads, matching the column sizes. */
export const ROUTING_LIMITS = Object.freeze({
  repository: 255,
  branch: 255,
  sha: 64,
  action: 64,
  login: 255,
  /** Free text such as titles, commit messages, check names. */
  text: 1024,
  url: 2048,
  /** Most tasks one event may produce (a check linked to many PRs). */
  tasksPerEvent: 50,
  labels: 100,
  /** Most repository names kept per installation change. */
  installationRepositories: 1000,
});
