import { ExternalServiceError } from '../errors/domain-error';
import { parseRetryAfter } from '../resilience/http-policy';

/**
 * Reading what an outbound HTTP service answered, shared by the GitHub and Codegen clients:
 * shape checks for JSON bodies, reading a JSON answer into a result or a problem, the message of
 * an error body (bounded, never the whole body), the error for a failing status, integer
 * headers, fetch's own network failures, and base URLs given in settings.
 */

/** A field of an answer has the wrong shape; each client decides what that means. */
export class ShapeError extends Error {}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw new ShapeError(`${where} is not an object`);
  return value;
}

export function asArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(`${where} is not an array`);
  return value;
}

export function readString(record: Record<string, unknown>, key: string, where: string): string {
  const value = record[key];
  if (typeof value !== 'string') throw new ShapeError(`${where}.${key} is not a string`);
  return value;
}

export function readNullableString(
  record: Record<string, unknown>,
  key: string,
  where: string,
): string | null {
  const value = record[key];
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new ShapeError(`${where}.${key} is not a string`);
  return value;
}

export function readInteger(record: Record<string, unknown>, key: string, where: string): number {
  const value = record[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new ShapeError(`${where}.${key} is not an integer`);
  }
  return value;
}

export function readNullableInteger(
  record: Record<string, unknown>,
  key: string,
  where: string,
): number | null {
  return record[key] === null || record[key] === undefined ? null : readInteger(record, key, where);
}

/** A JSON answer read by a mapper: its value, or what is wrong with it. */
export type AnswerReading<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * Parses `text` as JSON and maps it. A body that is not JSON is the problem `body is not JSON`
 * (never the parser's own message, which quotes the body); a {@link ShapeError} from `map` is the
 * problem it names. Any other error from `map` is thrown. `emptyIsNull`: an empty body maps as
 * `null` (an answer with no content), else it is not JSON.
 */
export function readJsonAnswer<T>(
  text: string,
  map: (body: unknown) => T,
  options: { emptyIsNull?: boolean } = {},
): AnswerReading<T> {
  let body: unknown = null;
  if (text !== '' || !options.emptyIsNull) {
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, problem: 'body is not JSON' };
    }
  }
  try {
    return { ok: true, value: map(body) };
  } catch (error) {
    if (error instanceof ShapeError) return { ok: false, problem: error.message };
    throw error;
  }
}

/** Longest error detail quoted from an answer into an error message (and so into logs). */
export const MAX_ERROR_DETAIL_LENGTH = 200;

/**
 * What an error body says, shortened: its `message` (GitHub, Codegen), a string `detail`, or
 * FastAPI's 422 `{detail: [{loc, msg}]}` (the first problem, with where it is). Undefined for a
 * body that is not JSON (a proxy's HTML page, say): the status alone has to do.
 */
export function errorBodyDetail(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (!isRecord(body)) return undefined;
    const { detail, message } = body;
    if (typeof message === 'string') return message.slice(0, MAX_ERROR_DETAIL_LENGTH);
    if (typeof detail === 'string') return detail.slice(0, MAX_ERROR_DETAIL_LENGTH);
    if (Array.isArray(detail) && isRecord(detail[0]) && typeof detail[0].msg === 'string') {
      const loc = Array.isArray(detail[0].loc) ? detail[0].loc.map(String).join('.') : '';
      return `${loc ? `${loc}: ` : ''}${detail[0].msg}`.slice(0, MAX_ERROR_DETAIL_LENGTH);
    }
  } catch {
    // Not JSON.
  }
  return undefined;
}

/** What a client needs to turn an answer with a failing status into an error. */
export interface FailedAnswer {
  /** `service` of the error ('github', 'codegen'). */
  service: string;
  /** How the message names the service ('GitHub', 'Codegen'). */
  serviceName: string;
  /** `METHOD /path` of the request. */
  label: string;
  status: number;
  headers: Headers;
  /** What the error body says ({@link errorBodyDetail}), already cleaned of credentials. */
  detail: string | undefined;
  /** Whether asking again later may succeed (5xx, and 429 where that is no rate limit of its own). */
  transient: boolean;
}

/**
 * `<service> <label> answered <status>[: <detail>]` as an {@link ExternalServiceError}: a
 * transient one carries the answer's `Retry-After`; a permanent one none (asking again changes
 * nothing).
 */
export function failedAnswerError(answer: FailedAnswer): ExternalServiceError {
  const { service, serviceName, label, status, headers, detail, transient } = answer;
  const message = `${serviceName} ${label} answered ${status}${detail ? `: ${detail}` : ''}`;
  if (!transient) return new ExternalServiceError(service, message, false, status);
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  return new ExternalServiceError(service, message, true, status, retryAfterMs);
}

/** A header holding a non-negative integer, or undefined when absent or anything else. */
export function integerHeader(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

/** fetch's own failure to get an answer (connection refused or cut), not an HTTP status. */
export function isFetchFailure(error: unknown): boolean {
  return error instanceof TypeError && /fetch failed|terminated/.test(error.message);
}

/**
 * An absolute http(s) base URL without query or fragment, trailing slashes removed; a TypeError
 * naming `owner` and `field` otherwise (a setting that can never work).
 */
export function serviceBaseUrl(owner: string, field: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${owner}: ${field} must be an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`${owner}: ${field} must be an http(s) URL`);
  }
  if (url.search || url.hash)
    throw new TypeError(`${owner}: ${field} must not carry a query or fragment`);
  return url.href.replace(/\/+$/, '');
}
