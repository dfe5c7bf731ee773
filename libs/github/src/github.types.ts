import type { ServicePolicyTuning } from '@app/domain/resilience';
import type { DynamicModule, InjectionToken, Type } from '@nestjs/common';

/** Settings of {@link GithubClient}; policy tuning as in `ServicePolicyTuning` (timeoutMs 10000). */
export interface GithubClientOptions extends ServicePolicyTuning {
  /** REST root: `https://api.github.com`, or `https://<host>/api/v3` for GHES. */
  apiUrl: string;
  /** Personal access or installation token; without it calls are anonymous. */
  token?: string;
  /** GitHub rejects requests without a User-Agent. Default `webhook-orchestrator`. */
  userAgent?: string;
}

/** Options of `GithubModule.forRootAsync`. */
export interface GithubModuleAsyncOptions {
  /** Modules whose providers `inject` needs. */
  imports?: Array<Type | DynamicModule>;
  /** Builds the client options, typically from a typed config object. */
  useFactory: (...args: never[]) => GithubClientOptions | Promise<GithubClientOptions>;
  /** Tokens whose instances are passed to `useFactory`, in order. */
  inject?: InjectionToken[];
}

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
