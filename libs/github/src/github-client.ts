import { createServicePolicy, ServicePolicy, ServiceRequestListener } from '@app/platform';
import type {
  CheckRunDetails,
  CheckRunSummary,
  CommitSummary,
  GithubClientOptions,
  PullRequestFile,
  PullRequestSummary,
  RepositoryFile,
} from './github.types';
import { getCheckRunDetails, listCheckRunsForSuite } from './github-checks';
import { createIssueComment, PostedComment, updateIssueComment } from './github-comments';
import { getRepositoryFile } from './github-contents';
import { requirePositiveInteger } from './github-paths';
import {
  DEFAULT_MAX_FILES,
  getCommit,
  getPullRequest,
  listPullRequestFiles,
  listPullRequestsForCommit,
} from './github-pulls';
import { listHookDeliveries, redeliverHookDelivery } from './github-hooks';
import { GithubRequests } from './github-requests';
import { DEFAULT_TIMEOUT_MS, GithubTransport } from './github-transport';
import type { DeliveryHook, HookDeliveryPage } from './hook-deliveries';
import type { RateLimitBudget } from './rate-limit-budget';
import { GithubRateLimitError, RateLimitHold } from './rate-limit-holds';

const SERVICE = 'github';

/**
 * GitHub REST client (github.com or GHES) with its own timeout, retry and circuit breaker.
 * Answers are validated and mapped to internal camelCase types; every failure is an
 * {@link ExternalServiceError} (transient: network, timeout, 5xx, 429, rate limit; permanent:
 * other 4xx, invalid input, malformed answers). Rate limits (primary and secondary) are a
 * {@link GithubRateLimitError}: the identity that met one sends nothing until its wait is over.
 *
 * The one injectable facade over: the transport and installation auth (github-transport), the
 * wrapping of each call in a span, the policy and error mapping (github-requests,
 * github-errors), the endpoint groups (github-pulls, -checks, -contents, -comments, -hooks) and
 * the readers of GitHub's answers (github-mappers).
 */
export class GithubClient {
  /** The resilience policy of this client; observe `policy.onStateChange` for metrics. */
  readonly policy: ServicePolicy;
  // Views made by forInstallation() copy these fields: mutable state lives in the transport.
  private readonly transport: GithubTransport;
  /** The installation this view calls as; null for the PAT / anonymous root client. */
  private scope: number | null = null;
  /** The calls of this view (its scope's credentials). */
  private requests: GithubRequests;

  constructor(options: GithubClientOptions) {
    const {
      apiUrl,
      token,
      userAgent,
      app,
      rateLimitReserve,
      installationTokenRefreshMarginMs,
      secondaryLimitMinWaitMs,
      now,
      ...tuning
    } = options;
    this.transport = new GithubTransport({
      apiUrl,
      token,
      userAgent,
      app,
      rateLimitReserve,
      installationTokenRefreshMarginMs,
      secondaryLimitMinWaitMs,
      now,
      timeoutMs: tuning.timeoutMs,
    });
    this.policy = createServicePolicy({
      ...tuning,
      service: SERVICE,
      host: new URL(this.transport.apiUrl).host,
      timeoutMs: tuning.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      // GitHub asks for no calls while limited: the wait goes back to the caller, not in-call.
      isRateLimit: (error) => error instanceof GithubRateLimitError,
    });
    this.requests = new GithubRequests(this.transport, this.policy, this.scope);
  }

  /** `x-ratelimit-remaining` of the last answer that carried it (any identity); null before any. */
  get rateLimitRemaining(): number | null {
    return this.transport.credentials.budgets.lastRemaining;
  }

  /** True when a GitHub App is configured (installation tokens and App JWT available). */
  get appConfigured(): boolean {
    return this.transport.credentials.jwt !== null;
  }

  /** The installation this client calls as (see {@link forInstallation}); null for the root. */
  get installationId(): number | null {
    return this.scope;
  }

  /**
   * A view of this client that calls "as installation `installationId`": every request carries
   * that installation's access token (fetched once, cached until 5 minutes before it expires,
   * shared with concurrent callers). Without an installation id, or without a GitHub App, the
   * view is this client itself: GITHUB_TOKEN, or anonymous. Views share the circuit breaker,
   * listeners, token cache and rate-limit budgets.
   * @param installationId e.g. `ctx.event?.installationId`
   */
  forInstallation(installationId: number | null | undefined): GithubClient {
    const id = installationId ?? null;
    if (id !== null) requirePositiveInteger('installation id', id);
    const scope = this.transport.credentials.jwt ? id : null;
    if (scope === this.scope) return this;
    const view = Object.create(GithubClient.prototype) as GithubClient;
    Object.assign(view, this);
    view.scope = scope;
    view.requests = new GithubRequests(this.transport, this.policy, scope);
    return view;
  }

  /**
   * The core rate-limit budget that calls for `installationId` spend: the installation's when a
   * GitHub App is configured, else GITHUB_TOKEN's (or the anonymous one). Omitted: this view's;
   * `'app'`: the App JWT's. Null until an answer reported it, and once its window has reset.
   */
  rateLimitBudget(installationId?: number | null | 'app'): RateLimitBudget | null {
    return this.transport.credentials.budgets.get(
      this.transport.identityFor(this.scope, installationId),
    );
  }

  /** Every rate-limit budget seen (one per installation, the App, the token), for metrics. */
  rateLimitBudgets(): RateLimitBudget[] {
    return this.transport.credentials.budgets.all();
  }

  /**
   * How long background work for `installationId` should wait before calling GitHub: while its
   * identity is rate limited (see {@link rateLimitHold}), until that wait ends; when fewer than
   * `reserve` (GITHUB_RATE_LIMIT_RESERVE, default 100) requests are left, until the budget
   * resets; else 0. An installation without a cached token also waits for a limit on the App
   * (its token request is an App call). Omitted installation: this view's; `'app'`: the App's.
   */
  budgetWaitMs(
    installationId?: number | null | 'app',
    reserve = this.transport.credentials.reserve,
  ): number {
    const identity = this.transport.identityFor(this.scope, installationId);
    const { budgets, holds, installationTokens } = this.transport.credentials;
    let waitMs = Math.max(budgets.waitMs(identity, reserve), holds.waitMs(identity));
    const id = installationId === undefined ? this.scope : installationId;
    if (typeof id === 'number' && identity !== 'app' && !installationTokens?.has(id)) {
      waitMs = Math.max(waitMs, holds.waitMs('app'));
    }
    return waitMs;
  }

  /** True when some budget this client has seen is below GITHUB_RATE_LIMIT_RESERVE, or limited. */
  anyBudgetLow(): boolean {
    const { budgets, holds, reserve } = this.transport.credentials;
    return holds.all().length > 0 || budgets.anyWaiting(reserve);
  }

  /**
   * The rate-limit wait of the identity calls for `installationId` use, while it lasts (a 403 or
   * 429 GitHub sent as a rate limit); null when it may call. Omitted: this view's; `'app'`: the
   * App JWT's.
   */
  rateLimitHold(installationId?: number | null | 'app'): RateLimitHold | null {
    return this.transport.credentials.holds.get(
      this.transport.identityFor(this.scope, installationId),
    );
  }

  /** Every identity waiting out a rate limit now, soonest end first (health and metrics). */
  rateLimitHolds(): RateLimitHold[] {
    return this.transport.credentials.holds.all();
  }

  /**
   * One page of a webhook's delivery log (every attempt, newest first), 100 per page. The App's
   * hook is read with the App JWT; a repository or organisation hook with this client's token.
   */
  async listHookDeliveries(
    hook: DeliveryHook,
    cursor: string | null = null,
  ): Promise<HookDeliveryPage> {
    return listHookDeliveries(this.requests, hook, cursor);
  }

  /**
   * Asks GitHub to deliver a logged delivery again (`POST .../deliveries/{id}/attempts`). Not
   * retried in-call after a timeout or 5xx: the request may have been taken.
   */
  async redeliverHookDelivery(hook: DeliveryHook, deliveryId: number): Promise<void> {
    return redeliverHookDelivery(this.requests, hook, deliveryId);
  }

  /**
   * Calls `listener` after every HTTP request this client sends (each in-call retry is one), with
   * its operation, status class, duration and rate-limit budget. Returns the unsubscribe function.
   */
  onRequest(listener: ServiceRequestListener): () => void {
    return this.transport.requestListeners.add(listener);
  }

  /**
   * Files changed by a pull request, following pagination until a short page or `maxFiles`.
   * @param repository `owner/repo`
   */
  async listPullRequestFiles(
    repository: string,
    prNumber: number,
    maxFiles = DEFAULT_MAX_FILES,
  ): Promise<PullRequestFile[]> {
    return listPullRequestFiles(this.requests, repository, prNumber, maxFiles);
  }

  /**
   * One pull request.
   * @param repository `owner/repo`
   */
  async getPullRequest(repository: string, prNumber: number): Promise<PullRequestSummary> {
    return getPullRequest(this.requests, repository, prNumber);
  }

  /**
   * Check runs of a check suite, following pagination up to 1000 runs.
   * @param repository `owner/repo`
   */
  async listCheckRunsForSuite(
    repository: string,
    checkSuiteId: number,
  ): Promise<CheckRunSummary[]> {
    return listCheckRunsForSuite(this.requests, repository, checkSuiteId);
  }

  /**
   * The commit's author and committer as GitHub accounts (null when the email matches none).
   * @param repository `owner/repo`
   */
  async getCommit(repository: string, sha: string): Promise<CommitSummary> {
    return getCommit(this.requests, repository, sha);
  }

  /**
   * Pull requests whose head is this commit (how a fork PR's failed check finds its PR).
   * @param repository `owner/repo`
   */
  async listPullRequestsForCommit(repository: string, sha: string): Promise<PullRequestSummary[]> {
    return listPullRequestsForCommit(this.requests, repository, sha);
  }

  /**
   * A check run's output (title, summary, text) and its first annotations, each bounded in size.
   * @param repository `owner/repo`
   */
  async getCheckRunDetails(
    repository: string,
    checkRunId: number,
    maxAnnotations = 50,
  ): Promise<CheckRunDetails> {
    return getCheckRunDetails(this.requests, repository, checkRunId, maxAnnotations);
  }

  /**
   * A file's content through the contents API at `ref` (a branch; the default branch when
   * omitted); null when there is no such file (404). Content larger than `maxBytes` is not
   * decoded (`content: null`, `size` says how large it is).
   * @param repository `owner/repo`
   */
  async getRepositoryFile(
    repository: string,
    path: string,
    ref: string | null,
    maxBytes: number,
  ): Promise<RepositoryFile | null> {
    return getRepositoryFile(this.requests, repository, path, ref, maxBytes);
  }

  /**
   * Posts a comment on a PR (an issue comment). Not retried in-call after a timeout or 5xx: the
   * comment may exist, and a second one is worse than none.
   * @param repository `owner/repo`
   */
  async createIssueComment(
    repository: string,
    issueNumber: number,
    body: string,
  ): Promise<PostedComment> {
    return createIssueComment(this.requests, repository, issueNumber, body);
  }

  /** Replaces the body of a comment this app posted. @param repository `owner/repo` */
  async updateIssueComment(
    repository: string,
    commentId: number,
    body: string,
  ): Promise<PostedComment> {
    return updateIssueComment(this.requests, repository, commentId, body);
  }
}
