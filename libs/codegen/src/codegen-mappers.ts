import { isRecord, ShapeError } from '@app/platform';
import type { AgentRun, AgentRunPullRequest, CodegenRepository } from './codegen.types';

/** Codegen's ids are integers; a digit string is taken too (a proxy may re-encode numbers). */
export function integerId(value: unknown): number | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && /^[1-9]\d{0,15}$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : null;
  }
  return null;
}

const MAX_STATUS_LENGTH = 64;

/**
 * Maps an `AgentRunResponse`. Throws {@link ShapeError} only when the body is not an object or
 * has no usable `id`; any other field of the wrong type reads as null and is noted in `problems`.
 */
export function toAgentRun(value: unknown, where = 'body'): AgentRun {
  if (!isRecord(value)) throw new ShapeError(`${where} is not an object`);
  const id = integerId(value.id);
  if (id === null) throw new ShapeError(`${where}.id is not an integer`);
  const problems: string[] = [];
  const str = (key: string): string | null => {
    const field = value[key];
    if (field === null || field === undefined) return null;
    if (typeof field === 'string') return field;
    problems.push(`${where}.${key} is not a string`);
    return null;
  };
  let status = str('status');
  if (status === null && value.status !== null && value.status !== undefined) {
    // Kept (bounded) so the task can name what it saw; it counts as an unknown status.
    status = JSON.stringify(value.status).slice(0, MAX_STATUS_LENGTH);
  } else if (status !== null && status.length > MAX_STATUS_LENGTH) {
    problems.push(`${where}.status is longer than ${MAX_STATUS_LENGTH} characters`);
    status = status.slice(0, MAX_STATUS_LENGTH);
  }
  let metadata: Record<string, unknown> | null = null;
  if (isRecord(value.metadata)) metadata = value.metadata;
  else if (value.metadata !== null && value.metadata !== undefined)
    problems.push(`${where}.metadata is not an object`);
  let pullRequests: AgentRunPullRequest[] = [];
  const prs = value.github_pull_requests;
  if (Array.isArray(prs)) {
    pullRequests = prs.flatMap((item, i) => {
      const pr = toPullRequest(item);
      if (pr === null) problems.push(`${where}.github_pull_requests[${i}] is not an object`);
      return pr === null ? [] : [pr];
    });
  } else if (prs !== null && prs !== undefined) {
    problems.push(`${where}.github_pull_requests is not an array`);
  }
  return {
    id: String(id),
    status,
    webUrl: str('web_url'),
    result: str('result'),
    summary: str('summary'),
    sourceType: str('source_type'),
    pullRequests,
    createdAt: str('created_at'),
    metadata,
    problems,
  };
}

function toPullRequest(value: unknown): AgentRunPullRequest | null {
  if (!isRecord(value)) return null;
  const url = typeof value.url === 'string' ? value.url : null;
  const title = typeof value.title === 'string' ? value.title : null;
  // Codegen lists a pull request by URL only; the number is the last path segment of /pull/<n>.
  const parsed = url === null ? null : /\/pull\/(\d+)(?:[/?#]|$)/.exec(url);
  return parsed ? { url, title, number: Number(parsed[1]) } : { url, title };
}

/** One page of a list answer: `{items, total, page, size, pages}`. */
export interface Page<T> {
  items: T[];
  total: number | null;
  pages: number | null;
  /** Items that could not be read at all (skipped). */
  problems: string[];
}

/** Maps a page; throws {@link ShapeError} when `items` is not an array. */
export function toPage<T>(value: unknown, item: (v: unknown, where: string) => T): Page<T> {
  if (!isRecord(value)) throw new ShapeError('body is not an object');
  if (!Array.isArray(value.items)) throw new ShapeError('body.items is not an array');
  const problems: string[] = [];
  const items: T[] = [];
  value.items.forEach((v, i) => {
    try {
      items.push(item(v, `body.items[${i}]`));
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      problems.push(error.message);
    }
  });
  const count = (key: string): number | null =>
    typeof value[key] === 'number' && Number.isSafeInteger(value[key]) ? value[key] : null;
  return { items, total: count('total'), pages: count('pages'), problems };
}

/** Maps one repository of `GET /organizations/{org}/repos`. */
export function toRepository(value: unknown, where: string): CodegenRepository {
  if (!isRecord(value)) throw new ShapeError(`${where} is not an object`);
  const id = integerId(value.id);
  if (id === null) throw new ShapeError(`${where}.id is not an integer`);
  if (typeof value.full_name !== 'string' || value.full_name === '')
    throw new ShapeError(`${where}.full_name is not a string`);
  return { id, fullName: value.full_name };
}
