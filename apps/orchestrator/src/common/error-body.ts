import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './send-json';

/** The documented error format, on every route. */
export interface ErrorBody {
  error: string;
  status_code: number;
  path: string;
  correlation_id: string;
  details?: string[];
}

/**
 * Answers with the documented error body. Works on Node's own request and response, so the
 * webhook lane (served ahead of Express) and the Express routes answer errors byte for byte alike.
 */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  error: string,
  details: string[] = [],
  extraHeaders: Record<string, string> = {},
): void {
  const correlationId = req.correlationId ?? randomUUID();
  const body: ErrorBody = {
    error,
    status_code: status,
    path: requestPath(req).slice(0, 512),
    correlation_id: correlationId,
  };
  if (details.length > 0) body.details = details;
  for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
  if (!res.getHeader('X-Correlation-ID')) res.setHeader('X-Correlation-ID', correlationId);
  sendJson(res, status, body);
}

/** The path the client asked for, without the query (Express rewrites `req.url` in routers). */
export function requestPath(req: IncomingMessage): string {
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  return url.split('?')[0];
}
