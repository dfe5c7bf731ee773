import type { ClientModuleAsyncOptions, ServicePolicyTuning } from '@app/platform';
import type { GithubAppCredentials } from './github-app-auth';

/** Settings of {@link GithubClient}; policy tuning as in `ServicePolicyTuning` (timeoutMs 10000). */
export interface GithubClientOptions extends ServicePolicyTuning {
  /** REST root: `https://api.github.com`, or `https://<host>/api/v3` for GHES. */
  apiUrl: string;
  /** Personal access or installation token; without it calls are anonymous. */
  token?: string;
  /**
   * A GitHub App: views from `forInstallation(id)` call as that installation (installation
   * tokens, cached), and App-level endpoints (the App hook's deliveries) use the App JWT.
   */
  app?: GithubAppCredentials;
  /** Below this many requests left, `budgetWaitMs` asks background work to wait. Default 100. */
  rateLimitReserve?: number;
  /**
   * After a secondary rate limit without `Retry-After`, the identity waits this long, doubled
   * for each limit in a row (up to 32 times). Default 60000: GitHub asks for at least a minute.
   */
  secondaryLimitMinWaitMs?: number;
  /** An installation token is replaced this long before it expires. Default 300000 (5 min). */
  installationTokenRefreshMarginMs?: number;
  /** Clock of the token cache and budgets, epoch ms (tests); default `Date.now`. JWTs use real time. */
  now?: () => number;
  /** GitHub rejects requests without a User-Agent. Default `webhook-orchestrator`. */
  userAgent?: string;
}

/** Options of `GithubModule.forRootAsync`. */
export type GithubModuleAsyncOptions = ClientModuleAsyncOptions<GithubClientOptions>;

/** One file changed by a pull request. */
export interface PullRequestFile {
  filename: string;
  /** added, removed, modified, renamed, copied, changed or unchanged. */
  status: string;
  additions: number;
  deletions: number;
  changes: number;
}

/** The fields of a pull request the orchestrator decides on. */
export interface PullRequestSummary {
  number: number;
  /** open or closed (a merged pull request is closed). */
  state: string;
  draft: boolean;
  headSha: string;
  headRef: string;
  baseRef: string;
  title: string;
  htmlUrl: string;
  /** Label names. */
  labels: string[];
  /** The author's login and account type (`User`, `Bot`); null when GitHub sent none. */
  authorLogin: string | null;
  authorType: string | null;
  /** `author_association`: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, …; null when absent. */
  authorAssociation: string | null;
  /** `head.repo.full_name`; null when the head repository (a fork) was deleted. */
  headRepository: string | null;
  /** `base.repo.full_name`; null when GitHub sent none. */
  baseRepository: string | null;
}

/** A file read through the contents API. */
export interface RepositoryFile {
  /** `file`, `dir`, `symlink` or `submodule`: only files have content. */
  type: string;
  /** The blob SHA (changes exactly when the content does). */
  sha: string;
  size: number;
  /** The decoded bytes; null for non-files and for files larger than the caller's limit. */
  content: Uint8Array | null;
}

/** One check run of a check suite. */
export interface CheckRunSummary {
  id: number;
  name: string;
  /** queued, in_progress, completed, ... */
  status: string;
  /** success, failure, timed_out, ...; null until completed. */
  conclusion: string | null;
  detailsUrl: string | null;
  htmlUrl: string | null;
}

/** Who made a commit, as GitHub accounts (`type` is `User` or `Bot`). */
export interface CommitSummary {
  sha: string;
  authorLogin: string | null;
  authorType: string | null;
  committerLogin: string | null;
  committerType: string | null;
}

/** One annotation of a check run (a failing test, a lint error). */
export interface CheckAnnotation {
  path: string;
  startLine: number | null;
  /** notice, warning or failure. */
  level: string | null;
  message: string;
  title: string | null;
}

/** A check run's output and annotations, bounded in size for prompts. */
export interface CheckRunDetails {
  id: number;
  name: string;
  conclusion: string | null;
  detailsUrl: string | null;
  title: string | null;
  summary: string | null;
  text: string | null;
  annotations: CheckAnnotation[];
}
