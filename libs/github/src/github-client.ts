import {
  ExternalServiceError,
  inSpan,
  failedRequestStatus,
  requestStatusOf,
  ServiceRequestListener,
  ServiceRequestListeners,
  ServicePolicy,
  createServicePolicy,
  parseRetryAfter,
  asArray,
  asRecord,
  errorBodyDetail as errorDetail,
  integerHeader,
  isRecord,
  readInteger as int,
  readNullableInteger as nullableInt,
  readNullableString as nullableStr,
  readString as str,
  serviceBaseUrl,
  ShapeError,
} from '@app/platform';
import type {
  CheckAnnotation,
  CheckRunDetails,
  CheckRunSummary,
  CommitSummary,
  GithubClientOptions,
  PullRequestFile,
  RepositoryFile,
  PullRequestSummary,
} from './github.types';
import { GithubAnswerError } from './answer-excerpt';
import { GithubAppJwtSource, InstallationToken, InstallationTokenCache } from './github-app-auth';
import {
  DeliveryHook,
  deliveryHookKey,
  deliveryHookPath,
  HookDelivery,
  HookDeliveryPage,
  nextCursorFromLink,
  parseDeliveryHook,
} from './hook-deliveries';
import {
  DEFAULT_RATE_LIMIT_RESERVE,
  GithubIdentity,
  RateLimitBudget,
  RateLimitBudgets,
} from './rate-limit-budget';
import type { GithubOperation } from './github-operations';
import {
  DEFAULT_SECONDARY_LIMIT_MIN_WAIT_MS,
  GithubRateLimitError,
  RateLimitHold,
  RateLimitHolds,
  rateLimitAnswer,
} from './rate-limit-holds';

const SERVICE = 'github';
const API_VERSION = '2022-11-28';
const DEFAULT_USER_AGENT = 'webhook-orchestrator';
const DEFAULT_TIMEOUT_MS = 10_000;
const PAGE_SIZE = 100;
/** GitHub itself stops listing a pull request's files at 3000. */
const DEFAULT_MAX_FILES = 3000;
const MAX_CHECK_RUNS = 1000;
const REPOSITORY_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * GitHub REST client (github.com or GHES) with its own timeout, retry and circuit breaker.
 * Answers are validated and mapped to internal camelCase types; every failure is an
 * {@link ExternalServiceError} (transient: network, timeout, 5xx, 429, rate limit; permanent:
 * other 4xx, invalid input, malformed answers). Rate limits (primary and secondary) are a
 * {@link GithubRateLimitError}: the identity that met one sends nothing until its wait is over.
 */
export class GithubClient {
  /** The resilience policy of this client; observe `policy.onStateChange` for metrics. */
  readonly policy: ServicePolicy;
  private readonly apiUrl: string;
  private readonly headers: Record<string, string>;
  private readonly requestListeners = new ServiceRequestListeners();
  // Views made by forInstallation() copy these fields: mutable state must live in shared objects.
  private readonly credentials: SharedCredentials;
  /** The installation this view calls as; null for the PAT / anonymous root client. */
  private scope: number | null = null;

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
    this.apiUrl = serviceBaseUrl('GithubClient', 'apiUrl', apiUrl);
    this.headers = {
      Accept: 'application/vnd.github+json',
      'X-GitHub-Api-Version': API_VERSION,
      'User-Agent': userAgent || DEFAULT_USER_AGENT,
    };
    const timeoutMs = tuning.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const clock = now ?? Date.now;
    const refreshMarginMs = installationTokenRefreshMarginMs ?? DEFAULT_TOKEN_REFRESH_MARGIN_MS;
    const reserve = rateLimitReserve ?? DEFAULT_RATE_LIMIT_RESERVE;
    if (!Number.isFinite(refreshMarginMs) || refreshMarginMs < 0)
      throw new TypeError('GithubClient: installationTokenRefreshMarginMs must be >= 0');
    if (!Number.isFinite(reserve) || reserve < 0)
      throw new TypeError('GithubClient: rateLimitReserve must be >= 0');
    // JWTs follow the real clock: GitHub checks them against its own.
    const jwt = app ? new GithubAppJwtSource(app.appId, app.privateKey, Date.now) : null;
    this.credentials = new SharedCredentials(
      // An empty token (unset variable) means anonymous, not "Bearer ".
      token || null,
      jwt,
      jwt
        ? new InstallationTokenCache(
            (id) => this.createInstallationToken(id, timeoutMs),
            refreshMarginMs,
            clock,
          )
        : null,
      new RateLimitBudgets(clock),
      new RateLimitHolds(clock, secondaryLimitMinWaitMs ?? DEFAULT_SECONDARY_LIMIT_MIN_WAIT_MS),
      reserve,
      clock,
    );
    this.policy = createServicePolicy({
      ...tuning,
      service: SERVICE,
      host: new URL(this.apiUrl).host,
      timeoutMs,
      // GitHub asks for no calls while limited: the wait goes back to the caller, not in-call.
      isRateLimit: (error) => error instanceof GithubRateLimitError,
    });
  }

  /** `x-ratelimit-remaining` of the last answer that carried it (any identity); null before any. */
  get rateLimitRemaining(): number | null {
    return this.credentials.budgets.lastRemaining;
  }

  /** True when a GitHub App is configured (installation tokens and App JWT available). */
  get appConfigured(): boolean {
    return this.credentials.jwt !== null;
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
    const scope = this.credentials.jwt ? id : null;
    if (scope === this.scope) return this;
    const view = Object.create(GithubClient.prototype) as GithubClient;
    Object.assign(view, this);
    view.scope = scope;
    return view;
  }

  /**
   * The core rate-limit budget that calls for `installationId` spend: the installation's when a
   * GitHub App is configured, else GITHUB_TOKEN's (or the anonymous one). Omitted: this view's;
   * `'app'`: the App JWT's. Null until an answer reported it, and once its window has reset.
   */
  rateLimitBudget(installationId?: number | null | 'app'): RateLimitBudget | null {
    return this.credentials.budgets.get(this.identityFor(installationId));
  }

  /** Every rate-limit budget seen (one per installation, the App, the token), for metrics. */
  rateLimitBudgets(): RateLimitBudget[] {
    return this.credentials.budgets.all();
  }

  /**
   * How long background work for `installationId` should wait before calling GitHub: while its
   * identity is rate limited (see {@link rateLimitHold}), until that wait ends; when fewer than
   * `reserve` (GITHUB_RATE_LIMIT_RESERVE, default 100) requests are left, until the budget
   * resets; else 0. An installation without a cached token also waits for a limit on the App
   * (its token request is an App call). Omitted installation: this view's; `'app'`: the App's.
   */
  budgetWaitMs(installationId?: number | null | 'app', reserve = this.credentials.reserve): number {
    const identity = this.identityFor(installationId);
    const { budgets, holds, installationTokens } = this.credentials;
    let waitMs = Math.max(budgets.waitMs(identity, reserve), holds.waitMs(identity));
    const id = installationId === undefined ? this.scope : installationId;
    if (typeof id === 'number' && identity !== 'app' && !installationTokens?.has(id)) {
      waitMs = Math.max(waitMs, holds.waitMs('app'));
    }
    return waitMs;
  }

  /** True when some budget this client has seen is below GITHUB_RATE_LIMIT_RESERVE, or limited. */
  anyBudgetLow(): boolean {
    const { budgets, holds, reserve } = this.credentials;
    return holds.all().length > 0 || budgets.anyWaiting(reserve);
  }

  /**
   * The rate-limit wait of the identity calls for `installationId` use, while it lasts (a 403 or
   * 429 GitHub sent as a rate limit); null when it may call. Omitted: this view's; `'app'`: the
   * App JWT's.
   */
  rateLimitHold(installationId?: number | null | 'app'): RateLimitHold | null {
    return this.credentials.holds.get(this.identityFor(installationId));
  }

  /** Every identity waiting out a rate limit now, soonest end first (health and metrics). */
  rateLimitHolds(): RateLimitHold[] {
    return this.credentials.holds.all();
  }

  /**
   * One page of a webhook's delivery log (every attempt, newest first), 100 per page. The App's
   * hook is read with the App JWT; a repository or organisation hook with this client's token.
   */
  async listHookDeliveries(
    hook: DeliveryHook,
    cursor: string | null = null,
  ): Promise<HookDeliveryPage> {
    const path = `${checkedHookPath(hook)}/deliveries`;
    const url = new URL(this.apiUrl + path);
    url.searchParams.set('per_page', String(PAGE_SIZE));
    if (cursor !== null) url.searchParams.set('cursor', cursor);
    const label = `GET ${path}`;
    const operation = 'list_hook_deliveries';
    return inSpan(`github.${operation}`, { 'github.operation': operation }, () =>
      this.policy.execute(async (signal) => {
        const { response, text } = await this.send(operation, url, signal, label, {
          auth: hookAuth(hook),
        });
        if (!response.ok) throw errorFromResponse(response, text, label);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw malformed(label, 'body is not JSON', response.status, text);
        }
        try {
          return {
            deliveries: asArray(body, 'body').map((d, i) => toHookDelivery(d, `[${i}]`)),
            nextCursor: nextCursorFromLink(response.headers.get('link')),
          };
        } catch (error) {
          if (error instanceof ShapeError)
            throw malformed(label, error.message, response.status, text);
          throw error;
        }
      }),
    );
  }

  /**
   * Asks GitHub to deliver a logged delivery again (`POST .../deliveries/{id}/attempts`). Not
   * retried in-call after a timeout or 5xx: the request may have been taken.
   */
  async redeliverHookDelivery(hook: DeliveryHook, deliveryId: number): Promise<void> {
    requirePositiveInteger('delivery id', deliveryId);
    const path = `${checkedHookPath(hook)}/deliveries/${deliveryId}/attempts`;
    const url = new URL(this.apiUrl + path);
    const label = `POST ${path}`;
    const operation = 'redeliver_hook_delivery';
    await inSpan(`github.${operation}`, { 'github.operation': operation }, () =>
      this.policy.execute(
        async (signal) => {
          const { response, text } = await this.send(operation, url, signal, label, {
            method: 'POST',
            auth: hookAuth(hook),
          });
          if (!response.ok) throw errorFromResponse(response, text, label);
        },
        { idempotent: false },
      ),
    );
  }

  /**
   * Calls `listener` after every HTTP request this client sends (each in-call retry is one), with
   * its operation, status class, duration and rate-limit budget. Returns the unsubscribe function.
   */
  onRequest(listener: ServiceRequestListener): () => void {
    return this.requestListeners.add(listener);
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
    const repoPath = repositoryPath(repository);
    requirePositiveInteger('pull request number', prNumber);
    requirePositiveInteger('maxFiles', maxFiles);
    const files: PullRequestFile[] = [];
    for (let page = 1; files.length < maxFiles; page++) {
      const items = await this.get(
        'list_pull_request_files',
        `${repoPath}/pulls/${prNumber}/files`,
        page,
        (body) => asArray(body, 'body').map((item, i) => toPullRequestFile(item, `[${i}]`)),
      );
      files.push(...items);
      if (items.length < PAGE_SIZE) break;
    }
    return files.slice(0, maxFiles);
  }

  /**
   * One pull request.
   * @param repository `owner/repo`
   */
  async getPullRequest(repository: string, prNumber: number): Promise<PullRequestSummary> {
    const repoPath = repositoryPath(repository);
    requirePositiveInteger('pull request number', prNumber);
    return this.get(
      'get_pull_request',
      `${repoPath}/pulls/${prNumber}`,
      undefined,
      toPullRequestSummary,
    );
  }

  /**
   * Check runs of a check suite, following pagination up to 1000 runs.
   * @param repository `owner/repo`
   */
  async listCheckRunsForSuite(
    repository: string,
    checkSuiteId: number,
  ): Promise<CheckRunSummary[]> {
    const repoPath = repositoryPath(repository);
    requirePositiveInteger('check suite id', checkSuiteId);
    const runs: CheckRunSummary[] = [];
    for (let page = 1; runs.length < MAX_CHECK_RUNS; page++) {
      const { totalCount, items } = await this.get(
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

  /**
   * The commit's author and committer as GitHub accounts (null when the email matches none).
   * @param repository `owner/repo`
   */
  async getCommit(repository: string, sha: string): Promise<CommitSummary> {
    const repoPath = repositoryPath(repository);
    requireSha(sha);
    return this.get('get_commit', `${repoPath}/commits/${sha}`, undefined, toCommitSummary);
  }

  /**
   * Pull requests whose head is this commit (how a fork PR's failed check finds its PR).
   * @param repository `owner/repo`
   */
  async listPullRequestsForCommit(repository: string, sha: string): Promise<PullRequestSummary[]> {
    const repoPath = repositoryPath(repository);
    requireSha(sha);
    return this.get('list_commit_pulls', `${repoPath}/commits/${sha}/pulls`, 1, (body) =>
      asArray(body, 'body').map((pr) => toPullRequestSummary(pr)),
    );
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
    const repoPath = repositoryPath(repository);
    requirePositiveInteger('check run id', checkRunId);
    const run = await this.get(
      'get_check_run',
      `${repoPath}/check-runs/${checkRunId}`,
      undefined,
      toCheckRunOutput,
    );
    const annotations = await this.get(
      'list_annotations',
      `${repoPath}/check-runs/${checkRunId}/annotations`,
      1,
      (body) =>
        asArray(body, 'body')
          .slice(0, maxAnnotations)
          .map((a, i) => toAnnotation(a, `annotations[${i}]`)),
    );
    return { ...run, annotations };
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
    const repoPath = repositoryPath(repository);
    if (!/^[A-Za-z0-9_.\-/]{1,255}$/.test(path) || path.split('/').includes('..'))
      throw new ExternalServiceError(SERVICE, 'invalid repository file path', false);
    const query = ref === null ? '' : `?ref=${encodeURIComponent(ref)}`;
    const encodedPath = path.split('/').map(encodeURIComponent).join('/');
    try {
      return await this.get(
        'get_repository_content',
        `${repoPath}/contents/${encodedPath}${query}`,
        undefined,
        (body) => toRepositoryFile(body, maxBytes),
      );
    } catch (error) {
      if (error instanceof ExternalServiceError && error.status === 404) return null;
      throw error;
    }
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
  ): Promise<{ id: number; htmlUrl: string | null }> {
    const repoPath = repositoryPath(repository);
    requirePositiveInteger('issue number', issueNumber);
    return this.write(
      'POST',
      'create_comment',
      `${repoPath}/issues/${issueNumber}/comments`,
      { body: body.slice(0, 60_000) },
      toComment,
      false,
    );
  }

  /** Replaces the body of a comment this app posted. @param repository `owner/repo` */
  async updateIssueComment(
    repository: string,
    commentId: number,
    body: string,
  ): Promise<{ id: number; htmlUrl: string | null }> {
    const repoPath = repositoryPath(repository);
    requirePositiveInteger('comment id', commentId);
    return this.write(
      'PATCH',
      'update_comment',
      `${repoPath}/issues/comments/${commentId}`,
      { body: body.slice(0, 60_000) },
      toComment,
      true,
    );
  }

  private async write<T>(
    method: 'POST' | 'PATCH',
    operation: GithubOperation,
    path: string,
    payload: unknown,
    map: (body: unknown) => T,
    idempotent: boolean,
  ): Promise<T> {
    const url = new URL(this.apiUrl + path);
    const label = `${method} ${path}`;
    return inSpan(`github.${operation}`, { 'github.operation': operation }, () =>
      this.policy.execute(
        async (signal) => {
          const { response, text } = await this.send(operation, url, signal, label, {
            method,
            body: payload,
          });
          if (!response.ok) throw errorFromResponse(response, text, label);
          try {
            return map(JSON.parse(text));
          } catch (error) {
            if (error instanceof ShapeError || error instanceof SyntaxError) {
              throw malformed(label, error.message, response.status, text);
            }
            throw error;
          }
        },
        { idempotent },
      ),
    );
  }

  private async get<T>(
    operation: GithubOperation,
    path: string,
    page: number | undefined,
    map: (body: unknown) => T,
  ): Promise<T> {
    const url = new URL(this.apiUrl + path);
    if (page !== undefined) {
      url.searchParams.set('per_page', String(PAGE_SIZE));
      url.searchParams.set('page', String(page));
    }
    const label = `GET ${path}`;
    const attributes = { 'github.operation': operation, ...(page ? { 'github.page': page } : {}) };
    return inSpan(`github.${operation}`, attributes, () =>
      this.policy.execute(async (signal) => {
        const { response, text } = await this.send(operation, url, signal, label);
        if (!response.ok) throw errorFromResponse(response, text, label);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw malformed(label, 'body is not JSON', response.status, text);
        }
        try {
          return map(body);
        } catch (error) {
          if (error instanceof ShapeError)
            throw malformed(label, error.message, response.status, text);
          throw error;
        }
      }),
    );
  }

  /**
   * One HTTP request and its body text, reported to the request listeners however it ends. Not
   * sent while the identity waits out a rate limit; a rate-limit answer starts such a wait. Both
   * throw a {@link GithubRateLimitError}.
   */
  private async send(
    operation: GithubOperation,
    url: URL,
    signal: AbortSignal,
    label: string,
    init: { method?: string; body?: unknown; auth?: AuthKind } = {},
  ): Promise<{ response: Response; text: string }> {
    const { holds } = this.credentials;
    // Checked before a token is fetched: a limited installation needs none yet.
    const waiting = holds.get(this.identityFor(init.auth === 'app' ? 'app' : undefined));
    if (waiting) throw heldError(waiting, label, this.credentials.now());
    // Before the clock starts: fetching an installation token is a request of its own.
    const auth = await this.authorize(init.auth ?? 'default');
    const started = performance.now();
    const durationSeconds = (): number => (performance.now() - started) / 1000;
    const headers = { ...this.headers, ...auth.headers };
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method ?? 'GET',
        headers:
          init.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal,
      });
    } catch (error) {
      this.requestListeners.emit({
        service: SERVICE,
        operation,
        status: failedRequestStatus(signal.aborted),
        durationSeconds: durationSeconds(),
      });
      throw error;
    }
    const remaining = integerHeader(response.headers, 'x-ratelimit-remaining');
    this.credentials.budgets.record(auth.identity, response.headers);
    // A refused installation token (revoked, installation gone) is not used again.
    if (response.status === 401 && auth.installationId !== null && auth.token !== null) {
      this.credentials.installationTokens?.invalidate(auth.installationId, auth.token);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      this.requestListeners.emit({
        service: SERVICE,
        operation,
        status: failedRequestStatus(signal.aborted),
        durationSeconds: durationSeconds(),
      });
      throw error;
    }
    const limit = response.ok
      ? null
      : rateLimitAnswer(
          response.status,
          response.headers,
          errorDetail(text),
          parseRetryAfter(response.headers.get('retry-after')),
        );
    if (response.ok) holds.succeeded(auth.identity);
    this.requestListeners.emit({
      service: SERVICE,
      operation,
      status: requestStatusOf(response.status, limit !== null),
      httpStatus: response.status,
      durationSeconds: durationSeconds(),
      ...(remaining === undefined
        ? {}
        : {
            rateLimit: {
              remaining,
              resource: response.headers.get('x-ratelimit-resource') ?? 'core',
            },
          }),
    });
    if (limit) {
      const now = this.credentials.now();
      const hold = holds.limited(auth.identity, limit, now);
      const detail = errorDetail(text);
      throw new GithubRateLimitError(
        `GitHub ${label} answered ${response.status}${detail ? `: ${detail}` : ''}; ${holdText(hold)}`,
        hold,
        response.status,
        now,
      );
    }
    return { response, text };
  }

  /** The identity calls for `installationId` use; undefined means this view's own scope. */
  private identityFor(installationId: number | null | undefined | 'app'): GithubIdentity {
    if (installationId === 'app') return 'app';
    const id = installationId === undefined ? this.scope : installationId;
    if (id !== null && this.credentials.jwt) return `installation:${id}`;
    return this.credentials.token ? 'token' : 'anonymous';
  }

  /** The Authorization header of one request, and whose budget it spends. */
  private async authorize(kind: AuthKind): Promise<Authorization> {
    const { jwt, installationTokens, token } = this.credentials;
    if (kind === 'app') {
      if (!jwt) {
        throw new ExternalServiceError(
          SERVICE,
          'this call needs a GitHub App (GITHUB_APP_ID and GITHUB_PRIVATE_KEY)',
          false,
        );
      }
      return bearer(jwt.jwt(), 'app', null, null);
    }
    if (this.scope !== null && installationTokens) {
      const installationToken = await installationTokens.get(this.scope);
      return bearer(installationToken, `installation:${this.scope}`, this.scope, installationToken);
    }
    if (token) return bearer(token, 'token', null, null);
    return { headers: {}, identity: 'anonymous', installationId: null, token: null };
  }

  /** `POST /app/installations/{id}/access_tokens` with the App JWT; shared by all views. */
  private async createInstallationToken(
    installationId: number,
    timeoutMs: number,
  ): Promise<InstallationToken> {
    const path = `/app/installations/${installationId}/access_tokens`;
    const label = `POST /app/installations/${installationId}/access_tokens`;
    // Its own deadline: callers sharing this request may have different ones. A rate limit on
    // the App throws from send(): the token comes once the App's wait is over.
    const { response, text } = await this.send(
      'create_installation_token',
      new URL(this.apiUrl + path),
      AbortSignal.timeout(timeoutMs),
      label,
      { method: 'POST', auth: 'app' },
    );
    if (!response.ok) {
      const error = errorFromResponse(response, text, label);
      if (response.status === 404 || response.status === 403) {
        // Uninstalled, suspended, or another App's installation: no token will come.
        throw new ExternalServiceError(
          SERVICE,
          `no access token for GitHub App installation ${installationId}: ${error.message}`,
          error.transient,
          error.status,
          error.retryAfterMs,
        );
      }
      throw error;
    }
    try {
      const body = asRecord(JSON.parse(text), 'body');
      const token = str(body, 'token', 'body');
      const expiresAtMs = Date.parse(str(body, 'expires_at', 'body'));
      if (token === '' || /\s/.test(token)) throw new ShapeError('body.token is not a token');
      if (Number.isNaN(expiresAtMs)) throw new ShapeError('body.expires_at is not a time');
      return { token, expiresAtMs };
    } catch (error) {
      if (error instanceof ShapeError || error instanceof SyntaxError) {
        throw malformed(label, error.message, response.status, text);
      }
      throw error;
    }
  }
}

/** Which credentials a request uses: the view's (installation / token / none) or the App JWT. */
type AuthKind = 'default' | 'app';

interface Authorization {
  headers: Record<string, string>;
  identity: GithubIdentity;
  installationId: number | null;
  /** The installation token sent, to invalidate exactly it on a 401. */
  token: string | null;
}

/** State every view of one client shares. Never printed: it holds the token. */
class SharedCredentials {
  constructor(
    readonly token: string | null,
    readonly jwt: GithubAppJwtSource | null,
    readonly installationTokens: InstallationTokenCache | null,
    readonly budgets: RateLimitBudgets,
    readonly holds: RateLimitHolds,
    readonly reserve: number,
    readonly now: () => number,
  ) {}

  toJSON(): Record<string, unknown> {
    return { token: this.token ? '[redacted]' : null, app: this.jwt !== null };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SharedCredentials { token: ${this.token ? '[redacted]' : 'none'}, app: ${this.jwt !== null} }`;
  }
}

const DEFAULT_TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

function bearer(
  credential: string,
  identity: GithubIdentity,
  installationId: number | null,
  token: string | null,
): Authorization {
  return { headers: { Authorization: `Bearer ${credential}` }, identity, installationId, token };
}

function hookAuth(hook: DeliveryHook): AuthKind {
  return hook.kind === 'app' ? 'app' : 'default';
}

/** The hook's API path, after checking it the way parsed input is checked. */
function checkedHookPath(hook: DeliveryHook): string {
  const checked = parseDeliveryHook(deliveryHookKey(hook));
  if (!checked) throw new ExternalServiceError(SERVICE, 'invalid webhook reference', false);
  return deliveryHookPath(checked);
}

function toHookDelivery(value: unknown, where: string): HookDelivery {
  const d = asRecord(value, where);
  const deliveredAt = Date.parse(str(d, 'delivered_at', where));
  if (Number.isNaN(deliveredAt)) throw new ShapeError(`${where}.delivered_at is not a time`);
  const redelivery = d.redelivery;
  if (typeof redelivery !== 'boolean') throw new ShapeError(`${where}.redelivery is not a boolean`);
  return {
    id: int(d, 'id', where),
    guid: str(d, 'guid', where),
    deliveredAtMs: deliveredAt,
    redelivery,
    statusCode: typeof d.status_code === 'number' ? d.status_code : 0,
    status: typeof d.status === 'string' ? d.status.slice(0, 200) : '',
    event: str(d, 'event', where),
    action: nullableStr(d, 'action', where),
    installationId: nullableInt(d, 'installation_id', where),
    repositoryId: nullableInt(d, 'repository_id', where),
  };
}

/** Validates `owner/repo` so that no input can change the request path. */
function repositoryPath(repository: string): string {
  const segments = typeof repository === 'string' ? repository.split('/') : [];
  const valid =
    REPOSITORY_PATTERN.test(repository) &&
    segments.every((segment) => segment !== '.' && segment !== '..');
  if (!valid) {
    throw new ExternalServiceError(
      SERVICE,
      `invalid repository ${JSON.stringify(String(repository).slice(0, 100))}`,
      false,
    );
  }
  return `/repos/${segments[0]}/${segments[1]}`;
}

function requirePositiveInteger(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ExternalServiceError(
      SERVICE,
      `invalid ${what} ${String(value)}: expected a positive integer`,
      false,
    );
  }
}

/** A failed answer that is not a rate limit (send() throws for those). */
function errorFromResponse(response: Response, text: string, label: string): ExternalServiceError {
  const { status, headers } = response;
  const detail = errorDetail(text);
  const message = `GitHub ${label} answered ${status}${detail ? `: ${detail}` : ''}`;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  if (status >= 500) return new ExternalServiceError(SERVICE, message, true, status, retryAfterMs);
  // A 403 that is no rate limit is a permission error: asking again changes nothing.
  return new ExternalServiceError(SERVICE, message, false, status);
}

/** The error for a call not sent because its identity waits out a rate limit. */
function heldError(hold: RateLimitHold, label: string, now: number): GithubRateLimitError {
  return new GithubRateLimitError(
    `GitHub ${label} not sent: ${holdText(hold)}`,
    hold,
    undefined,
    now,
  );
}

function holdText(hold: RateLimitHold): string {
  const what = hold.kind === 'secondary' ? 'secondary rate limit' : 'rate limit (budget spent)';
  return `${hold.identity} waits out a ${what} until ${new Date(hold.untilMs).toISOString()}`;
}

function malformed(label: string, reason: string, status: number, text: string): GithubAnswerError {
  return new GithubAnswerError(`malformed answer to ${label}: ${reason}`, status, text);
}

function toPullRequestFile(value: unknown, where: string): PullRequestFile {
  const file = asRecord(value, where);
  return {
    filename: str(file, 'filename', where),
    status: str(file, 'status', where),
    additions: int(file, 'additions', where),
    deletions: int(file, 'deletions', where),
    changes: int(file, 'changes', where),
  };
}

function toPullRequestSummary(value: unknown): PullRequestSummary {
  const pr = asRecord(value, 'body');
  const head = asRecord(pr.head, 'head');
  const base = asRecord(pr.base, 'base');
  const draft = pr.draft;
  // Older GHES versions omit `draft`; such a pull request cannot be a draft.
  if (draft !== undefined && typeof draft !== 'boolean')
    throw new ShapeError('body.draft is not a boolean');
  return {
    number: int(pr, 'number', 'body'),
    state: str(pr, 'state', 'body'),
    draft: draft ?? false,
    headSha: str(head, 'sha', 'head'),
    headRef: str(head, 'ref', 'head'),
    baseRef: str(base, 'ref', 'base'),
    title: str(pr, 'title', 'body'),
    htmlUrl: str(pr, 'html_url', 'body'),
    labels: asArray(pr.labels ?? [], 'labels').map((label, i) =>
      str(asRecord(label, `labels[${i}]`), 'name', `labels[${i}]`),
    ),
    authorLogin: account(pr.user).login,
    authorType: account(pr.user).type,
    authorAssociation: typeof pr.author_association === 'string' ? pr.author_association : null,
    // A deleted fork leaves `head.repo: null`.
    headRepository: isRecord(head.repo) ? nullableStr(head.repo, 'full_name', 'head.repo') : null,
    baseRepository: isRecord(base.repo) ? nullableStr(base.repo, 'full_name', 'base.repo') : null,
  };
}

function toRepositoryFile(value: unknown, maxBytes: number): RepositoryFile {
  // A directory answers with an array of entries.
  if (Array.isArray(value)) return { type: 'dir', sha: '', size: 0, content: null };
  const file = asRecord(value, 'body');
  const type = str(file, 'type', 'body');
  const size = int(file, 'size', 'body');
  const sha = str(file, 'sha', 'body');
  if (type !== 'file' || size > maxBytes) return { type, sha, size, content: null };
  // Files over 1 MB come with encoding "none" and empty content.
  if (file.encoding !== 'base64' || typeof file.content !== 'string')
    return { type, sha, size, content: null };
  return { type, sha, size, content: new Uint8Array(Buffer.from(file.content, 'base64')) };
}

function toCheckRunPage(value: unknown): { totalCount: number; items: CheckRunSummary[] } {
  const page = asRecord(value, 'body');
  return {
    totalCount: int(page, 'total_count', 'body'),
    items: asArray(page.check_runs, 'check_runs').map((item, i) =>
      toCheckRun(item, `check_runs[${i}]`),
    ),
  };
}

function toCheckRun(value: unknown, where: string): CheckRunSummary {
  const run = asRecord(value, where);
  return {
    id: int(run, 'id', where),
    name: str(run, 'name', where),
    status: str(run, 'status', where),
    conclusion: nullableStr(run, 'conclusion', where),
    detailsUrl: nullableStr(run, 'details_url', where),
    htmlUrl: nullableStr(run, 'html_url', where),
  };
}

function requireSha(sha: string): void {
  if (typeof sha !== 'string' || !/^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(sha)) {
    throw new ExternalServiceError(
      SERVICE,
      'invalid commit sha: expected 40 or 64 hex digits',
      false,
    );
  }
}

function account(value: unknown): { login: string | null; type: string | null } {
  if (!isRecord(value)) return { login: null, type: null };
  return {
    login: typeof value.login === 'string' ? value.login : null,
    type: typeof value.type === 'string' ? value.type : null,
  };
}

function toCommitSummary(value: unknown): CommitSummary {
  const commit = asRecord(value, 'body');
  const author = account(commit.author);
  const committer = account(commit.committer);
  return {
    sha: str(commit, 'sha', 'body'),
    authorLogin: author.login,
    authorType: author.type,
    committerLogin: committer.login,
    committerType: committer.type,
  };
}

function bounded(value: unknown, max: number): string | null {
  return typeof value === 'string' ? value.slice(0, max) : null;
}

function toCheckRunOutput(value: unknown): Omit<CheckRunDetails, 'annotations'> {
  const run = asRecord(value, 'body');
  const output = isRecord(run.output) ? run.output : {};
  return {
    id: int(run, 'id', 'body'),
    name: str(run, 'name', 'body'),
    conclusion: nullableStr(run, 'conclusion', 'body'),
    detailsUrl: nullableStr(run, 'details_url', 'body'),
    title: bounded(output.title, 500),
    summary: bounded(output.summary, 4000),
    text: bounded(output.text, 4000),
  };
}

function toAnnotation(value: unknown, where: string): CheckAnnotation {
  const a = asRecord(value, where);
  return {
    path: str(a, 'path', where).slice(0, 500),
    startLine: typeof a.start_line === 'number' ? a.start_line : null,
    level: typeof a.annotation_level === 'string' ? a.annotation_level : null,
    message: bounded(a.message, 1000) ?? '',
    title: bounded(a.title, 300),
  };
}

function toComment(value: unknown): { id: number; htmlUrl: string | null } {
  const comment = asRecord(value, 'body');
  return { id: int(comment, 'id', 'body'), htmlUrl: nullableStr(comment, 'html_url', 'body') };
}
