import { ExternalServiceError } from '@app/domain/errors/domain-error';
import { ServicePolicy, createServicePolicy, parseRetryAfter } from '@app/domain/resilience';
import type {
  CheckRunSummary,
  GithubClientOptions,
  PullRequestFile,
  PullRequestSummary,
} from './github.types';

const SERVICE = 'github';
const API_VERSION = '2022-11-28';
const DEFAULT_USER_AGENT = 'webhook-orchestrator';
const DEFAULT_TIMEOUT_MS = 10_000;
const PAGE_SIZE = 100;
/** GitHub itself stops listing a pull request's files at 3000. */
const DEFAULT_MAX_FILES = 3000;
const MAX_CHECK_RUNS = 1000;
const REPOSITORY_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const MAX_DETAIL_LENGTH = 200;

/**
 * GitHub REST client (github.com or GHES) with its own timeout, retry and circuit breaker.
 * Answers are validated and mapped to internal camelCase types; every failure is an
 * {@link ExternalServiceError} (transient: network, timeout, 5xx, 429, rate limit; permanent:
 * other 4xx, invalid input, malformed answers).
 */
export class GithubClient {
  /** The resilience policy of this client; observe `policy.onStateChange` for metrics. */
  readonly policy: ServicePolicy;
  private readonly apiUrl: string;
  private readonly headers: Record<string, string>;
  private lastRateLimitRemaining: number | null = null;

  constructor(options: GithubClientOptions) {
    const { apiUrl, token, userAgent, ...tuning } = options;
    this.apiUrl = normalizeApiUrl(apiUrl);
    this.headers = {
      Accept: 'application/vnd.github+json',
      'X-GitHub-Api-Version': API_VERSION,
      'User-Agent': userAgent || DEFAULT_USER_AGENT,
    };
    // An empty token (unset variable) means anonymous, not "Bearer ".
    if (token) this.headers.Authorization = `Bearer ${token}`;
    this.policy = createServicePolicy({
      ...tuning,
      service: SERVICE,
      timeoutMs: tuning.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  }

  /** `x-ratelimit-remaining` of the last answer that carried it; null before any. */
  get rateLimitRemaining(): number | null {
    return this.lastRateLimitRemaining;
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
      const items = await this.get(`${repoPath}/pulls/${prNumber}/files`, page, (body) =>
        asArray(body, 'body').map((item, i) => toPullRequestFile(item, `[${i}]`)),
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
    return this.get(`${repoPath}/pulls/${prNumber}`, undefined, toPullRequestSummary);
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
        `${repoPath}/check-suites/${checkSuiteId}/check-runs`,
        page,
        toCheckRunPage,
      );
      runs.push(...items);
      if (items.length < PAGE_SIZE || runs.length >= totalCount) break;
    }
    return runs.slice(0, MAX_CHECK_RUNS);
  }

  private async get<T>(
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
    return this.policy.execute(async (signal) => {
      const response = await fetch(url, { headers: this.headers, signal });
      this.recordRateLimit(response.headers);
      const text = await response.text();
      if (!response.ok) throw errorFromResponse(response, text, label);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw malformed(label, 'body is not JSON', response.status);
      }
      try {
        return map(body);
      } catch (error) {
        if (error instanceof ShapeError) throw malformed(label, error.message, response.status);
        throw error;
      }
    });
  }

  private recordRateLimit(headers: Headers): void {
    const remaining = integerHeader(headers, 'x-ratelimit-remaining');
    if (remaining !== undefined) this.lastRateLimitRemaining = remaining;
  }
}

function normalizeApiUrl(apiUrl: string): string {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new TypeError('GithubClient: apiUrl must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('GithubClient: apiUrl must be an http(s) URL');
  }
  if (url.search || url.hash)
    throw new TypeError('GithubClient: apiUrl must not carry a query or fragment');
  return url.href.replace(/\/+$/, '');
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

function errorFromResponse(response: Response, text: string, label: string): ExternalServiceError {
  const { status, headers } = response;
  const detail = errorDetail(text);
  const message = `GitHub ${label} answered ${status}${detail ? `: ${detail}` : ''}`;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  const exhausted = headers.get('x-ratelimit-remaining') === '0';
  // A 403 is a rate limit when the quota is spent (primary) or it says when to retry (secondary).
  if (status === 429 || (status === 403 && (exhausted || retryAfterMs !== undefined))) {
    const waitMs = retryAfterMs ?? (exhausted ? resetDelayMs(headers) : undefined);
    return new ExternalServiceError(SERVICE, message, true, status, waitMs);
  }
  if (status >= 500) return new ExternalServiceError(SERVICE, message, true, status, retryAfterMs);
  return new ExternalServiceError(SERVICE, message, false, status);
}

/** GitHub's error `message`, shortened; the body is never echoed whole into logs. */
function errorDetail(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body) && typeof body.message === 'string')
      return body.message.slice(0, MAX_DETAIL_LENGTH);
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone has to do.
  }
  return undefined;
}

function resetDelayMs(headers: Headers): number | undefined {
  const resetEpochSeconds = integerHeader(headers, 'x-ratelimit-reset');
  if (resetEpochSeconds === undefined) return undefined;
  return Math.max(0, resetEpochSeconds * 1000 - Date.now());
}

function integerHeader(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

function malformed(label: string, reason: string, status: number): ExternalServiceError {
  return new ExternalServiceError(
    SERVICE,
    `malformed answer to ${label}: ${reason}`,
    false,
    status,
  );
}

/** A field of an answer has the wrong shape; becomes a permanent ExternalServiceError. */
class ShapeError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw new ShapeError(`${where} is not an object`);
  return value;
}

function asArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(`${where} is not an array`);
  return value;
}

function str(record: Record<string, unknown>, key: string, where: string): string {
  const value = record[key];
  if (typeof value !== 'string') throw new ShapeError(`${where}.${key} is not a string`);
  return value;
}

function nullableStr(record: Record<string, unknown>, key: string, where: string): string | null {
  const value = record[key];
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new ShapeError(`${where}.${key} is not a string`);
  return value;
}

function int(record: Record<string, unknown>, key: string, where: string): number {
  const value = record[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new ShapeError(`${where}.${key} is not an integer`);
  }
  return value;
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
  };
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
