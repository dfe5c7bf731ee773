/**
 * Reading what an outbound HTTP service answered, shared by the GitHub and Codegen clients:
 * shape checks for JSON bodies, the message of an error body (bounded, never the whole body),
 * integer headers, fetch's own network failures, and base URLs given in settings.
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
