import {
  AnswerReading,
  ExternalServiceError,
  inSpan,
  ServiceRequestListener,
  ServiceRequestListeners,
  ServicePolicy,
  createServicePolicy,
  isFetchFailure,
  isRecord,
  readJsonAnswer,
  RequestMeter,
  serviceBaseUrl,
} from '@app/platform';
import {
  AgentRunCreateNotSentError,
  AgentRunCreateUnconfirmedError,
  CodegenPlanLimitError,
  createMayHaveHappened,
  errorFromResponse,
} from './codegen-errors';
import { integerId, Page, toAgentRun, toPage, toRepository } from './codegen-mappers';
import type {
  AgentRun,
  CodegenBadAnswer,
  CodegenClientOptions,
  CodegenRepository,
  CreateAgentRunInput,
} from './codegen.types';
import type { CodegenOperation } from './codegen-operations';

export * from './agent-run-status';
export {
  AgentRunCreateNotSentError,
  AgentRunCreateUnconfirmedError,
  CodegenPlanLimitError,
} from './codegen-errors';

const SERVICE = 'codegen';
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_REPO_CACHE_MS = 5 * 60_000;
const DEFAULT_RUN_SEARCH_WINDOW_MS = 60 * 60_000;
/** Codegen's list endpoints take 1–100 per page. */
const PAGE_SIZE = 100;
/** At most this many pages of runs (newest first) are searched for a lost run. */
const MAX_RUN_PAGES = 10;
/** At most this many pages of repositories are read (10 000 repositories). */
const MAX_REPO_PAGES = 100;
/** Raw answers quoted in logs are cut to this length. */
const MAX_RAW_LENGTH = 2000;

type Method = 'GET' | 'POST';
type Parsed<T> = AnswerReading<T>;

/**
 * Codegen agent API client, following Codegen's published contract: every nullable field read
 * as nullable, statuses classified by {@link agentRunStatusKind}, errors as
 * {@link ExternalServiceError}s (transient: network, timeout, 5xx, 429; permanent: other 4xx,
 * invalid input). A create whose answer is lost throws {@link AgentRunCreateUnconfirmedError};
 * a 402 throws {@link CodegenPlanLimitError}. The token never appears in an error or a log.
 */
export class CodegenClient {
  /** The resilience policy of this client; observe `policy.onStateChange` for metrics. */
  readonly policy: ServicePolicy;
  private readonly orgUrl: string;
  private readonly token: string;
  private readonly requestListeners = new ServiceRequestListeners();
  private readonly badAnswerListeners = new Set<(answer: CodegenBadAnswer) => void>();
  private readonly repoCacheMs: number;
  private readonly runSearchWindowMs: number;
  private repos: { at: number; byName: Map<string, CodegenRepository> } | null = null;
  private repoRefresh: Promise<Map<string, CodegenRepository>> | null = null;
  private planLimited = false;

  constructor(options: CodegenClientOptions) {
    const { baseUrl, token, orgId, repoCacheMs, runSearchWindowMs, ...tuning } = options;
    if (typeof token !== 'string' || token.trim() === '')
      throw new TypeError('CodegenClient: token is required');
    const org = integerId(orgId);
    if (org === null) throw new TypeError('CodegenClient: orgId must be a positive integer');
    this.token = token;
    this.orgUrl = `${serviceBaseUrl('CodegenClient', 'baseUrl', baseUrl)}/v1/organizations/${org}`;
    this.repoCacheMs = repoCacheMs ?? DEFAULT_REPO_CACHE_MS;
    this.runSearchWindowMs = runSearchWindowMs ?? DEFAULT_RUN_SEARCH_WINDOW_MS;
    this.policy = createServicePolicy({
      ...tuning,
      service: SERVICE,
      host: new URL(this.orgUrl).host,
      timeoutMs: tuning.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  }

  /**
   * Calls `listener` after every HTTP request this client sends (each in-call retry is one), with
   * its operation, status class and duration. Returns the unsubscribe function.
   */
  onRequest(listener: ServiceRequestListener): () => void {
    return this.requestListeners.add(listener);
  }

  /**
   * Calls `listener` for every answer that did not match the published contract, with the raw
   * answer (token removed, at most 2000 characters) for the log. Returns the unsubscribe function.
   */
  onBadAnswer(listener: (answer: CodegenBadAnswer) => void): () => void {
    this.badAnswerListeners.add(listener);
    return () => this.badAnswerListeners.delete(listener);
  }

  /** True from a 402 on create (the plan's run allowance is used up) until a create succeeds. */
  get planLimitReached(): boolean {
    return this.planLimited;
  }

  /**
   * Starts an agent run. Not retried in-call after a failure Codegen may have acted on, so one
   * call never starts two runs. Any 2xx means the run exists: one without a readable id, like a
   * timeout or a connection cut, throws {@link AgentRunCreateUnconfirmedError}.
   */
  async createAgentRun(input: CreateAgentRunInput): Promise<AgentRun> {
    if (typeof input.prompt !== 'string' || input.prompt.trim() === '') {
      throw new ExternalServiceError(SERVICE, 'invalid agent run: prompt is empty', false);
    }
    if (input.metadata !== undefined && !isRecord(input.metadata)) {
      throw new ExternalServiceError(
        SERVICE,
        'invalid agent run: metadata must be an object',
        false,
      );
    }
    if (input.repoId !== undefined && integerId(input.repoId) === null) {
      throw new ExternalServiceError(
        SERVICE,
        'invalid agent run: repo_id must be an integer',
        false,
      );
    }
    const body = JSON.stringify({
      prompt: input.prompt,
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
      ...(input.repoId !== undefined ? { repo_id: input.repoId } : {}),
    });
    let answer: { parsed: Parsed<AgentRun>; status: number };
    try {
      answer = await this.request(
        'create_agent_run',
        'POST',
        `${this.orgUrl}/agent/run`,
        body,
        (json) => toAgentRun(json),
        false,
        input.sendBy,
      );
    } catch (error) {
      if (error instanceof AgentRunCreateNotSentError) throw error;
      if (error instanceof CodegenPlanLimitError) this.planLimited = true;
      if (error instanceof ExternalServiceError && !createMayHaveHappened(error)) throw error;
      if (!(error instanceof ExternalServiceError) && !isFetchFailure(error)) throw error;
      throw new AgentRunCreateUnconfirmedError(
        error instanceof Error ? error.message : String(error),
      );
    }
    this.planLimited = false;
    if (!answer.parsed.ok)
      throw new AgentRunCreateUnconfirmedError(
        `HTTP ${answer.status}, ${answer.parsed.problem}`,
        answer.status,
      );
    return answer.parsed.value;
  }

  /** Reads an agent run by its id. A body without a readable run is a transient error. */
  async getAgentRun(id: number | string): Promise<AgentRun> {
    const runId = this.runId(id);
    return this.read('get_agent_run', `${this.orgUrl}/agent/run/${runId}`, (json) =>
      toAgentRun(json),
    );
  }

  /** One page of the organization's API-started runs, newest first. */
  async listAgentRuns(page: { skip?: number; limit?: number } = {}): Promise<Page<AgentRun>> {
    const skip = Math.max(0, Math.floor(page.skip ?? 0));
    const limit = Math.min(PAGE_SIZE, Math.max(1, Math.floor(page.limit ?? PAGE_SIZE)));
    const url = `${this.orgUrl}/agent/runs?source_type=API&skip=${skip}&limit=${limit}`;
    return this.read('list_agent_runs', url, (json) => toPage(json, toAgentRun));
  }

  /**
   * Finds the run a create whose answer was lost may have made: the newest-first list of
   * API-started runs is searched for `metadata.task_id`, back to `requestedAt` less the search
   * window (at most 1000 runs). Null when there is none.
   */
  async findRunByTaskId(taskId: string, requestedAt: Date): Promise<AgentRun | null> {
    const oldest = requestedAt.getTime() - this.runSearchWindowMs;
    for (let page = 0; page < MAX_RUN_PAGES; page++) {
      const { items, pages } = await this.listAgentRuns({
        skip: page * PAGE_SIZE,
        limit: PAGE_SIZE,
      });
      const match = items.find((run) => run.metadata?.task_id === taskId);
      if (match) return match;
      if (items.length < PAGE_SIZE || (pages !== null && page + 1 >= pages)) return null;
      const created = items.map((run) => Date.parse(run.createdAt ?? '')).filter(Number.isFinite);
      if (created.length > 0 && Math.min(...created) < oldest) return null;
    }
    return null;
  }

  /**
   * Codegen's repository for a GitHub `owner/name` (case-insensitive), from the organization's
   * repository list, read page by page and reused for `repoCacheMs`. Null when Codegen does not
   * know it.
   */
  async findRepository(fullName: string): Promise<CodegenRepository | null> {
    const fresh = this.repos !== null && Date.now() - this.repos.at < this.repoCacheMs;
    const byName = fresh && this.repos ? this.repos.byName : await this.refreshRepositories();
    return byName.get(fullName.toLowerCase()) ?? null;
  }

  /** Tells Codegen to stop the run's work on its pull request (`remove-from-pr`). */
  async removeFromPr(id: number | string): Promise<void> {
    const runId = this.runId(id);
    await this.request(
      'remove_agent_from_pr',
      'POST',
      `${this.orgUrl}/agent/run/remove-from-pr`,
      JSON.stringify({ agent_run_id: runId }),
      () => null,
      // Stopping twice is harmless.
      true,
    );
  }

  private runId(id: number | string): number {
    const runId = integerId(id);
    if (runId === null) {
      throw new ExternalServiceError(
        SERVICE,
        `invalid agent run id ${JSON.stringify(String(id).slice(0, 100))}`,
        false,
      );
    }
    return runId;
  }

  private refreshRepositories(): Promise<Map<string, CodegenRepository>> {
    // One read for every caller that finds the cache stale at the same time.
    this.repoRefresh ??= (async () => {
      try {
        const byName = new Map<string, CodegenRepository>();
        for (let page = 0; page < MAX_REPO_PAGES; page++) {
          const url = `${this.orgUrl}/repos?skip=${page * PAGE_SIZE}&limit=${PAGE_SIZE}`;
          const { items, pages } = await this.read('list_repositories', url, (json) =>
            toPage(json, toRepository),
          );
          for (const repo of items) byName.set(repo.fullName.toLowerCase(), repo);
          if (items.length < PAGE_SIZE || (pages !== null && page + 1 >= pages)) break;
        }
        this.repos = { at: Date.now(), byName };
        return byName;
      } finally {
        this.repoRefresh = null;
      }
    })();
    return this.repoRefresh;
  }

  /** A GET whose unreadable answer is a transient error (the next read may be fine). */
  private async read<T>(
    operation: CodegenOperation,
    url: string,
    parse: (json: unknown) => T,
  ): Promise<T> {
    const { parsed, status } = await this.request(operation, 'GET', url, undefined, parse, true);
    if (!parsed.ok)
      throw new ExternalServiceError(
        SERVICE,
        `malformed answer to GET ${new URL(url).pathname}: ${parsed.problem}`,
        true,
        status,
      );
    return parsed.value;
  }

  private async request<T>(
    operation: CodegenOperation,
    method: Method,
    url: string,
    body: string | undefined,
    parse: (json: unknown) => T,
    idempotent = method === 'GET',
    sendBy?: number,
  ): Promise<{ parsed: Parsed<T>; status: number }> {
    const label = `${method} ${new URL(url).pathname}`;
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${this.token}`,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const execute = () =>
      this.policy.execute(
        async (signal) => {
          const response = await this.send(operation, signal, () => {
            // As late as the request can be refused: a caller that stalled past its time sends nothing.
            if (sendBy !== undefined && Date.now() >= sendBy)
              throw new AgentRunCreateNotSentError(sendBy);
            return fetch(url, { method, headers, body, signal });
          });
          const text = await response.text();
          if (!response.ok) throw errorFromResponse(response, text, label, (t) => this.redact(t));
          return {
            parsed: this.parse(operation, response.status, text, parse),
            status: response.status,
          };
        },
        { idempotent },
      );
    // One span per logical call (its in-call retries are children when fetch is instrumented).
    return inSpan(`codegen.${operation}`, { 'codegen.operation': operation }, execute);
  }

  /** Parses an answer; what does not match the contract is reported with the raw body. */
  private parse<T>(
    operation: CodegenOperation,
    status: number,
    text: string,
    parse: (json: unknown) => T,
  ): Parsed<T> {
    const parsed = readJsonAnswer(text, parse, { emptyIsNull: true });
    if (!parsed.ok) {
      this.reportBadAnswer(operation, status, parsed.problem, text);
      return parsed;
    }
    const problems = problemsOf(parsed.value);
    if (problems.length > 0) this.reportBadAnswer(operation, status, problems.join('; '), text);
    return parsed;
  }

  private reportBadAnswer(
    operation: CodegenOperation,
    httpStatus: number,
    problem: string,
    text: string,
  ): void {
    const raw = this.redact(text.slice(0, MAX_RAW_LENGTH * 2)).slice(0, MAX_RAW_LENGTH);
    for (const listener of this.badAnswerListeners) {
      try {
        listener({ operation, httpStatus, problem, raw });
      } catch {
        // Logging must never fail a call.
      }
    }
  }

  /** One HTTP request, reported to the request listeners however it ends. */
  private async send(
    operation: CodegenOperation,
    signal: AbortSignal,
    call: () => Promise<Response>,
  ): Promise<Response> {
    const meter = new RequestMeter(this.requestListeners, SERVICE, operation, signal);
    try {
      const response = await call();
      meter.answered(response.status);
      return response;
    } catch (error) {
      meter.failed();
      throw error;
    }
  }

  /** A server echoing the Authorization header (or any bearer token) must not leak it. */
  private redact(text: string): string {
    return text
      .split(this.token)
      .join('***')
      .replace(/(bearer\s+)[^\s"',;]+/gi, '$1***');
  }
}

function problemsOf(value: unknown): string[] {
  if (!isRecord(value)) return [];
  if (Array.isArray(value.problems)) {
    const own = value.problems.filter((p): p is string => typeof p === 'string');
    const items = Array.isArray(value.items) ? value.items.flatMap(problemsOf) : [];
    return [...own, ...items];
  }
  return [];
}
