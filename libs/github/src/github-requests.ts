import { inSpan, readJsonAnswer, ServicePolicy } from '@app/platform';
import { errorFromResponse, malformed } from './github-errors';
import type { GithubOperation } from './github-operations';
import type { AuthKind, GithubAnswer, GithubTransport, Scope } from './github-transport';

/** GitHub's largest `per_page`. */
export const PAGE_SIZE = 100;

/** One call as an endpoint describes it. */
export interface GithubCall {
  operation: GithubOperation;
  /** API path, with its query if any. */
  path: string;
  method?: 'GET' | 'POST' | 'PATCH';
  /** Sent as JSON. */
  body?: unknown;
  auth?: AuthKind;
  /** Query parameters added to the path's. */
  query?: Record<string, string>;
  /** Extra span attributes. */
  attributes?: Record<string, string | number>;
  /** False for a call that must not run twice (see ServicePolicy.execute). */
  idempotent?: boolean;
}

/**
 * The calls of one client view (one installation, or the root), and the one place where a call
 * is wrapped: a span per logical call, the client's timeout, in-call retries and circuit breaker
 * around each request the transport sends, a failing status mapped to its error, and JSON
 * answers read by a mapper (an answer that breaks its contract is a GithubAnswerError).
 */
export class GithubRequests {
  constructor(
    private readonly transport: GithubTransport,
    private readonly policy: ServicePolicy,
    private readonly scope: Scope,
  ) {}

  /** A call whose successful answer `read` turns into the result. */
  call<T>(call: GithubCall, read: (answer: GithubAnswer, label: string) => T): Promise<T> {
    const { operation, path, method = 'GET', body, auth, query, attributes, idempotent } = call;
    const url = this.transport.url(path);
    for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
    const label = `${method} ${path}`;
    const spanAttributes = { 'github.operation': operation, ...attributes };
    return inSpan(`github.${operation}`, spanAttributes, () =>
      this.policy.execute(
        async (signal) => {
          const answer = await this.transport.send(
            this.scope,
            { operation, url, label, method, body, auth },
            signal,
          );
          if (!answer.response.ok) throw errorFromResponse(answer.response, answer.text, label);
          return read(answer, label);
        },
        idempotent === undefined ? undefined : { idempotent },
      ),
    );
  }

  /** A call whose JSON answer `map` reads. */
  json<T>(call: GithubCall, map: (body: unknown) => T): Promise<T> {
    return this.call(call, (answer, label) => readJson(answer, label, map));
  }

  /** A GET of a JSON answer; with `page`, that page of 100 items. */
  get<T>(
    operation: GithubOperation,
    path: string,
    page: number | undefined,
    map: (body: unknown) => T,
  ): Promise<T> {
    if (page === undefined) return this.json({ operation, path }, map);
    return this.json(
      {
        operation,
        path,
        query: { per_page: String(PAGE_SIZE), page: String(page) },
        attributes: { 'github.page': page },
      },
      map,
    );
  }
}

/** Reads a JSON answer with `map`; what breaks the contract is a GithubAnswerError. */
export function readJson<T>(answer: GithubAnswer, label: string, map: (body: unknown) => T): T {
  const parsed = readJsonAnswer(answer.text, map);
  if (!parsed.ok) throw malformed(label, parsed.problem, answer.response.status, answer.text);
  return parsed.value;
}
