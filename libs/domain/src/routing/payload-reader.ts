/**
 * Defensive readers for untrusted JSON. Webhook payloads are parsed JSON from the outside world:
 * every read checks the type and reads own properties only, so nothing here can throw on any
 * JSON value and nothing is picked up from `Object.prototype` (`constructor`, `toString`, ...).
 */

/** A plain JSON object (not null, not an array). */
export type JsonRecord = Record<string, unknown>;

/** True for a non-null, non-array object. */
export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own property of a record, or undefined. Never reads the prototype chain. */
export function readOwn(source: unknown, key: string): unknown {
  if (!isRecord(source)) return undefined;
  return Object.prototype.hasOwnProperty.call(source, key) ? source[key] : undefined;
}

/** Follows a path of own keys; undefined as soon as a step is not a record. */
export function readPath(source: unknown, ...keys: string[]): unknown {
  let current: unknown = source;
  for (const key of keys) {
    current = readOwn(current, key);
    if (current === undefined) return undefined;
  }
  return current;
}

/** The record at `keys`, or null. */
export function readRecord(source: unknown, ...keys: string[]): JsonRecord | null {
  const value = readPath(source, ...keys);
  return isRecord(value) ? value : null;
}

/** The array at `keys`, or null. */
export function readArray(source: unknown, ...keys: string[]): unknown[] | null {
  const value = readPath(source, ...keys);
  return Array.isArray(value) ? value : null;
}

/** A safe integer ≥ `min` (default 1), or null. Numeric strings are rejected on purpose. */
export function toPositiveInt(value: unknown, min = 1): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min ? value : null;
}

/** Lone surrogates are rejected by PostgreSQL jsonb, so they become U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Cuts a string to at most `max` UTF-16 units without splitting a surrogate pair, drops NUL
 * (PostgreSQL text and jsonb reject it) and repairs lone surrogates.
 */
export function capText(value: string, max: number): string {
  let text = value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
  if (text.length > max) {
    text = text.slice(0, max);
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) text = text.slice(0, -1);
  }
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** A string value capped to `max`, or null when the value is not a string. */
export function toText(value: unknown, max: number): string | null {
  return typeof value === 'string' ? capText(value, max) : null;
}

/** A non-empty string at `keys`, capped to `max`, or null. */
export function readText(source: unknown, max: number, ...keys: string[]): string | null {
  const text = toText(readPath(source, ...keys), max);
  return text === null || text.length === 0 ? null : text;
}

/** A boolean at `keys`, or null. */
export function readBoolean(source: unknown, ...keys: string[]): boolean | null {
  const value = readPath(source, ...keys);
  return typeof value === 'boolean' ? value : null;
}

/**
 * Makes a payload value safe to embed in a reason code: only `[A-Za-z0-9_.-]`, at most 64 chars,
 * so reasons stay greppable and cannot smuggle text into logs.
 */
export function reasonToken(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (typeof value !== 'string')
    return `non_string_${Array.isArray(value) ? 'array' : typeof value}`;
  const token = value.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  return token.length > 0 ? token : 'empty';
}
