import {
  ExternalServiceError,
  integerHeader,
  readJsonAnswer,
  RequestMeter,
  serviceBaseUrl,
  ServicePolicyTuning,
  ServiceRequestListeners,
} from '@app/platform';
import type { GithubClientOptions } from './github.types';
import { GithubAppJwtSource, InstallationToken, InstallationTokenCache } from './github-app-auth';
import {
  errorFromResponse,
  heldError,
  malformed,
  noInstallationTokenError,
  rateLimitedError,
  rateLimitOf,
} from './github-errors';
import { toInstallationToken } from './github-mappers';
import type { GithubOperation } from './github-operations';
import { DEFAULT_RATE_LIMIT_RESERVE, GithubIdentity, RateLimitBudgets } from './rate-limit-budget';
import { DEFAULT_SECONDARY_LIMIT_MIN_WAIT_MS, RateLimitHolds } from './rate-limit-holds';

const SERVICE = 'github';
const API_VERSION = '2022-11-28';
const DEFAULT_USER_AGENT = 'webhook-orchestrator';
export const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/** The client's options the transport reads (the policy's tuning aside from its timeout). */
export type GithubTransportOptions = Omit<GithubClientOptions, keyof ServicePolicyTuning> & {
  timeoutMs?: number;
};

/** Which credentials a request uses: the view's (installation / token / none) or the App JWT. */
export type AuthKind = 'default' | 'app';

/** The view a request is sent for: the installation it calls as, null for the root client. */
export type Scope = number | null;

/** One request as the transport sends it. */
export interface GithubRequest {
  operation: GithubOperation;
  url: URL;
  /** `METHOD /path`, as errors name the request. */
  label: string;
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  auth?: AuthKind;
}

/** What GitHub answered, with the body read. */
export interface GithubAnswer {
  response: Response;
  text: string;
}

interface Authorization {
  headers: Record<string, string>;
  identity: GithubIdentity;
  installationId: number | null;
  /** The installation token sent, to invalidate exactly it on a 401. */
  token: string | null;
}

/** State every view of one client shares. Never printed: it holds the token. */
export class SharedCredentials {
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

/**
 * How a request reaches GitHub (github.com or a GHES API root): the URL, GitHub's required
 * headers, the credentials of the calling view (installation token fetched and cached, the App
 * JWT, GITHUB_TOKEN, or none), the rate-limit budgets and waits of each identity, and one
 * request event per request sent. Timeouts, retries and the circuit breaker wrap it from outside
 * (see GithubRequests); it is shared by every view of one client.
 */
export class GithubTransport {
  readonly apiUrl: string;
  readonly timeoutMs: number;
  readonly credentials: SharedCredentials;
  readonly requestListeners = new ServiceRequestListeners();
  private readonly headers: Record<string, string>;

  constructor(options: GithubTransportOptions) {
    const {
      apiUrl,
      token,
      userAgent,
      app,
      rateLimitReserve,
      installationTokenRefreshMarginMs,
      secondaryLimitMinWaitMs,
      now,
      timeoutMs,
    } = options;
    this.apiUrl = serviceBaseUrl('GithubClient', 'apiUrl', apiUrl);
    this.headers = {
      Accept: 'application/vnd.github+json',
      'X-GitHub-Api-Version': API_VERSION,
      'User-Agent': userAgent || DEFAULT_USER_AGENT,
    };
    this.timeoutMs = timeoutMs ?? DEFAULT_TIMEOUT_MS;
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
            (id) => this.createInstallationToken(id),
            refreshMarginMs,
            clock,
          )
        : null,
      new RateLimitBudgets(clock),
      new RateLimitHolds(clock, secondaryLimitMinWaitMs ?? DEFAULT_SECONDARY_LIMIT_MIN_WAIT_MS),
      reserve,
      clock,
    );
  }

  /** The absolute URL of an API path. */
  url(path: string): URL {
    return new URL(this.apiUrl + path);
  }

  /**
   * The identity calls for `installationId` use; undefined means the view's own `scope`.
   * Installations are identities of their own only when a GitHub App is configured.
   */
  identityFor(scope: Scope, installationId: number | null | undefined | 'app'): GithubIdentity {
    if (installationId === 'app') return 'app';
    const id = installationId === undefined ? scope : installationId;
    if (id !== null && this.credentials.jwt) return `installation:${id}`;
    return this.credentials.token ? 'token' : 'anonymous';
  }

  /**
   * One HTTP request and its body text, reported to the request listeners however it ends. Not
   * sent while the identity waits out a rate limit; a rate-limit answer starts such a wait. Both
   * throw a GithubRateLimitError. Other failing statuses are returned for the caller to map.
   */
  async send(scope: Scope, request: GithubRequest, signal: AbortSignal): Promise<GithubAnswer> {
    const { operation, url, label, method, body, auth: kind } = request;
    const { holds } = this.credentials;
    // Checked before a token is fetched: a limited installation needs none yet.
    const waiting = holds.get(this.identityFor(scope, kind === 'app' ? 'app' : undefined));
    if (waiting) throw heldError(waiting, label, this.credentials.now());
    // Before the clock starts: fetching an installation token is a request of its own.
    const auth = await this.authorize(scope, kind ?? 'default');
    const meter = new RequestMeter(this.requestListeners, SERVICE, operation, signal);
    const headers = { ...this.headers, ...auth.headers };
    let response: Response;
    try {
      response = await fetch(url, {
        method: method ?? 'GET',
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      meter.failed();
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
      meter.failed();
      throw error;
    }
    const limit = rateLimitOf(response, text);
    if (response.ok) holds.succeeded(auth.identity);
    meter.answered(response.status, {
      rateLimited: limit !== null,
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
      throw rateLimitedError(label, response.status, text, hold, now);
    }
    return { response, text };
  }

  /** The Authorization header of one request, and whose budget it spends. */
  private async authorize(scope: Scope, kind: AuthKind): Promise<Authorization> {
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
    if (scope !== null && installationTokens) {
      const installationToken = await installationTokens.get(scope);
      return bearer(installationToken, `installation:${scope}`, scope, installationToken);
    }
    if (token) return bearer(token, 'token', null, null);
    return { headers: {}, identity: 'anonymous', installationId: null, token: null };
  }

  /** `POST /app/installations/{id}/access_tokens` with the App JWT; shared by all views. */
  private async createInstallationToken(installationId: number): Promise<InstallationToken> {
    const path = `/app/installations/${installationId}/access_tokens`;
    const label = `POST ${path}`;
    // Its own deadline: callers sharing this request may have different ones. A rate limit on
    // the App throws from send(): the token comes once the App's wait is over.
    const { response, text } = await this.send(
      null,
      {
        operation: 'create_installation_token',
        url: this.url(path),
        label,
        method: 'POST',
        auth: 'app',
      },
      AbortSignal.timeout(this.timeoutMs),
    );
    if (!response.ok) {
      const error = errorFromResponse(response, text, label);
      // Uninstalled, suspended, or another App's installation: no token will come.
      if (response.status === 404 || response.status === 403)
        throw noInstallationTokenError(installationId, error);
      throw error;
    }
    const parsed = readJsonAnswer(text, toInstallationToken);
    if (!parsed.ok) throw malformed(label, parsed.problem, response.status, text);
    return parsed.value;
  }
}

function bearer(
  credential: string,
  identity: GithubIdentity,
  installationId: number | null,
  token: string | null,
): Authorization {
  return { headers: { Authorization: `Bearer ${credential}` }, identity, installationId, token };
}
