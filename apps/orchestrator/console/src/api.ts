import { session } from './session.js';

/** The documented error body of the API. */
export interface ApiErrorBody {
  error: string;
  status_code: number;
  correlation_id?: string;
  details?: string[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody | null,
  ) {
    super(
      body
        ? `${body.error}${body.details ? `: ${body.details.join('; ')}` : ''}`
        : `HTTP ${status}`,
    );
  }

  /** What the operator reads: the API's own words, and the correlation id to quote. */
  describe(): string {
    const id = this.body?.correlation_id ? ` (correlation id ${this.body.correlation_id})` : '';
    return `${this.status}: ${this.message}${id}`;
  }
}

/** Called when the API refuses the session's token (expired, revoked): back to sign-in. */
let onUnauthorized: (message: string) => void = () => undefined;

export function whenUnauthorized(handler: (message: string) => void): void {
  onUnauthorized = handler;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Calls the operator API with the session's token. A 401 ends the session (the token expired or
 * was revoked while the page was open) and returns to sign-in with the reason.
 */
export async function api<T>(
  path: string,
  options: { method?: 'GET' | 'POST'; query?: Query; token?: string } = {},
): Promise<T> {
  const token = options.token ?? session.token();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(withQuery(path, options.query), {
    method: options.method ?? 'GET',
    headers,
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, isErrorBody(body) ? body : null);
    if (response.status === 401 && options.token === undefined && session.token()) {
      onUnauthorized(
        'The server no longer accepts your token (it expired or was revoked). Sign in again with a new one.',
      );
    }
    throw error;
  }
  return body as T;
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return (
    typeof value === 'object' && value !== null && typeof (value as ApiErrorBody).error === 'string'
  );
}
