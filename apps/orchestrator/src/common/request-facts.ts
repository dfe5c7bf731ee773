import type { Request } from 'express';

/**
 * The client address as the limiters see it: `req.ip` honours TRUST_PROXY, so a forged
 * X-Forwarded-For counts only behind a trusted proxy. Stored via `auditText`, never raw.
 */
export function clientAddressOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** `GET /api/v1/tasks/:task_id`: the matched route pattern, so ids never multiply records. */
export function routeOf(req: Request): string {
  const route = (req.route as { path?: unknown } | undefined)?.path;
  return `${req.method} ${typeof route === 'string' ? route : req.path}`;
}

/** A path parameter as the client sent it (validated by the route's pipe, not here). */
export function paramOf(req: Request, name: string): string {
  const value: unknown = req.params[name];
  return typeof value === 'string' ? value : '';
}
