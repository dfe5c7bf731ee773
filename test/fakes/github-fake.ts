import {
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
  createServer,
} from 'node:http';
import { createHash } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { GithubAppFake, GithubAppFakeOptions, HookDeliveriesFake } from './github-app-fake';
import { githubExample, githubListExample, GithubOpenApi } from './github-openapi';

/** A request the fake received. Header names are lower case. */
export interface RecordedRequest {
  method: string;
  /** Path with query string, e.g. `/repos/o/r/pulls/1/files?per_page=100&page=2`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
}

/** A request the GitHub fake received, and when. */
export interface GithubRecordedRequest extends RecordedRequest {
  /** When it arrived, epoch milliseconds. */
  at: number;
}

/** Answer that replaces the normal one for the next requests (see `failNext`). */
export interface InjectedFailure {
  status: number;
  /** Sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** Wait before answering (on top of `setLatency`). */
  delayMs?: number;
  /** JSON body; default `{ message: 'Injected failure' }`. Status 200 + body fakes a bad answer. */
  body?: unknown;
  /** Extra headers, e.g. `{ 'x-ratelimit-remaining': '0' }`. */
  headers?: Record<string, string>;
  /**
   * Only requests to this route take the failure (default: the next request, any route): a
   * method and a path in GitHub's template form, each `{name}` one path segment, e.g.
   * `GET /repos/{owner}/{repo}/pulls/{pull_number}/files`. Requests to other routes are
   * answered as usual and leave the failure queued.
   */
  route?: string;
}

/** A changed file; omitted counts default to a one-line change. */
export interface FakePullRequestFile {
  filename: string;
  status?: string;
  additions?: number;
  deletions?: number;
  changes?: number;
}

/** A pull request; omitted fields get plausible values. */
export interface FakePullRequest {
  state?: 'open' | 'closed';
  draft?: boolean;
  title?: string;
  headSha?: string;
  headRef?: string;
  baseRef?: string;
  labels?: string[];
  merged?: boolean;
  /** `author_association`; default OWNER (GitHub's own example); null leaves the field out. */
  authorAssociation?: string | null;
  /** `user.login` / `user.type`; default octocat / User. */
  authorLogin?: string;
  authorType?: string;
  /** `head.repo.full_name`: default the base repository; another name makes a fork, null a deleted fork. */
  headRepository?: string | null;
}

/** A check run; omitted fields get plausible values. */
export interface FakeCheckRun {
  id?: number;
  name: string;
  status?: string;
  conclusion?: string | null;
  detailsUrl?: string | null;
  htmlUrl?: string | null;
}

/** Options of {@link GithubFake.start}. */
export interface GithubFakeOptions {
  /** When set, requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
  /**
   * A GitHub App: `/app/*` routes need its JWT, installation tokens are issued and accepted
   * wherever `token` is, and each installation has its own rate-limit budget.
   */
  app?: GithubAppFakeOptions;
}

const RATE_LIMIT = 5000;
/** GitHub's 404 body (`basic-error`). */
const NOT_FOUND = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' };

/**
 * GitHub REST API fake: a real HTTP server on 127.0.0.1 serving programmed pull requests, files
 * and check runs with GitHub's JSON shapes and pagination, plus fault injection. A GHES-style
 * `/api/v3` prefix is accepted and ignored.
 *
 * Checked against GitHub's official OpenAPI description (`@octokit/openapi`): every request it
 * receives is looked up by method and path template and its path and query parameters, headers
 * and JSON body are validated; every answer it builds (from GitHub's own examples) is validated
 * against the response schema. What breaks the contract is kept in {@link violations}; the test
 * harness fails the test that caused it (see test/support/github-contract.ts). Injected answers
 * (`failNext`) are sent as given, unchecked: they are how tests fake a misbehaving GitHub.
 */
export class GithubFake {
  /** Fakes running now, for the harness's after-each check. */
  private static readonly running = new Set<GithubFake>();

  /** Contract violations of every running fake since the last call; clears them. */
  static takeAllViolations(): string[] {
    return [...GithubFake.running].flatMap((fake) => fake.takeViolations());
  }

  /** Every request received since start or the last `reset()`, in arrival order. */
  readonly requests: GithubRecordedRequest[] = [];
  /** Value of `x-ratelimit-remaining` on the next answer; decremented per answer. */
  rateLimitRemaining = RATE_LIMIT;
  /** Seconds from each answer to the `x-ratelimit-reset` it reports. */
  rateLimitResetInSeconds = 3600;
  private readonly files = new Map<string, FakePullRequestFile[]>();
  private readonly pullRequests = new Map<string, FakePullRequest>();
  private readonly checkRuns = new Map<string, FakeCheckRun[]>();
  private readonly failures: Array<{
    failure: InjectedFailure;
    matches: (method: string, path: string) => boolean;
  }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private latencyMs = 0;
  private readonly problems: string[] = [];
  /** Webhook delivery logs (App hook, repository and organisation hooks) and redeliveries. */
  readonly deliveries = new HookDeliveriesFake();
  private appFake: GithubAppFake | null | undefined;
  /** Who each answer is for (installation / App), so it reports that identity's budget. */
  private readonly identities = new WeakMap<ServerResponse, string | null>();
  /** The operation each answer is for, to check it against its response schema. */
  private readonly operations = new WeakMap<ServerResponse, ReturnType<GithubOpenApi['find']>>();

  /** The GitHub App side (JWT check, installation tokens); null without `options.app`. */
  get app(): GithubAppFake | null {
    if (this.appFake === undefined)
      this.appFake = this.options.app ? new GithubAppFake(this.options.app) : null;
    return this.appFake;
  }

  private constructor(
    private readonly server: Server,
    /** Base URL, e.g. `http://127.0.0.1:54321`; use it as the client's `apiUrl`. */
    readonly url: string,
    private readonly options: GithubFakeOptions,
  ) {}

  /** Starts the fake on a free port. */
  static async start(options: GithubFakeOptions = {}): Promise<GithubFake> {
    GithubOpenApi.load().prepare(SERVED);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new GithubFake(server, `http://127.0.0.1:${port}`, options);
    GithubFake.running.add(fake);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      fake.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(error) }));
      });
    });
    return fake;
  }

  /** Stops the server, dropping open connections and pending delayed answers. */
  async stop(): Promise<void> {
    GithubFake.running.delete(this);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Forgets recorded requests, programmed data, failures and latency. */
  reset(): void {
    this.requests.length = 0;
    this.files.clear();
    this.pullRequests.clear();
    this.checkRuns.clear();
    this.failures.length = 0;
    this.latencyMs = 0;
    this.rateLimitRemaining = RATE_LIMIT;
    this.rateLimitResetInSeconds = 3600;
    this.deliveries.reset();
    this.app?.reset();
    this.commits.clear();
    this.commitPulls.clear();
    this.checkRunDetails.clear();
    this.comments.length = 0;
    this.repositoryFiles.clear();
  }

  /**
   * Requests and answers since the last call that broke GitHub's published contract (unknown
   * operation, invalid parameter, header or body; an answer its schema refuses). Clears them.
   */
  takeViolations(): string[] {
    return this.problems.splice(0, this.problems.length);
  }

  /** The same, without clearing them. */
  violations(): string[] {
    return [...this.problems];
  }

  /** Files served by `GET /repos/{repo}/pulls/{n}/files`, paginated by `per_page`/`page`. */
  setPullRequestFiles(repo: string, prNumber: number, files: FakePullRequestFile[]): void {
    this.files.set(`${repo}#${prNumber}`, files);
  }

  /** Pull request served by `GET /repos/{repo}/pulls/{n}`. */
  setPullRequest(repo: string, prNumber: number, pr: FakePullRequest = {}): void {
    this.pullRequests.set(`${repo}#${prNumber}`, pr);
  }

  /**
   * A file served by `GET /repos/{repo}/contents/{path}?ref=`, on `ref` (default `main`, which
   * is also what a request without `ref` reads: the fake's default branch).
   */
  setRepositoryFile(repo: string, path: string, content: string | Buffer, ref = 'main'): void {
    this.repositoryFiles.set(`${repo}@${ref}:${path}`, Buffer.from(content));
  }

  /** Runs served by `GET /repos/{repo}/check-suites/{id}/check-runs`, paginated. */
  setCheckRuns(repo: string, suiteId: number, runs: FakeCheckRun[]): void {
    this.checkRuns.set(`${repo}@${suiteId}`, runs);
  }

  /**
   * The next `count` requests (of `failure.route`, or any) get `failure` instead of their answer.
   * A status 200 with a body fakes a malformed answer.
   */
  failNext(count: number, failure: InjectedFailure): void {
    const matches = failure.route === undefined ? () => true : routeMatcher(failure.route);
    for (let i = 0; i < count; i++) this.failures.push({ failure, matches });
  }

  /** Delays every answer by `ms`. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const recorded = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      at: Date.now(),
    };
    this.requests.push(recorded);
    const openapi = GithubOpenApi.load();
    for (const problem of openapi.checkRequest({ ...recorded, url: recorded.path }))
      this.problems.push(`request ${recorded.method} ${recorded.path}: ${problem}`);
    const operation = openapi.find(recorded.method, new URL(recorded.path, this.url).pathname);
    this.operations.set(res, operation);
    const requestPath = new URL(recorded.path, this.url).pathname.replace(/^\/api\/v3(?=\/)/, '');
    const index = this.failures.findIndex((f) => f.matches(recorded.method, requestPath));
    const failure = index >= 0 ? this.failures.splice(index, 1)[0].failure : undefined;
    await this.delay(this.latencyMs + (failure?.delayMs ?? 0));

    if (failure) {
      const headers: Record<string, string> = { ...failure.headers };
      if (failure.retryAfterSeconds !== undefined)
        headers['retry-after'] = String(failure.retryAfterSeconds);
      this.operations.delete(res);
      return this.send(
        res,
        failure.status,
        failure.body ?? { message: 'Injected failure' },
        headers,
      );
    }
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname.replace(/^\/api\/v3(?=\/)/, '');
    const identity = this.app?.identify(req.headers.authorization) ?? null;
    this.identities.set(res, identity);
    const appAnswer = this.app?.route(
      req.method ?? 'GET',
      path,
      req.headers.authorization,
      this.deliveries,
      url,
    );
    if (appAnswer) return this.send(res, appAnswer.status, appAnswer.body, appAnswer.headers);
    const installationToken = identity?.startsWith('installation:') ?? false;
    if (
      this.options.token !== undefined &&
      req.headers.authorization !== `Bearer ${this.options.token}` &&
      !installationToken
    ) {
      return this.send(res, 401, { message: 'Bad credentials' });
    }
    const hookAnswer = this.deliveries.route(req.method ?? 'GET', path, url);
    if (hookAnswer) return this.send(res, hookAnswer.status, hookAnswer.body, hookAnswer.headers);
    const workflow = this.workflowRoute(req.method ?? 'GET', path, body, url.searchParams);
    if (workflow) return this.send(res, workflow.status, workflow.body);
    if (req.method !== 'GET') return this.notFound(res);

    const filesMatch = /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)\/files$/.exec(path);
    if (filesMatch) {
      const files = this.files.get(`${filesMatch[1]}#${filesMatch[2]}`);
      if (!files) return this.notFound(res);
      return this.send(
        res,
        200,
        paginate(files, url).map((file) => fileJson(file, filesMatch[1])),
      );
    }
    const prMatch = /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)$/.exec(path);
    if (prMatch) {
      const pr = this.pullRequests.get(`${prMatch[1]}#${prMatch[2]}`);
      if (!pr) return this.notFound(res);
      // A pull request programmed off the contract on purpose (no author_association, a deleted
      // fork's null head.repo) is how a test fakes a surprising answer: sent unchecked.
      if (pr.authorAssociation === null || pr.headRepository === null) this.operations.delete(res);
      return this.send(res, 200, pullRequestJson(prMatch[1], Number(prMatch[2]), pr));
    }
    const runsMatch = /^\/repos\/([^/]+\/[^/]+)\/check-suites\/(\d+)\/check-runs$/.exec(path);
    if (runsMatch) {
      const runs = this.checkRuns.get(`${runsMatch[1]}@${runsMatch[2]}`);
      if (!runs) return this.notFound(res);
      const all = runs.map((run, i) => checkRunJson(runsMatch[1], Number(runsMatch[2]), run, i));
      return this.send(res, 200, { total_count: runs.length, check_runs: paginate(all, url) });
    }
    return this.notFound(res);
  }

  /** Commit authors served by GET /repos/:repo/commits/:sha (default: a human). */
  setCommit(
    repo: string,
    sha: string,
    commit: {
      authorLogin?: string;
      authorType?: string;
      committerLogin?: string;
      committerType?: string;
    },
  ): void {
    this.commits.set(`${repo}@${sha}`, commit);
  }

  /** PRs served by GET /repos/:repo/commits/:sha/pulls (how fork PRs are found). */
  setPullRequestsForCommit(repo: string, sha: string, numbers: number[]): void {
    this.commitPulls.set(`${repo}@${sha}`, numbers);
  }

  /** Output and annotations of a check run (GET /repos/:repo/check-runs/:id[/annotations]). */
  setCheckRunDetails(
    repo: string,
    id: number,
    details: {
      name?: string;
      title?: string;
      summary?: string;
      annotations?: Array<{
        path: string;
        start_line?: number;
        annotation_level?: string;
        message: string;
      }>;
    },
  ): void {
    this.checkRunDetails.set(`${repo}@${id}`, details);
  }

  /** Comments posted to PRs, in order, with their current bodies. */
  readonly comments: Array<{
    id: number;
    repo: string;
    issue: number;
    body: string;
    edits: number;
  }> = [];

  private readonly commits = new Map<
    string,
    { authorLogin?: string; authorType?: string; committerLogin?: string; committerType?: string }
  >();
  private readonly commitPulls = new Map<string, number[]>();
  private readonly repositoryFiles = new Map<string, Buffer>();
  private readonly checkRunDetails = new Map<
    string,
    {
      name?: string;
      title?: string;
      summary?: string;
      annotations?: Array<{
        path: string;
        start_line?: number;
        annotation_level?: string;
        message: string;
      }>;
    }
  >();

  private workflowRoute(
    method: string,
    path: string,
    body: unknown,
    query?: URLSearchParams,
  ): { status: number; body: unknown } | null {
    let m = /^\/repos\/([^/]+\/[^/]+)\/commits\/([0-9a-f]{40,64})$/.exec(path);
    if (m && method === 'GET') {
      return {
        status: 200,
        body: commitJson(m[1], m[2], this.commits.get(`${m[1]}@${m[2]}`) ?? {}),
      };
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/commits\/([0-9a-f]{40,64})\/pulls$/.exec(path);
    if (m && method === 'GET') {
      const repo = m[1];
      const numbers = this.commitPulls.get(`${repo}@${m[2]}`) ?? [];
      return {
        status: 200,
        body: numbers.map((n) =>
          pullRequestSimpleJson(
            repo,
            n,
            this.pullRequests.get(`${repo}#${n}`) ?? { headSha: m?.[2] },
          ),
        ),
      };
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/contents\/(.+)$/.exec(path);
    if (m && method === 'GET') {
      const ref = query?.get('ref') ?? 'main';
      const filePath = decodeURIComponent(m[2]);
      const content = this.repositoryFiles.get(`${m[1]}@${ref}:${filePath}`);
      if (!content) return { status: 404, body: { message: 'Not Found' } };
      return { status: 200, body: contentFileJson(m[1], filePath, ref, content) };
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/check-runs\/(\d+)(\/annotations)?$/.exec(path);
    if (m && method === 'GET') {
      const d = this.checkRunDetails.get(`${m[1]}@${m[2]}`);
      if (!d) return { status: 404, body: NOT_FOUND };
      const repo = m[1];
      if (m[3])
        return { status: 200, body: (d.annotations ?? []).map((a) => annotationJson(repo, a)) };
      return { status: 200, body: checkRunDetailJson(repo, Number(m[2]), d) };
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/.exec(path);
    if (m && method === 'POST') {
      const text = (body as { body?: unknown } | undefined)?.body;
      const comment = {
        id: 5000 + this.comments.length,
        repo: m[1],
        issue: Number(m[2]),
        body: String(text),
        edits: 0,
      };
      this.comments.push(comment);
      return { status: 201, body: commentJson(ISSUE_COMMENTS, 201, m[1], comment) };
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/.exec(path);
    if (m && method === 'PATCH') {
      const comment = this.comments.find((c) => c.id === Number(m?.[2]));
      if (!comment) return { status: 404, body: NOT_FOUND };
      comment.body = String((body as { body?: unknown } | undefined)?.body);
      comment.edits++;
      return { status: 200, body: commentJson(ISSUE_COMMENT, 200, m[1], comment) };
    }
    return null;
  }

  private notFound(res: ServerResponse): void {
    this.send(res, 404, NOT_FOUND);
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.destroyed) return;
    const operation = this.operations.get(res);
    if (operation) {
      const problems = GithubOpenApi.load().checkResponse(
        operation.method,
        operation.template,
        status,
        body,
      );
      for (const problem of problems) this.problems.push(`the fake's answer: ${problem}`);
    }
    // Installations and the App have budgets of their own; tokens and anonymous share this one.
    const own = this.app?.spend(this.identities.get(res) ?? null);
    if (own === undefined) this.rateLimitRemaining = Math.max(0, this.rateLimitRemaining - 1);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-ratelimit-limit': String(RATE_LIMIT),
      'x-ratelimit-remaining': String(own ?? this.rateLimitRemaining),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + this.rateLimitResetInSeconds),
      'x-github-api-version-selected': '2022-11-28',
      ...headers,
    });
    res.end(JSON.stringify(body));
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * `METHOD /path/{param}/...` as a test of a request's method and path (without query string);
 * each `{name}` stands for one path segment, everything else is literal.
 */
function routeMatcher(route: string): (method: string, path: string) => boolean {
  const match = /^([A-Z]+) (\/\S*)$/.exec(route);
  if (!match) throw new Error(`GithubFake: route "${route}" is not "METHOD /path"`);
  const [, method, template] = match;
  const pattern = new RegExp(
    `^${template
      .split(/(\{[^/{}]+\})/)
      .map((part) =>
        /^\{[^/{}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('')}$`,
  );
  return (m, path) => m === method && pattern.test(path);
}

/** GitHub's pagination: `per_page` (default 30, max 100) and 1-based `page`. */
function paginate<T>(items: T[], url: URL): T[] {
  const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
  return items.slice((page - 1) * perPage, page * perPage);
}

function sha(seed: string): string {
  let hex = '';
  for (let i = 0; hex.length < 40; i++)
    hex += ((seed.charCodeAt(i % seed.length) * 31 + i) % 16).toString(16);
  return hex;
}

const PULL = '/repos/{owner}/{repo}/pulls/{pull_number}';
const FILES = '/repos/{owner}/{repo}/pulls/{pull_number}/files';
const SUITE_RUNS = '/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs';
const COMMIT = '/repos/{owner}/{repo}/commits/{ref}';
const COMMIT_PULLS = '/repos/{owner}/{repo}/commits/{commit_sha}/pulls';
const CHECK_RUN = '/repos/{owner}/{repo}/check-runs/{check_run_id}';
const ANNOTATIONS = '/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations';
const ISSUE_COMMENTS = '/repos/{owner}/{repo}/issues/{issue_number}/comments';
const ISSUE_COMMENT = '/repos/{owner}/{repo}/issues/comments/{comment_id}';

type Json = Record<string, unknown>;

/** Every operation the fake serves, checked against GitHub's description. */
export const SERVED: ReadonlyArray<readonly [string, string]> = [
  ['GET', PULL],
  ['GET', FILES],
  ['GET', SUITE_RUNS],
  ['GET', COMMIT],
  ['GET', COMMIT_PULLS],
  ['GET', CHECK_RUN],
  ['GET', ANNOTATIONS],
  ['POST', ISSUE_COMMENTS],
  ['PATCH', ISSUE_COMMENT],
  ['POST', '/app/installations/{installation_id}/access_tokens'],
  ['GET', '/app/hook/deliveries'],
  ['POST', '/app/hook/deliveries/{delivery_id}/attempts'],
  ['GET', '/repos/{owner}/{repo}/hooks/{hook_id}/deliveries'],
  ['POST', '/repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts'],
  ['GET', '/orgs/{org}/hooks/{hook_id}/deliveries'],
  ['POST', '/orgs/{org}/hooks/{hook_id}/deliveries/{delivery_id}/attempts'],
];

function record(value: unknown): Json {
  return value !== null && typeof value === 'object' ? (value as Json) : {};
}

function fileJson(file: FakePullRequestFile, repo: string): Json {
  const additions = file.additions ?? 1;
  const deletions = file.deletions ?? 0;
  const blobSha = sha(file.filename);
  return {
    ...githubListExample('GET', FILES, 200),
    sha: blobSha,
    filename: file.filename,
    status: file.status ?? 'modified',
    additions,
    deletions,
    changes: file.changes ?? additions + deletions,
    blob_url: `https://github.com/${repo}/blob/${blobSha}/${file.filename}`,
    raw_url: `https://github.com/${repo}/raw/${blobSha}/${file.filename}`,
    contents_url: `https://api.github.com/repos/${repo}/contents/${file.filename}?ref=${blobSha}`,
    patch: '@@ -1 +1 @@\n-old\n+new',
  };
}

/**
 * GitHub's example pull request with the programmed fields. The description's own examples of
 * `pull-request` and `pull-request-simple` break their schema: their `requested_teams[]` lack
 * the required `type`, which is added here.
 */
function pullRequestJson(
  repo: string,
  prNumber: number,
  pr: FakePullRequest,
  example: Json = githubExample('GET', PULL, 200),
): Json {
  const [owner, name] = repo.split('/');
  const headSha = pr.headSha ?? sha(`${repo}${prNumber}`);
  const side = (key: 'head' | 'base', ref: string, refSha: string): Json => {
    const original = record(example[key]);
    const repository = record(original.repo);
    return {
      ...original,
      label: `${owner}:${ref}`,
      ref,
      sha: refSha,
      repo: {
        ...repository,
        name,
        full_name: repo,
        owner: { ...record(repository.owner), login: owner },
        html_url: `https://github.com/${repo}`,
      },
      user: { ...record(original.user), login: owner },
    };
  };
  const exampleLabel = record((example.labels as unknown[] | undefined)?.[0]);
  const state = pr.state ?? 'open';
  return {
    ...example,
    url: `https://api.github.com/repos/${repo}/pulls/${prNumber}`,
    id: 1_000_000 + prNumber,
    node_id: `PR_fake${prNumber}`,
    html_url: `https://github.com/${repo}/pull/${prNumber}`,
    number: prNumber,
    state,
    locked: false,
    title: pr.title ?? `Pull request ${prNumber}`,
    user: {
      ...record(example.user),
      login: pr.authorLogin ?? 'octocat',
      type: pr.authorType ?? 'User',
    },
    ...(pr.authorAssociation === null
      ? { author_association: undefined }
      : { author_association: pr.authorAssociation ?? 'OWNER' }),
    body: 'Fake pull request',
    labels: (pr.labels ?? []).map((label, i) => ({
      ...exampleLabel,
      id: 100 + i,
      url: `https://api.github.com/repos/${repo}/labels/${encodeURIComponent(label)}`,
      name: label,
      default: false,
    })),
    requested_teams: ((example.requested_teams as unknown[] | undefined) ?? []).map((team) => ({
      type: 'organization',
      ...record(team),
    })),
    draft: pr.draft ?? false,
    ...('merged' in example ? { merged: pr.merged ?? false } : {}),
    closed_at: state === 'closed' ? '2024-01-03T00:00:00Z' : null,
    merged_at: pr.merged ? '2024-01-03T00:00:00Z' : null,
    head: {
      ...side('head', pr.headRef ?? 'feature', headSha),
      // A fork that was deleted: GitHub sends `repo: null`.
      ...(pr.headRepository === null
        ? { repo: null }
        : pr.headRepository !== undefined
          ? { repo: { ...record(record(example.head).repo), full_name: pr.headRepository } }
          : {}),
    },
    base: side('base', pr.baseRef ?? 'main', sha(`${repo}base`)),
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-02T00:00:00Z',
  };
}

/** GitHub's content-file answer; files over 1 MB come without content (`encoding: none`). */
function contentFileJson(
  repo: string,
  path: string,
  ref: string,
  content: Buffer,
): Record<string, unknown> {
  const blobSha = createHash('sha1')
    .update(`blob ${content.length}\0`)
    .update(content)
    .digest('hex');
  const large = content.length > 1024 * 1024;
  const api = `https://api.github.com/repos/${repo}/contents/${path}?ref=${ref}`;
  const html = `https://github.com/${repo}/blob/${ref}/${path}`;
  const git = `https://api.github.com/repos/${repo}/git/blobs/${blobSha}`;
  return {
    type: 'file',
    encoding: large ? 'none' : 'base64',
    size: content.length,
    name: path.split('/').at(-1),
    path,
    content: large ? '' : content.toString('base64').replace(/.{60}/g, '$&\n'),
    sha: blobSha,
    url: api,
    git_url: git,
    html_url: html,
    download_url: `https://raw.githubusercontent.com/${repo}/${ref}/${path}`,
    _links: { self: api, git, html },
  };
}

function pullRequestSimpleJson(repo: string, prNumber: number, pr: FakePullRequest): Json {
  const json = pullRequestJson(repo, prNumber, pr, githubListExample('GET', COMMIT_PULLS, 200));
  return json;
}

function checkRunJson(repo: string, suiteId: number, run: FakeCheckRun, index: number): Json {
  const example = record(
    (githubExample('GET', SUITE_RUNS, 200).check_runs as unknown[] | undefined)?.[0],
  );
  const id = run.id ?? suiteId * 1000 + index + 1;
  const status = run.status ?? 'completed';
  return {
    ...example,
    id,
    node_id: `CR_fake${id}`,
    name: run.name,
    head_sha: sha(`${repo}${suiteId}`),
    url: `https://api.github.com/repos/${repo}/check-runs/${id}`,
    status,
    conclusion:
      run.conclusion !== undefined ? run.conclusion : status === 'completed' ? 'success' : null,
    details_url:
      run.detailsUrl !== undefined ? run.detailsUrl : `https://ci.example.com/runs/${id}`,
    html_url: run.htmlUrl !== undefined ? run.htmlUrl : `https://github.com/${repo}/runs/${id}`,
    started_at: '2024-01-01T00:00:00Z',
    completed_at: status === 'completed' ? '2024-01-01T00:05:00Z' : null,
    check_suite: { id: suiteId },
    pull_requests: [],
  };
}

/**
 * GitHub's example commit with the programmed author and committer. The description's own
 * example breaks its schema (`files[]` lack the required `sha` and `contents_url`), so the
 * example's file list is left out (the list may be empty).
 */
function commitJson(
  repo: string,
  commitSha: string,
  c: { authorLogin?: string; authorType?: string; committerLogin?: string; committerType?: string },
): Json {
  const example = githubExample('GET', COMMIT, 200);
  const person = (original: unknown, login: string, type: string): Json => ({
    ...record(original),
    login,
    type,
    html_url: `https://github.com/${encodeURIComponent(login)}`,
  });
  return {
    ...example,
    sha: commitSha,
    url: `https://api.github.com/repos/${repo}/commits/${commitSha}`,
    html_url: `https://github.com/${repo}/commit/${commitSha}`,
    author: person(example.author, c.authorLogin ?? 'octocat', c.authorType ?? 'User'),
    committer: person(example.committer, c.committerLogin ?? 'web-flow', c.committerType ?? 'User'),
    files: [],
  };
}

function checkRunDetailJson(
  repo: string,
  id: number,
  d: { name?: string; title?: string; summary?: string; annotations?: unknown[] },
): Json {
  const example = githubExample('GET', CHECK_RUN, 200);
  return {
    ...example,
    id,
    url: `https://api.github.com/repos/${repo}/check-runs/${id}`,
    name: d.name ?? 'check',
    status: 'completed',
    conclusion: 'failure',
    details_url: null,
    output: {
      ...record(example.output),
      title: d.title ?? null,
      summary: d.summary ?? null,
      text: null,
      annotations_count: d.annotations?.length ?? 0,
      annotations_url: `https://api.github.com/repos/${repo}/check-runs/${id}/annotations`,
    },
  };
}

function annotationJson(
  repo: string,
  a: { path: string; start_line?: number; annotation_level?: string; message: string },
): Json {
  const line = a.start_line ?? 1;
  return {
    ...githubListExample('GET', ANNOTATIONS, 200),
    path: a.path,
    start_line: line,
    end_line: line,
    annotation_level: a.annotation_level ?? 'failure',
    message: a.message,
    title: null,
    raw_details: null,
    blob_href: `https://github.com/${repo}/blob/main/${a.path}`,
  };
}

function commentJson(
  template: string,
  status: number,
  repo: string,
  comment: { id: number; issue: number; body: string },
): Json {
  const example = githubExample(template === ISSUE_COMMENTS ? 'POST' : 'PATCH', template, status);
  return {
    ...example,
    id: comment.id,
    node_id: `IC_fake${comment.id}`,
    url: `https://api.github.com/repos/${repo}/issues/comments/${comment.id}`,
    html_url: `https://github.com/${repo}/pull/${comment.issue}#issuecomment-${comment.id}`,
    issue_url: `https://api.github.com/repos/${repo}/issues/${comment.issue}`,
    body: comment.body,
  };
}
