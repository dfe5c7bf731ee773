import { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { GithubAppFake, GithubAppFakeOptions, HookDeliveriesFake } from './github-app-fake';
import { githubExample, githubListExample, GithubOpenApi } from './github-openapi';
import {
  FakeFailure,
  FakeRequest,
  FakeServer,
  RecordedRequest,
  RouteTable,
  routeFilter,
} from './fake-server';

export type { RecordedRequest };

/** A request the GitHub fake received, and when. */
export type GithubRecordedRequest = FakeRequest;

/** Answer that replaces the normal one for the next requests (see `failNext`). */
export interface InjectedFailure extends FakeFailure {
  /** JSON body; default `{ message: 'Injected failure' }`. Status 200 + body fakes a bad answer. */
  body?: unknown;
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
export class GithubFake extends FakeServer<InjectedFailure> {
  /** Fakes running now, for the harness's after-each check. */
  private static readonly running = new Set<GithubFake>();

  /** Contract violations of every running fake since the last call; clears them. */
  static takeAllViolations(): string[] {
    return [...GithubFake.running].flatMap((fake) => fake.takeViolations());
  }

  /** Value of `x-ratelimit-remaining` on the next answer; decremented per answer. */
  rateLimitRemaining = RATE_LIMIT;
  /** Seconds from each answer to the `x-ratelimit-reset` it reports. */
  rateLimitResetInSeconds = 3600;
  /** Webhook delivery logs (App hook, repository and organisation hooks) and redeliveries. */
  readonly deliveries = new HookDeliveriesFake();
  /** Comments posted to PRs, in order, with their current bodies. */
  readonly comments: Array<{
    id: number;
    repo: string;
    issue: number;
    body: string;
    edits: number;
  }> = [];
  private readonly files = new Map<string, FakePullRequestFile[]>();
  private readonly pullRequests = new Map<string, FakePullRequest>();
  private readonly checkRuns = new Map<string, FakeCheckRun[]>();
  private readonly commits = new Map<string, FakeCommit>();
  private readonly commitPulls = new Map<string, number[]>();
  private readonly repositoryFiles = new Map<string, Buffer>();
  private readonly checkRunDetails = new Map<string, FakeCheckRunDetails>();
  private readonly problems: string[] = [];
  private appFake: GithubAppFake | null | undefined;
  /** Who each answer is for (installation / App), so it reports that identity's budget. */
  private readonly identities = new WeakMap<ServerResponse, string | null>();
  /** The operation each answer is for, to check it against its response schema. */
  private readonly operations = new WeakMap<ServerResponse, ReturnType<GithubOpenApi['find']>>();
  /** GitHub's routes the fake serves (after the App, token and hook-delivery checks). */
  private readonly routes = new RouteTable<RouteContext>([
    {
      method: 'GET',
      path: /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)\/files$/,
      answer: (p, c) => this.pullRequestFiles(p, c),
    },
    {
      method: 'GET',
      path: /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)$/,
      answer: (p, c) => this.pullRequest(p, c),
    },
    {
      method: 'GET',
      path: /^\/repos\/([^/]+\/[^/]+)\/check-suites\/(\d+)\/check-runs$/,
      answer: (p, c) => this.suiteRuns(p, c),
    },
    {
      method: 'GET',
      path: /^\/repos\/([^/]+\/[^/]+)\/commits\/([0-9a-f]{40,64})$/,
      answer: (p, c) => this.commit(p, c),
    },
    {
      method: 'GET',
      path: /^\/repos\/([^/]+\/[^/]+)\/commits\/([0-9a-f]{40,64})\/pulls$/,
      answer: (p, c) => this.pullsOfCommit(p, c),
    },
    {
      method: 'GET',
      path: /^\/repos\/([^/]+\/[^/]+)\/contents\/(.+)$/,
      answer: (p, c) => this.content(p, c),
    },
    {
      method: 'GET',
      path: /^\/repos\/([^/]+\/[^/]+)\/check-runs\/(\d+)(\/annotations)?$/,
      answer: (p, c) => this.checkRun(p, c),
    },
    {
      method: 'POST',
      path: /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/,
      answer: (p, c) => this.postComment(p, c),
    },
    {
      method: 'PATCH',
      path: /^\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/,
      answer: (p, c) => this.editComment(p, c),
    },
  ]);

  /** The GitHub App side (JWT check, installation tokens); null without `options.app`. */
  get app(): GithubAppFake | null {
    if (this.appFake === undefined)
      this.appFake = this.options.app ? new GithubAppFake(this.options.app) : null;
    return this.appFake;
  }

  private constructor(private readonly options: GithubFakeOptions) {
    super();
  }

  /** Starts the fake on a free port; its `url` is the client's `apiUrl`. */
  static async start(options: GithubFakeOptions = {}): Promise<GithubFake> {
    GithubOpenApi.load().prepare(SERVED);
    const fake = new GithubFake(options);
    await fake.listen();
    GithubFake.running.add(fake);
    return fake;
  }

  /** Stops the server, dropping open connections and pending delayed answers. */
  override async stop(): Promise<void> {
    GithubFake.running.delete(this);
    await super.stop();
  }

  /** Forgets recorded requests, programmed data, failures and latency. */
  override reset(): void {
    super.reset();
    this.files.clear();
    this.pullRequests.clear();
    this.checkRuns.clear();
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

  /** Commit authors served by GET /repos/:repo/commits/:sha (default: a human). */
  setCommit(repo: string, sha: string, commit: FakeCommit): void {
    this.commits.set(`${repo}@${sha}`, commit);
  }

  /** PRs served by GET /repos/:repo/commits/:sha/pulls (how fork PRs are found). */
  setPullRequestsForCommit(repo: string, sha: string, numbers: number[]): void {
    this.commitPulls.set(`${repo}@${sha}`, numbers);
  }

  /** Output and annotations of a check run (GET /repos/:repo/check-runs/:id[/annotations]). */
  setCheckRunDetails(repo: string, id: number, details: FakeCheckRunDetails): void {
    this.checkRunDetails.set(`${repo}@${id}`, details);
  }

  /**
   * The next `count` requests (of `failure.route`, or any) get `failure` instead of their answer.
   * A status 200 with a body fakes a malformed answer.
   */
  failNext(count: number, failure: InjectedFailure): void {
    this.queueFailures(
      count,
      failure,
      failure.route === undefined ? null : routeFilter(failure.route),
    );
  }

  protected async handle(
    req: IncomingMessage,
    res: ServerResponse,
    recorded: FakeRequest,
  ): Promise<void> {
    const openapi = GithubOpenApi.load();
    for (const problem of openapi.checkRequest({ ...recorded, url: recorded.path }))
      this.problems.push(`request ${recorded.method} ${recorded.path}: ${problem}`);
    const url = new URL(recorded.path || '/', this.url);
    this.operations.set(res, openapi.find(recorded.method, url.pathname));
    const path = url.pathname.replace(/^\/api\/v3(?=\/)/, '');
    const method = recorded.method || 'GET';
    const failure = this.takeFailure(recorded.method, path);
    await this.waitLatency(failure?.delayMs ?? 0);

    if (failure) {
      this.operations.delete(res);
      return this.send(
        res,
        failure.status,
        failure.body ?? { message: 'Injected failure' },
        this.failureHeaders(failure),
      );
    }
    const identity = this.app?.identify(req.headers.authorization) ?? null;
    this.identities.set(res, identity);
    const appAnswer = this.app?.route(
      method,
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
    const hookAnswer = this.deliveries.route(method, path, url);
    if (hookAnswer) return this.send(res, hookAnswer.status, hookAnswer.body, hookAnswer.headers);
    const route = this.routes.find(method, path);
    if (!('answer' in route)) return this.send(res, 404, NOT_FOUND);
    return route.answer(route.params, { res, url, body: recorded.body });
  }

  protected answerError(res: ServerResponse, status: number, message: string): void {
    this.operations.delete(res);
    this.send(res, status, { message });
  }

  private pullRequestFiles([repo, n]: string[], { res, url }: RouteContext): void {
    const files = this.files.get(`${repo}#${n}`);
    if (!files) return this.send(res, 404, NOT_FOUND);
    this.send(
      res,
      200,
      paginate(files, url).map((file) => fileJson(file, repo)),
    );
  }

  private pullRequest([repo, n]: string[], { res }: RouteContext): void {
    const pr = this.pullRequests.get(`${repo}#${n}`);
    if (!pr) return this.send(res, 404, NOT_FOUND);
    // A pull request programmed off the contract on purpose (no author_association, a deleted
    // fork's null head.repo) is how a test fakes a surprising answer: sent unchecked.
    if (pr.authorAssociation === null || pr.headRepository === null) this.operations.delete(res);
    this.send(res, 200, pullRequestJson(repo, Number(n), pr));
  }

  private suiteRuns([repo, suite]: string[], { res, url }: RouteContext): void {
    const runs = this.checkRuns.get(`${repo}@${suite}`);
    if (!runs) return this.send(res, 404, NOT_FOUND);
    const all = runs.map((run, i) => checkRunJson(repo, Number(suite), run, i));
    this.send(res, 200, { total_count: runs.length, check_runs: paginate(all, url) });
  }

  private commit([repo, commitSha]: string[], { res }: RouteContext): void {
    this.send(
      res,
      200,
      commitJson(repo, commitSha, this.commits.get(`${repo}@${commitSha}`) ?? {}),
    );
  }

  private pullsOfCommit([repo, commitSha]: string[], { res }: RouteContext): void {
    const numbers = this.commitPulls.get(`${repo}@${commitSha}`) ?? [];
    this.send(
      res,
      200,
      numbers.map((n) =>
        pullRequestSimpleJson(
          repo,
          n,
          this.pullRequests.get(`${repo}#${n}`) ?? { headSha: commitSha },
        ),
      ),
    );
  }

  private content([repo, encodedPath]: string[], { res, url }: RouteContext): void {
    const ref = url.searchParams.get('ref') ?? 'main';
    const filePath = decodeURIComponent(encodedPath);
    const content = this.repositoryFiles.get(`${repo}@${ref}:${filePath}`);
    if (!content) return this.send(res, 404, { message: 'Not Found' });
    this.send(res, 200, contentFileJson(repo, filePath, ref, content));
  }

  private checkRun([repo, id, annotations]: string[], { res }: RouteContext): void {
    const d = this.checkRunDetails.get(`${repo}@${id}`);
    if (!d) return this.send(res, 404, NOT_FOUND);
    if (annotations)
      return this.send(
        res,
        200,
        (d.annotations ?? []).map((a) => annotationJson(repo, a)),
      );
    this.send(res, 200, checkRunDetailJson(repo, Number(id), d));
  }

  private postComment([repo, issue]: string[], { res, body }: RouteContext): void {
    const text = (body as { body?: unknown } | undefined)?.body;
    const comment = {
      id: 5000 + this.comments.length,
      repo,
      issue: Number(issue),
      body: String(text),
      edits: 0,
    };
    this.comments.push(comment);
    this.send(res, 201, commentJson(ISSUE_COMMENTS, 201, repo, comment));
  }

  private editComment([repo, id]: string[], { res, body }: RouteContext): void {
    const comment = this.comments.find((c) => c.id === Number(id));
    if (!comment) return this.send(res, 404, NOT_FOUND);
    comment.body = String((body as { body?: unknown } | undefined)?.body);
    comment.edits++;
    this.send(res, 200, commentJson(ISSUE_COMMENT, 200, repo, comment));
  }

  /** An answer with GitHub's headers, its body checked against the operation's schema. */
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
    this.writeJson(res, status, JSON.stringify(body), {
      'content-type': 'application/json; charset=utf-8',
      'x-ratelimit-limit': String(RATE_LIMIT),
      'x-ratelimit-remaining': String(own ?? this.rateLimitRemaining),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + this.rateLimitResetInSeconds),
      'x-github-api-version-selected': '2022-11-28',
      ...headers,
    });
  }
}

/** What a route's answer gets besides its path parameters. */
interface RouteContext {
  res: ServerResponse;
  url: URL;
  body: unknown;
}

/** A commit's author and committer (see `setCommit`). */
interface FakeCommit {
  authorLogin?: string;
  authorType?: string;
  committerLogin?: string;
  committerType?: string;
}

/** A check run's output and annotations (see `setCheckRunDetails`). */
interface FakeCheckRunDetails {
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
