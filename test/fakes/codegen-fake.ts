import { IncomingMessage, ServerResponse } from 'node:http';
import { codegenContract, CodegenSchemaName } from '../contracts/codegen/codegen-schemas';
import { FakeFailure, FakeRequest, FakeServer, templatePattern } from './fake-server';

/**
 * Codegen agent API fake, written from Codegen's published contract (not from our client): a
 * real HTTP server on 127.0.0.1 with the create / read / list runs endpoints, `resume`,
 * `remove-from-pr`, `ban` and the repository list. Every body it receives is checked against
 * the published request schema (a mismatch is answered as Codegen would and recorded in
 * `violations`); every run it serves is checked against `AgentRunResponse` (recorded in
 * `answerViolations`). Tests steer it with the methods below; it imports nothing of the product.
 *
 * Defaults: organization 42, token `codegen-test-token`, runs start `ACTIVE` (ids 1, 2, ...),
 * error bodies `{message, status_code}` (422 as FastAPI's `{detail: [...]}`).
 */

/** A request as received (path with query string, parsed JSON body, arrival time). */
export type CodegenFakeRequest = FakeRequest;

/** The fake's routes, for targeting failures and counting calls. */
export type CodegenRoute =
  'create' | 'get' | 'list' | 'repos' | 'resume' | 'remove_from_pr' | 'ban' | 'logs';

/** An answer that replaces the normal one (see `failNext`). */
export interface CodegenFakeFailure extends FakeFailure {
  /** Body; default the published error body for the status. A string is sent as is. */
  body?: unknown;
  /** Only requests to this route take the failure (default: the next request, any route). */
  route?: CodegenRoute;
  /**
   * For `create`: make the run first, then answer with this failure (a create whose answer says
   * nothing useful, or is lost: see `cutNextCreate`).
   */
  afterCreate?: boolean;
}

/** A pull request an agent run opened. Codegen's answer carries no number: it is in the URL. */
export interface FakeAgentPullRequest {
  url: string;
  title?: string;
  head_branch_name?: string;
}

/** An agent run as the fake holds it. */
export interface FakeAgentRun {
  id: number;
  orgId: number;
  prompt: string;
  metadata: Record<string, unknown> | null;
  repoId: number | null;
  /** The `Authorization` header of the creating request. */
  authorization: string | undefined;
  /** Codegen's status (null: not known yet). */
  status: string | null;
  /** Statuses still to come, one per read of the run; the last one stays. */
  script: Array<string | null>;
  result: string | null;
  summary: string | null;
  webUrl: string | null;
  pullRequests: FakeAgentPullRequest[];
  createdAt: string;
  /** Reads of this run so far. */
  gets: number;
  /** Times the service asked Codegen to stop this run's work on its pull request. */
  removedFromPr: number;
  /** Prompts it was resumed with. */
  resumedWith: string[];
}

/** How `completeRun` changes a run. */
export interface FakeRunOutcome {
  status: string | null;
  result?: string | null;
  summary?: string | null;
  pullRequests?: FakeAgentPullRequest[];
}

/** A repository the organization has connected. */
export interface FakeRepository {
  id: number;
  full_name: string;
}

/** Options of {@link CodegenFake.start}. */
export interface CodegenFakeOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Bearer token every request must carry, else 401. Default `codegen-test-token`. */
  token?: string;
  /** The organization; other ids in the path get 404. Default 42. */
  orgId?: number;
  /** Repositories the organization knows (`owner/name`); ids 1001, 1002, ... */
  repositories?: string[];
  /** When set, a running run turns COMPLETE on its N-th read. */
  autoCompleteAfterGets?: number;
  /** Statuses every new run walks through, one per read (see `scriptStatuses`). */
  statusScript?: Array<string | null>;
}

/** The route table: Codegen's published paths, by route name. */
const ROUTES: Array<[CodegenRoute, 'GET' | 'POST', RegExp]> = (
  [
    ['create', 'POST', '/v1/organizations/{org_id}/agent/run'],
    ['resume', 'POST', '/v1/organizations/{org_id}/agent/run/resume'],
    ['remove_from_pr', 'POST', '/v1/organizations/{org_id}/agent/run/remove-from-pr'],
    ['ban', 'POST', '/v1/organizations/{org_id}/agent/run/ban'],
    ['get', 'GET', '/v1/organizations/{org_id}/agent/run/{agent_run_id}'],
    ['list', 'GET', '/v1/organizations/{org_id}/agent/runs'],
    ['repos', 'GET', '/v1/organizations/{org_id}/repos'],
    ['logs', 'GET', '/v1/alpha/organizations/{org_id}/agent/run/{agent_run_id}/logs'],
  ] as const
).map(([route, method, template]) => [route, method, templatePattern(template)]);

/** The route a path belongs to (whatever the method), or undefined. */
function routeOf(
  path: string,
): { route: CodegenRoute; method: string; match: RegExpExecArray } | undefined {
  for (const [route, method, pattern] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return { route, method, match };
  }
  return undefined;
}

const RUNNING = new Set(['PENDING', 'ACTIVE', 'RUNNING', 'EVALUATION']);

export class CodegenFake extends FakeServer<CodegenFakeFailure> {
  /** Runs created since start or the last `reset()`, in creation order. */
  readonly createdRuns: FakeAgentRun[] = [];
  /** Requests that did not match the published request schemas (the test that sent one fails). */
  readonly violations: string[] = [];
  /** Answers of the fake itself that did not match the published schemas (a fake bug). */
  readonly answerViolations: string[] = [];
  /** Requests per route since start or the last `reset()`. */
  readonly counters: Record<CodegenRoute | 'unknown', number> = emptyCounters();
  /** The bearer token the fake accepts. */
  readonly token: string;
  /** The organization id the fake serves. */
  readonly orgId: number;
  private autoCompleteAfterGets: number | undefined;
  private statusScript: Array<string | null>;
  private repositories: FakeRepository[] = [];
  private createAnswerDelayMs = 0;
  private planLimitReached = false;
  private cutCreates = 0;
  private nextId = 1;
  private readonly initialRepositories: string[];

  private constructor(options: CodegenFakeOptions) {
    super();
    this.token = options.token ?? 'codegen-test-token';
    this.orgId = options.orgId ?? 42;
    this.autoCompleteAfterGets = options.autoCompleteAfterGets;
    this.statusScript = options.statusScript ?? [];
    this.initialRepositories = options.repositories ?? [];
    this.setRepositories(this.initialRepositories);
  }

  /**
   * Starts the fake on `options.port` (default: a free port) on 127.0.0.1; its `url` is the
   * client's `baseUrl`.
   */
  static async start(options: CodegenFakeOptions = {}): Promise<CodegenFake> {
    const fake = new CodegenFake(options);
    await fake.listen(options.port ?? 0);
    return fake;
  }

  /**
   * Forgets requests, runs, violations, failures, latency, scripts and the plan limit; ids restart
   * at 1 and the repositories are those given at start.
   */
  override reset(): void {
    super.reset();
    this.createdRuns.length = 0;
    this.violations.length = 0;
    this.answerViolations.length = 0;
    Object.assign(this.counters, emptyCounters());
    this.createAnswerDelayMs = 0;
    this.planLimitReached = false;
    this.cutCreates = 0;
    this.autoCompleteAfterGets = undefined;
    this.statusScript = [];
    this.nextId = 1;
    this.setRepositories(this.initialRepositories);
  }

  /** Makes running runs turn COMPLETE on their N-th read; undefined turns that off. */
  setAutoComplete(afterGets: number | undefined): void {
    this.autoCompleteAfterGets = afterGets;
  }

  /**
   * Every run created from now on walks through `statuses`, one per read (the status the create
   * answers with is the first; the last one stays). E.g. `[null, 'ACTIVE', 'TIMEOUT']`.
   */
  scriptStatuses(statuses: Array<string | null>): void {
    this.statusScript = [...statuses];
  }

  /** Changes an existing run's coming statuses, one per read (the last one stays). */
  scriptRun(id: number, statuses: Array<string | null>): void {
    this.run(id).script = [...statuses];
  }

  /** Ends (or changes) a run the way Codegen would. */
  completeRun(id: number, outcome: FakeRunOutcome): void {
    const run = this.run(id);
    run.status = outcome.status;
    run.script = [];
    if (outcome.result !== undefined) run.result = outcome.result;
    if (outcome.summary !== undefined) run.summary = outcome.summary;
    if (outcome.pullRequests !== undefined) run.pullRequests = outcome.pullRequests;
  }

  /** The organization's repositories (`owner/name`), replacing the current list. */
  setRepositories(fullNames: string[]): void {
    this.repositories = fullNames.map((full_name, i) => ({ id: 1001 + i, full_name }));
  }

  /** Adds a repository; returns its Codegen id. */
  addRepository(fullName: string): number {
    const id = 1001 + this.repositories.length;
    this.repositories.push({ id, full_name: fullName });
    return id;
  }

  /** The Codegen id of a repository, or undefined. */
  repositoryId(fullName: string): number | undefined {
    return this.repositories.find((r) => r.full_name === fullName)?.id;
  }

  /** From now on every create gets 402 (the plan's run allowance is used up) until turned off. */
  setPlanLimitReached(reached: boolean): void {
    this.planLimitReached = reached;
  }

  /**
   * The next `count` creates make their run and then drop the connection without an answer (the
   * run exists; the caller never learns its id).
   */
  cutNextCreate(count = 1): void {
    this.cutCreates += count;
  }

  /**
   * The next `count` requests (of `failure.route`, or any) get `failure` instead of their answer.
   * A status 200 with a body fakes a malformed answer.
   */
  failNext(count: number, failure: CodegenFakeFailure): void {
    const queued = failure.afterCreate ? { ...failure, route: 'create' as const } : failure;
    const route = queued.route;
    this.queueFailures(
      count,
      queued,
      route === undefined ? null : (_method, path) => routeOf(path)?.route === route,
    );
  }

  /** Creates runs at once but answers the creating request `ms` later (a request in flight). */
  setCreateAnswerDelay(ms: number): void {
    this.createAnswerDelayMs = ms;
  }

  /** Runs whose metadata names this task id. */
  runsFor(taskId: string): FakeAgentRun[] {
    return this.createdRuns.filter((run) => run.metadata?.task_id === taskId);
  }

  private run(id: number): FakeAgentRun {
    const run = this.createdRuns.find((candidate) => candidate.id === id);
    if (!run) throw new Error(`CodegenFake: no run ${id}`);
    return run;
  }

  protected async handle(
    req: IncomingMessage,
    res: ServerResponse,
    request: FakeRequest,
  ): Promise<void> {
    const { body } = request;
    const url = new URL(request.path || '/', this.url);
    const matched = routeOf(url.pathname);
    this.counters[matched?.route ?? 'unknown']++;

    const failure = this.takeFailure(request.method, url.pathname);
    await this.waitLatency(failure?.delayMs ?? 0);
    if (failure && !failure.afterCreate) return this.sendFailure(res, failure);

    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return this.error(res, 401, 'Invalid or missing API token');
    }
    if (!matched) return this.error(res, 404, 'Not Found');
    if (req.method !== matched.method) return this.error(res, 405, 'Method Not Allowed');
    const org = matched.match[1];
    if (!/^-?\d+$/.test(org)) {
      return this.validationError(res, ['path', 'org_id'], 'Input should be a valid integer');
    }
    if (Number(org) !== this.orgId) return this.error(res, 404, 'Organization not found');

    switch (matched.route) {
      case 'create':
        return this.create(req, res, body, failure);
      case 'get':
        return this.get(res, matched.match[2]);
      case 'list':
        return this.list(res, url);
      case 'repos':
        return this.listRepositories(res, url);
      case 'resume':
        return this.resume(res, body);
      case 'remove_from_pr':
      case 'ban':
        return this.stop_(res, body, matched.route);
      case 'logs':
        return this.logs(res, matched.match[2]);
    }
  }

  private async create(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    failure: CodegenFakeFailure | undefined,
  ): Promise<void> {
    if (!this.checkRequest(res, 'CreateAgentRunInput', body, 'POST agent/run')) return;
    const input = body as Record<string, unknown>;
    if (this.planLimitReached) {
      return this.error(res, 402, 'Agent run limit reached for your plan. Upgrade to continue.');
    }
    const repoId = typeof input.repo_id === 'number' ? input.repo_id : null;
    if (repoId !== null && !this.repositories.some((r) => r.id === repoId)) {
      return this.error(res, 404, 'Repository not found in the organization');
    }
    const status = this.statusScript.length > 0 ? this.statusScript[0] : 'ACTIVE';
    const run: FakeAgentRun = {
      id: this.nextId++,
      orgId: this.orgId,
      prompt: input.prompt as string,
      metadata: isRecord(input.metadata) ? input.metadata : null,
      repoId,
      authorization: req.headers.authorization,
      status,
      script: this.statusScript.slice(1),
      result: null,
      summary: null,
      webUrl: null,
      pullRequests: [],
      createdAt: new Date().toISOString(),
      gets: 0,
      removedFromPr: 0,
      resumedWith: [],
    };
    run.webUrl = `${this.url}/agent/trace/${run.id}`;
    this.createdRuns.push(run);
    if (this.cutCreates > 0) {
      this.cutCreates--;
      // The run exists; the caller's connection drops before any answer.
      res.socket?.destroy();
      return;
    }
    if (failure) return this.sendFailure(res, failure);
    await this.delay(this.createAnswerDelayMs);
    this.sendRun(res, run);
  }

  private get(res: ServerResponse, id: string): void {
    if (!/^-?\d+$/.test(id)) {
      return this.validationError(res, ['path', 'agent_run_id'], 'Input should be a valid integer');
    }
    const run = this.createdRuns.find((candidate) => candidate.id === Number(id));
    if (!run) return this.error(res, 404, 'Agent run not found');
    run.gets++;
    if (run.script.length > 0) run.status = run.script.shift() ?? null;
    if (
      this.autoCompleteAfterGets !== undefined &&
      run.gets >= this.autoCompleteAfterGets &&
      (run.status === null || RUNNING.has(run.status.toUpperCase()))
    ) {
      run.status = 'COMPLETE';
      run.result = run.result ?? 'Done';
    }
    this.sendRun(res, run);
  }

  private list(res: ServerResponse, url: URL): void {
    const paging = this.paging(res, url);
    if (!paging) return;
    const sourceType = url.searchParams.get('source_type');
    // Every run of the fake was started through the API; newest first.
    const runs = sourceType === null || sourceType === 'API' ? [...this.createdRuns].reverse() : [];
    const items = runs.slice(paging.skip, paging.skip + paging.limit).map((r) => this.runJson(r));
    this.sendChecked(res, 'AgentRunsPage', pageOf(items, runs.length, paging));
  }

  private listRepositories(res: ServerResponse, url: URL): void {
    const paging = this.paging(res, url);
    if (!paging) return;
    const items = this.repositories.slice(paging.skip, paging.skip + paging.limit).map((r) => ({
      id: r.id,
      name: r.full_name.split('/')[1] ?? r.full_name,
      full_name: r.full_name,
      github_id: 500_000 + r.id,
      organization_id: this.orgId,
      visibility: 'private',
      archived: false,
      setup_status: 'COMPLETED',
      language: 'TypeScript',
      description: null,
    }));
    this.sendChecked(res, 'RepositoriesPage', pageOf(items, this.repositories.length, paging));
  }

  private resume(res: ServerResponse, body: unknown): void {
    if (!this.checkRequest(res, 'ResumeAgentRunInput', body, 'POST agent/run/resume')) return;
    const input = body as { agent_run_id: number; prompt: string };
    const run = this.createdRuns.find((candidate) => candidate.id === input.agent_run_id);
    if (!run) return this.error(res, 404, 'Agent run not found');
    run.resumedWith.push(input.prompt);
    run.status = 'ACTIVE';
    this.sendRun(res, run);
  }

  private stop_(res: ServerResponse, body: unknown, route: 'remove_from_pr' | 'ban'): void {
    if (!this.checkRequest(res, 'AgentRunIdInput', body, `POST agent/run/${route}`)) return;
    const run = this.createdRuns.find(
      (c) => c.id === (body as { agent_run_id: number }).agent_run_id,
    );
    if (!run) return this.error(res, 404, 'Agent run not found');
    if (route === 'remove_from_pr') run.removedFromPr++;
    // Not documented beyond "a success message".
    this.writeJson(res, 200, { message: 'ok', status_code: 200 });
  }

  private logs(res: ServerResponse, id: string): void {
    const run = this.createdRuns.find((candidate) => String(candidate.id) === id);
    if (!run) return this.error(res, 404, 'Agent run not found');
    this.writeJson(res, 200, {
      ...this.runJson(run),
      logs: [],
      total_logs: 0,
      page: 1,
      size: 100,
      pages: 0,
    });
  }

  /** skip ≥ 0, 1 ≤ limit ≤ 100, as published; a 422 otherwise. */
  private paging(res: ServerResponse, url: URL): { skip: number; limit: number } | null {
    const skip = Number(url.searchParams.get('skip') ?? '0');
    const limit = Number(url.searchParams.get('limit') ?? '100');
    if (!Number.isInteger(skip) || skip < 0) {
      this.validationError(res, ['query', 'skip'], 'Input should be greater than or equal to 0');
      return null;
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      this.validationError(res, ['query', 'limit'], 'Input should be between 1 and 100');
      return null;
    }
    return { skip, limit };
  }

  /** Records and refuses (422, as FastAPI would) a body that does not match the schema. */
  private checkRequest(
    res: ServerResponse,
    schema: CodegenSchemaName,
    body: unknown,
    what: string,
  ): boolean {
    const problems = codegenContract(schema, body);
    if (problems.length === 0) return true;
    this.violations.push(...problems.map((p) => `${what}: ${p}`));
    this.validationError(res, ['body'], problems[0]);
    return false;
  }

  private sendRun(res: ServerResponse, run: FakeAgentRun): void {
    this.sendChecked(res, 'AgentRunResponse', this.runJson(run));
  }

  private sendChecked(res: ServerResponse, schema: CodegenSchemaName, body: unknown): void {
    const problems = codegenContract(schema, body);
    this.answerViolations.push(...problems);
    this.writeJson(res, 200, body);
  }

  private runJson(run: FakeAgentRun): Record<string, unknown> {
    return {
      id: run.id,
      organization_id: run.orgId,
      status: run.status,
      created_at: run.createdAt,
      web_url: run.webUrl,
      result: run.result,
      summary: run.summary,
      source_type: 'API',
      github_pull_requests: run.pullRequests.map((pr, i) => ({
        id: 9000 + run.id * 10 + i,
        created_at: run.createdAt,
        title: pr.title ?? 'Agent fix',
        url: pr.url,
        head_branch_name: pr.head_branch_name ?? null,
      })),
      metadata: run.metadata,
    };
  }

  private sendFailure(res: ServerResponse, failure: CodegenFakeFailure): void {
    const body =
      failure.body !== undefined
        ? failure.body
        : failure.status === 422
          ? { detail: [{ loc: ['body'], msg: 'Injected failure', type: 'value_error' }] }
          : { message: 'Injected failure', status_code: failure.status };
    this.writeJson(res, failure.status, body, this.failureHeaders(failure));
  }

  protected answerError(res: ServerResponse, status: number, message: string): void {
    this.error(res, status, message);
  }

  private error(res: ServerResponse, status: number, message: string): void {
    this.writeJson(res, status, { message, status_code: status });
  }

  private validationError(res: ServerResponse, loc: string[], msg: string): void {
    this.writeJson(res, 422, { detail: [{ loc, msg, type: 'value_error' }] });
  }
}

function emptyCounters(): Record<CodegenRoute | 'unknown', number> {
  return {
    create: 0,
    get: 0,
    list: 0,
    repos: 0,
    resume: 0,
    remove_from_pr: 0,
    ban: 0,
    logs: 0,
    unknown: 0,
  };
}

function pageOf(
  items: unknown[],
  total: number,
  paging: { skip: number; limit: number },
): Record<string, unknown> {
  return {
    items,
    total,
    page: Math.floor(paging.skip / paging.limit) + 1,
    size: paging.limit,
    pages: Math.ceil(total / paging.limit),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
