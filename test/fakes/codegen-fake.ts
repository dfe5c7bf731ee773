import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import type { InjectedFailure, RecordedRequest } from './github-fake';

/** A pull request an agent run opened. */
export interface FakeAgentPullRequest {
  url: string;
  number?: number;
  title?: string;
}

/** An agent run as the fake holds it. */
export interface FakeAgentRun {
  id: number;
  orgId: string;
  prompt: string;
  metadata: unknown;
  /** The `Authorization` header of the creating request. */
  authorization: string | undefined;
  status: string;
  result: string | null;
  summary: string | null;
  pullRequests: FakeAgentPullRequest[];
  createdAt: string;
  /** GETs of this run so far. */
  gets: number;
}

/** How `completeRun` ends a run. */
export interface FakeRunOutcome {
  status: 'COMPLETE' | 'FAILED';
  result?: string;
  summary?: string;
  pullRequests?: FakeAgentPullRequest[];
}

/** Options of {@link CodegenFake.start}. */
export interface CodegenFakeOptions {
  /** Bearer token every request must carry, else 401. Default `codegen-test-token`. */
  token?: string;
  /** When set, a run turns COMPLETE on its N-th GET. */
  autoCompleteAfterGets?: number;
}

/**
 * Codegen agent API fake: a real HTTP server on 127.0.0.1 that creates runs (ids 1, 2, ...,
 * status ACTIVE), serves them, lets tests finish them, and injects faults.
 */
export class CodegenFake {
  /** Every request received since start or the last `reset()`, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Runs created since start or the last `reset()`, in creation order. */
  readonly createdRuns: FakeAgentRun[] = [];
  /** The bearer token the fake accepts. */
  readonly token: string;
  private autoCompleteAfterGets: number | undefined;
  private readonly failures: InjectedFailure[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private latencyMs = 0;
  private createAnswerDelayMs = 0;
  private nextId = 1;

  private constructor(
    private readonly server: Server,
    /** Base URL, e.g. `http://127.0.0.1:54321`; use it as the client's `baseUrl`. */
    readonly url: string,
    options: CodegenFakeOptions,
  ) {
    this.token = options.token ?? 'codegen-test-token';
    this.autoCompleteAfterGets = options.autoCompleteAfterGets;
  }

  /** Starts the fake on a free port. */
  static async start(options: CodegenFakeOptions = {}): Promise<CodegenFake> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new CodegenFake(server, `http://127.0.0.1:${port}`, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      fake.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: String(error) }));
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

  /** Forgets requests, runs, failures, latency and auto-completion; ids restart at 1. */
  reset(): void {
    this.requests.length = 0;
    this.createdRuns.length = 0;
    this.failures.length = 0;
    this.latencyMs = 0;
    this.createAnswerDelayMs = 0;
    this.autoCompleteAfterGets = undefined;
    this.nextId = 1;
  }

  /** Makes runs turn COMPLETE on their N-th GET; undefined turns that off. */
  setAutoComplete(afterGets: number | undefined): void {
    this.autoCompleteAfterGets = afterGets;
  }

  /** Ends a run the way Codegen would. */
  completeRun(id: number, outcome: FakeRunOutcome): void {
    const run = this.createdRuns.find((candidate) => candidate.id === id);
    if (!run) throw new Error(`CodegenFake: no run ${id}`);
    run.status = outcome.status;
    run.result = outcome.result ?? run.result;
    run.summary = outcome.summary ?? run.summary;
    run.pullRequests = outcome.pullRequests ?? run.pullRequests;
  }

  /** The next `count` requests, whatever their route, get `failure` instead of their answer. */
  failNext(count: number, failure: InjectedFailure): void {
    for (let i = 0; i < count; i++) this.failures.push(failure);
  }

  /** Drops the failures still queued by `failNext` (an outage that ends). */
  clearFailures(): void {
    this.failures.length = 0;
  }

  /** Creates runs at once but answers the creating request `ms` later (a request in flight). */
  setCreateAnswerDelay(ms: number): void {
    this.createAnswerDelayMs = ms;
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
    });
    const failure = this.failures.shift();
    await this.delay(this.latencyMs + (failure?.delayMs ?? 0));

    if (failure) {
      const headers: Record<string, string> = { ...failure.headers };
      if (failure.retryAfterSeconds !== undefined)
        headers['retry-after'] = String(failure.retryAfterSeconds);
      return send(res, failure.status, failure.body ?? { detail: 'Injected failure' }, headers);
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return send(res, 401, { detail: 'Invalid or missing API token' });
    }
    const path = new URL(req.url ?? '/', this.url).pathname;

    const createMatch = /^\/v1\/organizations\/([^/]+)\/agent\/run$/.exec(path);
    if (createMatch && req.method === 'POST') {
      const answer = this.create(createMatch[1], body, req);
      await this.delay(answer.status === 200 ? this.createAnswerDelayMs : 0);
      return send(res, answer.status, answer.body);
    }
    const getMatch = /^\/v1\/organizations\/([^/]+)\/agent\/run\/([^/]+)$/.exec(path);
    if (getMatch && req.method === 'GET') return this.get(res, getMatch[1], getMatch[2]);
    return send(res, 404, { detail: 'Not Found' });
  }

  private create(
    orgId: string,
    body: unknown,
    req: IncomingMessage,
  ): { status: number; body: unknown } {
    const request =
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    if (typeof request.prompt !== 'string' || request.prompt.trim() === '') {
      return {
        status: 422,
        body: { detail: [{ loc: ['body', 'prompt'], msg: 'Field required', type: 'missing' }] },
      };
    }
    const run: FakeAgentRun = {
      id: this.nextId++,
      orgId,
      prompt: request.prompt,
      metadata: request.metadata,
      authorization: req.headers.authorization,
      status: 'ACTIVE',
      result: null,
      summary: null,
      pullRequests: [],
      createdAt: new Date().toISOString(),
      gets: 0,
    };
    this.createdRuns.push(run);
    return { status: 200, body: this.runJson(run) };
  }

  private get(res: ServerResponse, orgId: string, id: string): void {
    const run = this.createdRuns.find(
      (candidate) => String(candidate.id) === id && candidate.orgId === orgId,
    );
    if (!run) return send(res, 404, { detail: 'Agent run not found' });
    run.gets++;
    if (
      this.autoCompleteAfterGets !== undefined &&
      run.gets >= this.autoCompleteAfterGets &&
      run.status === 'ACTIVE'
    ) {
      run.status = 'COMPLETE';
      run.result = run.result ?? 'Done';
    }
    send(res, 200, this.runJson(run));
  }

  private runJson(run: FakeAgentRun): Record<string, unknown> {
    return {
      id: run.id,
      organization_id: /^\d+$/.test(run.orgId) ? Number(run.orgId) : run.orgId,
      status: run.status,
      created_at: run.createdAt,
      web_url: `${this.url}/agent/trace/${run.id}`,
      result: run.result,
      summary: run.summary,
      source_type: 'API',
      github_pull_requests: run.pullRequests.map((pr, i) => ({
        id: 9000 + i,
        title: pr.title ?? 'Agent fix',
        url: pr.url,
        created_at: run.createdAt,
        ...(pr.number === undefined ? {} : { number: pr.number }),
      })),
      metadata: run.metadata ?? null,
    };
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

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
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
