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

/**
 * GitHub REST API fake: a real HTTP server on 127.0.0.1 serving programmed pull requests, files
 * and check runs with GitHub's JSON shapes and pagination, plus fault injection. A GHES-style
 * `/api/v3` prefix is accepted and ignored.
 */
export class GithubFake {
  /** Every request received since start or the last `reset()`, in arrival order. */
  readonly requests: GithubRecordedRequest[] = [];
  /** Value of `x-ratelimit-remaining` on the next answer; decremented per answer. */
  rateLimitRemaining = RATE_LIMIT;
  /** Seconds from each answer to the `x-ratelimit-reset` it reports. */
  rateLimitResetInSeconds = 3600;
  private readonly files = new Map<string, FakePullRequestFile[]>();
  private readonly pullRequests = new Map<string, FakePullRequest>();
  private readonly checkRuns = new Map<string, FakeCheckRun[]>();
  private readonly failures: InjectedFailure[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private latencyMs = 0;
  /** Webhook delivery logs (App hook, repository and organisation hooks) and redeliveries. */
  readonly deliveries = new HookDeliveriesFake();
  private appFake: GithubAppFake | null | undefined;
  /** Who each answer is for (installation / App), so it reports that identity's budget. */
  private readonly identities = new WeakMap<ServerResponse, string | null>();

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
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new GithubFake(server, `http://127.0.0.1:${port}`, options);
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

  /** The next `count` requests, whatever their route, get `failure` instead of their answer. */
  failNext(count: number, failure: InjectedFailure): void {
    for (let i = 0; i < count; i++) this.failures.push(failure);
  }

  /** Delays every answer by `ms`. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    this.requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      at: Date.now(),
    });
    const failure = this.failures.shift();
    await this.delay(this.latencyMs + (failure?.delayMs ?? 0));

    if (failure) {
      const headers: Record<string, string> = { ...failure.headers };
      if (failure.retryAfterSeconds !== undefined)
        headers['retry-after'] = String(failure.retryAfterSeconds);
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
      const c = this.commits.get(`${m[1]}@${m[2]}`) ?? {};
      const person = (login: string, type: string) => ({ login, type, id: 1 });
      return {
        status: 200,
        body: {
          sha: m[2],
          author: person(c.authorLogin ?? 'octocat', c.authorType ?? 'User'),
          committer: person(c.committerLogin ?? 'web-flow', c.committerType ?? 'User'),
        },
      };
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/commits\/([0-9a-f]{40,64})\/pulls$/.exec(path);
    if (m && method === 'GET') {
      const repo = m[1];
      const numbers = this.commitPulls.get(`${repo}@${m[2]}`) ?? [];
      return {
        status: 200,
        body: numbers.map((n) =>
          pullRequestJson(repo, n, this.pullRequests.get(`${repo}#${n}`) ?? { headSha: m?.[2] }),
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
      if (!d) return { status: 404, body: { message: 'Not Found' } };
      if (m[3]) return { status: 200, body: d.annotations ?? [] };
      return {
        status: 200,
        body: {
          id: Number(m[2]),
          name: d.name ?? 'check',
          conclusion: 'failure',
          details_url: null,
          output: { title: d.title ?? null, summary: d.summary ?? null, text: null },
        },
      };
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
      return {
        status: 201,
        body: {
          id: comment.id,
          html_url: `${this.url}/${m[1]}/pull/${m[2]}#issuecomment-${comment.id}`,
        },
      };
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/.exec(path);
    if (m && method === 'PATCH') {
      const comment = this.comments.find((c) => c.id === Number(m?.[2]));
      if (!comment) return { status: 404, body: { message: 'Not Found' } };
      comment.body = String((body as { body?: unknown } | undefined)?.body);
      comment.edits++;
      return { status: 200, body: { id: comment.id, html_url: null } };
    }
    return null;
  }

  private notFound(res: ServerResponse): void {
    this.send(res, 404, {
      message: 'Not Found',
      documentation_url: 'https://docs.github.com/rest',
    });
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.destroyed) return;
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

function fileJson(file: FakePullRequestFile, repo: string): Record<string, unknown> {
  const additions = file.additions ?? 1;
  const deletions = file.deletions ?? 0;
  const blobSha = sha(file.filename);
  return {
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

function pullRequestJson(
  repo: string,
  prNumber: number,
  pr: FakePullRequest,
): Record<string, unknown> {
  const [owner] = repo.split('/');
  const headSha = pr.headSha ?? sha(`${repo}${prNumber}`);
  return {
    url: `https://api.github.com/repos/${repo}/pulls/${prNumber}`,
    id: 1_000_000 + prNumber,
    node_id: `PR_fake${prNumber}`,
    html_url: `https://github.com/${repo}/pull/${prNumber}`,
    number: prNumber,
    state: pr.state ?? 'open',
    locked: false,
    title: pr.title ?? `Pull request ${prNumber}`,
    user: { login: pr.authorLogin ?? 'octocat', id: 1, type: pr.authorType ?? 'User' },
    ...(pr.authorAssociation === null
      ? {}
      : { author_association: pr.authorAssociation ?? 'OWNER' }),
    body: 'Fake pull request',
    labels: (pr.labels ?? []).map((name, i) => ({
      id: 100 + i,
      name,
      color: 'ededed',
      default: false,
    })),
    draft: pr.draft ?? false,
    merged: pr.merged ?? false,
    head: {
      label: `${owner}:${pr.headRef ?? 'feature'}`,
      ref: pr.headRef ?? 'feature',
      sha: headSha,
      repo: pr.headRepository === null ? null : { full_name: pr.headRepository ?? repo },
    },
    base: {
      label: `${owner}:${pr.baseRef ?? 'main'}`,
      ref: pr.baseRef ?? 'main',
      sha: sha(`${repo}base`),
      repo: { full_name: repo },
    },
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

function checkRunJson(
  repo: string,
  suiteId: number,
  run: FakeCheckRun,
  index: number,
): Record<string, unknown> {
  const id = run.id ?? suiteId * 1000 + index + 1;
  const status = run.status ?? 'completed';
  return {
    id,
    name: run.name,
    head_sha: sha(`${repo}${suiteId}`),
    status,
    conclusion:
      run.conclusion !== undefined ? run.conclusion : status === 'completed' ? 'success' : null,
    details_url:
      run.detailsUrl !== undefined ? run.detailsUrl : `https://ci.example.com/runs/${id}`,
    html_url: run.htmlUrl !== undefined ? run.htmlUrl : `https://github.com/${repo}/runs/${id}`,
    started_at: '2024-01-01T00:00:00Z',
    completed_at: status === 'completed' ? '2024-01-01T00:05:00Z' : null,
    check_suite: { id: suiteId },
    app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions' },
  };
}
