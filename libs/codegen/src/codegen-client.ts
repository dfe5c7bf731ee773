import {
  ExternalServiceError,
  inSpan,
  failedRequestStatus,
  requestStatusOf,
  ServiceRequestListener,
  ServiceRequestListeners,
  ServicePolicy,
  createServicePolicy,
  parseRetryAfter,
} from '@app/platform';
import type {
  AgentRun,
  AgentRunPullRequest,
  CodegenClientOptions,
  CreateAgentRunInput,
} from './codegen.types';
import type { CodegenOperation } from './codegen-operations';

const SERVICE = 'codegen';
const DEFAULT_TIMEOUT_MS = 10_000;
const ORG_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_DETAIL_LENGTH = 200;
const TERMINAL_STATUSES = new Set([
  'COMPLETE',
  'COMPLETED',
  'FAILED',
  'ERROR',
  'CANCELLED',
  'CANCELED',
  'STOPPED',
]);
const SUCCESSFUL_STATUSES = new Set(['COMPLETE', 'COMPLETED']);

/** True when an agent run will not change any more (case-insensitive). */
export function isTerminalAgentRunStatus(status: string): boolean {
  return TERMINAL_STATUSES.has(status.trim().toUpperCase());
}

/** True when an agent run ended well (case-insensitive). */
export function isSuccessfulAgentRunStatus(status: string): boolean {
  return SUCCESSFUL_STATUSES.has(status.trim().toUpperCase());
}

/**
 * Codegen agent API client with its own timeout, retry and circuit breaker. Failures are
 * {@link ExternalServiceError}s (transient: network, timeout, 5xx, 429; permanent: other 4xx,
 * invalid input, malformed answers). The token never appears in an error message.
 */
export class CodegenClient {
  /** The resilience policy of this client; observe `policy.onStateChange` for metrics. */
  readonly policy: ServicePolicy;
  private readonly runsUrl: string;
  private readonly token: string;
  private readonly requestListeners = new ServiceRequestListeners();

  constructor(options: CodegenClientOptions) {
    const { baseUrl, token, orgId, ...tuning } = options;
    if (typeof token !== 'string' || token.trim() === '')
      throw new TypeError('CodegenClient: token is required');
    if (!ORG_ID_PATTERN.test(orgId))
      throw new TypeError('CodegenClient: orgId must match [A-Za-z0-9_-]{1,64}');
    this.token = token;
    this.runsUrl = `${normalizeBaseUrl(baseUrl)}/v1/organizations/${orgId}/agent/run`;
    this.policy = createServicePolicy({
      ...tuning,
      service: SERVICE,
      host: new URL(this.runsUrl).host,
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
   * Starts an agent run. Not retried in-call after a failure Codegen may have acted on (timeout,
   * 5xx), so one call never starts two runs; such failures surface as transient errors.
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
    const body = JSON.stringify({ prompt: input.prompt, metadata: input.metadata });
    return this.request('create_agent_run', 'POST', this.runsUrl, body);
  }

  /** Reads an agent run by its id. */
  async getAgentRun(id: number | string): Promise<AgentRun> {
    const valid =
      typeof id === 'number' ? Number.isSafeInteger(id) && id > 0 : RUN_ID_PATTERN.test(id);
    if (!valid) {
      throw new ExternalServiceError(
        SERVICE,
        `invalid agent run id ${JSON.stringify(String(id).slice(0, 100))}`,
        false,
      );
    }
    return this.request('get_agent_run', 'GET', `${this.runsUrl}/${id}`, undefined);
  }

  private async request(
    operation: CodegenOperation,
    method: 'GET' | 'POST',
    url: string,
    body: string | undefined,
  ): Promise<AgentRun> {
    const label = `${method} ${new URL(url).pathname}`;
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${this.token}`,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const execute = () =>
      this.policy.execute(
        async (signal) => {
          const response = await this.send(operation, signal, () =>
            fetch(url, { method, headers, body, signal }),
          );
          const text = await response.text();
          if (!response.ok) throw this.errorFromResponse(response, text, label);
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            throw malformed(label, 'body is not JSON', response.status);
          }
          try {
            return toAgentRun(json);
          } catch (error) {
            if (error instanceof ShapeError) throw malformed(label, error.message, response.status);
            throw error;
          }
        },
        { idempotent: method === 'GET' },
      );
    // One span per logical call (its in-call retries are children when fetch is instrumented).
    return inSpan(`codegen.${operation}`, { 'codegen.operation': operation }, execute);
  }

  /** One HTTP request, reported to the request listeners however it ends. */
  private async send(
    operation: CodegenOperation,
    signal: AbortSignal,
    call: () => Promise<Response>,
  ): Promise<Response> {
    const started = performance.now();
    const durationSeconds = (): number => (performance.now() - started) / 1000;
    try {
      const response = await call();
      this.requestListeners.emit({
        service: SERVICE,
        operation,
        status: requestStatusOf(response.status),
        httpStatus: response.status,
        durationSeconds: durationSeconds(),
      });
      return response;
    } catch (error) {
      this.requestListeners.emit({
        service: SERVICE,
        operation,
        status: failedRequestStatus(signal.aborted),
        durationSeconds: durationSeconds(),
      });
      throw error;
    }
  }

  private errorFromResponse(response: Response, text: string, label: string): ExternalServiceError {
    const { status } = response;
    const detail = this.redact(errorDetail(text));
    const message = `Codegen ${label} answered ${status}${detail ? `: ${detail}` : ''}`;
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    if (status === 429 || status >= 500)
      return new ExternalServiceError(SERVICE, message, true, status, retryAfterMs);
    return new ExternalServiceError(SERVICE, message, false, status);
  }

  /** A server echoing the Authorization header back must not leak it into logs. */
  private redact(text: string | undefined): string | undefined {
    return text?.split(this.token).join('***');
  }
}

function normalizeBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError('CodegenClient: baseUrl must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('CodegenClient: baseUrl must be an http(s) URL');
  }
  if (url.search || url.hash)
    throw new TypeError('CodegenClient: baseUrl must not carry a query or fragment');
  return url.href.replace(/\/+$/, '');
}

/** Codegen's (FastAPI) `detail`: a string, or a list of validation problems. */
function errorDetail(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (!isRecord(body)) return undefined;
    const { detail, message } = body;
    if (typeof detail === 'string') return detail.slice(0, MAX_DETAIL_LENGTH);
    if (Array.isArray(detail) && isRecord(detail[0]) && typeof detail[0].msg === 'string') {
      return detail[0].msg.slice(0, MAX_DETAIL_LENGTH);
    }
    if (typeof message === 'string') return message.slice(0, MAX_DETAIL_LENGTH);
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone has to do.
  }
  return undefined;
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

function nullableStr(record: Record<string, unknown>, key: string, where: string): string | null {
  const value = record[key];
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new ShapeError(`${where}.${key} is not a string`);
  return value;
}

function toAgentRun(value: unknown): AgentRun {
  if (!isRecord(value)) throw new ShapeError('body is not an object');
  const { id, status } = value;
  const validId =
    (typeof id === 'number' && Number.isSafeInteger(id)) || (typeof id === 'string' && id !== '');
  if (!validId) throw new ShapeError('body.id is not a number or string');
  if (typeof status !== 'string' || status === '')
    throw new ShapeError('body.status is not a string');
  const pullRequests = value.github_pull_requests ?? [];
  if (!Array.isArray(pullRequests))
    throw new ShapeError('body.github_pull_requests is not an array');
  return {
    id: String(id),
    status,
    webUrl: nullableStr(value, 'web_url', 'body'),
    result: nullableStr(value, 'result', 'body'),
    summary: nullableStr(value, 'summary', 'body'),
    pullRequests: pullRequests.map((item, i) => toPullRequest(item, `github_pull_requests[${i}]`)),
    createdAt: nullableStr(value, 'created_at', 'body'),
  };
}

function toPullRequest(value: unknown, where: string): AgentRunPullRequest {
  if (!isRecord(value)) throw new ShapeError(`${where} is not an object`);
  const url = nullableStr(value, 'url', where);
  const given = value.number;
  if (typeof given === 'number' && Number.isSafeInteger(given) && given > 0)
    return { url, number: given };
  // Codegen lists a pull request by URL; the number is the last path segment of /pull/<n>.
  const parsed = url === null ? null : /\/pull\/(\d+)(?:[/?#]|$)/.exec(url);
  return parsed ? { url, number: Number(parsed[1]) } : { url };
}
