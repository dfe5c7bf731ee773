import {
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
  createServer,
} from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/**
 * What the HTTP fakes of GitHub and Codegen share: a real server on 127.0.0.1, request
 * recording, JSON bodies read under a size cap, a route table, a queue of injected failures that
 * may be meant for one route only, latency, reset and a stop that drops open connections. Each
 * fake extends it with its service's routes and answers; nothing here decides what an answer
 * says.
 */

/** A request a fake received. Header names are lower case. */
export interface RecordedRequest {
  method: string;
  /** Path with query string, e.g. `/repos/o/r/pulls/1/files?per_page=100&page=2`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
}

/** A request a fake received, and when. */
export interface FakeRequest extends RecordedRequest {
  /** When it arrived, epoch milliseconds. */
  at: number;
}

/** An answer that replaces the normal one for the next requests (see `failNext`). */
export interface FakeFailure {
  status: number;
  /** Sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** Wait before answering (on top of `setLatency`). */
  delayMs?: number;
  /** Body; each fake has its service's default. */
  body?: unknown;
  /** Extra headers, e.g. `{ 'x-ratelimit-remaining': '0' }`. */
  headers?: Record<string, string>;
}

/** Which requests a queued failure is for: method and path without query string. */
export type RouteFilter = (method: string, path: string) => boolean;

/** Bodies above this are answered 413 unread (both services take far less). */
export const MAX_FAKE_BODY_BYTES = 8 * 1024 * 1024;

/**
 * `METHOD /path/{param}/...` as a route: each `{name}` is one path segment, `{name+}` one or
 * more, everything else is literal. E.g. `GET /repos/{owner}/{repo}/pulls/{pull_number}/files`.
 */
export function routeFilter(route: string): RouteFilter {
  const match = /^([A-Z]+) (\/\S*)$/.exec(route);
  if (!match) throw new Error(`fake route "${route}" is not "METHOD /path"`);
  const [, method, template] = match;
  const pattern = templatePattern(template);
  return (m, path) => m === method && pattern.test(path);
}

/** A path template (`/a/{b}/c/{d+}`) as a RegExp with one group per parameter. */
export function templatePattern(template: string): RegExp {
  const source = template
    .split(/(\{[^/{}]+\})/)
    .map((part) => {
      if (!/^\{[^/{}]+\}$/.test(part)) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return part.endsWith('+}') ? '(.+)' : '([^/]+)';
    })
    .join('');
  return new RegExp(`^${source}$`);
}

/** One entry of a fake's route table. */
export interface FakeRoute<C> {
  method: string;
  /** A path template (see {@link templatePattern}) or a RegExp on the path. */
  path: string | RegExp;
  /** Gets the path's matched groups (parameters, in order) and the fake's request context. */
  answer: (params: string[], context: C) => void | Promise<void>;
}

/** A route table: the first entry whose method and path match answers. */
export class RouteTable<C> {
  private readonly entries: Array<{ method: string; pattern: RegExp; route: FakeRoute<C> }>;

  constructor(routes: Array<FakeRoute<C>>) {
    this.entries = routes.map((route) => ({
      method: route.method,
      pattern: typeof route.path === 'string' ? templatePattern(route.path) : route.path,
      route,
    }));
  }

  /** The entry for `method path` and its parameters; `methodAllowed` false when only the path matched. */
  find(
    method: string,
    path: string,
  ): { answer: FakeRoute<C>['answer']; params: string[] } | { methodAllowed: boolean } {
    let pathMatched = false;
    for (const entry of this.entries) {
      const match = entry.pattern.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (entry.method === method) return { answer: entry.route.answer, params: match.slice(1) };
    }
    return { methodAllowed: !pathMatched };
  }
}

export abstract class FakeServer<F extends FakeFailure = FakeFailure> {
  /** Every request received since start or the last `reset()`, in arrival order. */
  readonly requests: FakeRequest[] = [];
  private server: Server | null = null;
  private address = '';
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private failures: Array<{ failure: F; route: RouteFilter | null }> = [];
  private latencyMs = 0;

  /** Base URL, e.g. `http://127.0.0.1:54321`. */
  get url(): string {
    if (this.server === null) throw new Error('the fake is not listening');
    return this.address;
  }

  /** Stops the server, dropping open connections and pending delayed answers. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    if (server === null) return;
    for (const socket of this.sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Forgets recorded requests, queued failures and latency. */
  reset(): void {
    this.requests.length = 0;
    this.failures = [];
    this.latencyMs = 0;
  }

  /** Delays every answer by `ms`. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Drops the failures still queued by `failNext` (an outage that ends). */
  clearFailures(): void {
    this.failures = [];
  }

  /** Listens on 127.0.0.1 (`port` 0: a free one). */
  protected async listen(port = 0, maxBodyBytes = MAX_FAKE_BODY_BYTES): Promise<void> {
    const server = createServer();
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.server = server;
    this.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.receive(req, res, maxBodyBytes).catch((error: unknown) => {
        this.answerError(res, 500, `fake error: ${String(error)}`);
      });
    });
  }

  /** Queues `count` copies of `failure`, for the requests `route` accepts (default: any). */
  protected queueFailures(count: number, failure: F, route: RouteFilter | null = null): void {
    for (let i = 0; i < count; i++) this.failures.push({ failure, route });
  }

  /** The first queued failure meant for this request, taken off the queue. */
  protected takeFailure(method: string, path: string): F | undefined {
    const index = this.failures.findIndex((f) => f.route === null || f.route(method, path));
    return index >= 0 ? this.failures.splice(index, 1)[0].failure : undefined;
  }

  /** Waits the latency plus `extraMs`; cut short by `stop()`. */
  protected waitLatency(extraMs = 0): Promise<void> {
    return this.delay(this.latencyMs + extraMs);
  }

  /** Waits `ms`; a pending wait never resolves once the fake stopped. */
  protected delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /** `Retry-After` and the failure's own headers. */
  protected failureHeaders(failure: FakeFailure): Record<string, string> {
    const headers: Record<string, string> = { ...failure.headers };
    if (failure.retryAfterSeconds !== undefined)
      headers['retry-after'] = String(failure.retryAfterSeconds);
    return headers;
  }

  /** Writes a JSON answer (a string body is sent as it is), unless the client has gone. */
  protected writeJson(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.destroyed || res.headersSent) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  }

  /** Answers one recorded request (the fake's routes, failures, checks). */
  protected abstract handle(
    req: IncomingMessage,
    res: ServerResponse,
    request: FakeRequest,
  ): Promise<void>;

  /** An error answer in the service's own shape (413 for a body over the cap, 500 for a fake bug). */
  protected abstract answerError(res: ServerResponse, status: number, message: string): void;

  private async receive(
    req: IncomingMessage,
    res: ServerResponse,
    maxBodyBytes: number,
  ): Promise<void> {
    const at = Date.now();
    const read = await readBody(req, maxBodyBytes);
    const request: FakeRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: read.tooLarge ? undefined : read.body,
      at,
    };
    this.requests.push(request);
    if (read.tooLarge) return this.answerError(res, 413, `request body over ${maxBodyBytes} bytes`);
    await this.handle(req, res, request);
  }
}

/** The body as JSON (or text when it is not JSON); past `maxBytes` the rest is discarded. */
async function readBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<{ body: unknown; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= maxBytes) chunks.push(chunk as Buffer);
  }
  if (size > maxBytes) return { body: undefined, tooLarge: true };
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return { body: undefined, tooLarge: false };
  try {
    return { body: JSON.parse(text), tooLarge: false };
  } catch {
    return { body: text, tooLarge: false };
  }
}
