import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'winston';

/** The shapes the intake accepts; any other header value is left out of the line, not echoed. */
const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const EVENT_NAME = /^[a-z0-9_]{1,64}$/;
const MAX_PATH = 256;

/** The route a request was served by, as a pattern (`/api/v1/tasks/:task_id`), if one matched. */
export type RouteOf = (req: IncomingMessage) => string | null;

/**
 * ACCESS_LOG: one `info` line per request once its answer is written (or the client went away
 * first): method, route (the matched pattern, so ids do not multiply), path (without the query
 * string, which may carry filters), status, duration in ms, and for deliveries the delivery id and
 * event, plus the correlation id an operator can search both apps' logs for. Headers, bodies and
 * query strings are never written. Installed as the server's first `request` listener, so the
 * webhook lane (served ahead of Express) and every Express route are logged alike.
 */
export function accessLog(
  logger: Logger,
  routeOf: RouteOf,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    let written = false;
    const write = (): void => {
      if (written) return;
      written = true;
      res.off('finish', write);
      res.off('close', write);
      const line: Record<string, unknown> = {
        method: req.method,
        route: routeOf(req),
        path: pathOf(req.url),
        status: res.statusCode,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
        correlation_id: req.correlationId ?? null,
      };
      const delivery = header(req, 'x-github-delivery', DELIVERY_ID);
      if (delivery !== undefined) line.delivery_id = delivery;
      const event = header(req, 'x-github-event', EVENT_NAME);
      if (event !== undefined) line.event = event;
      // 'close' before 'finish': the client went away before the whole answer was written.
      if (!res.writableFinished) line.aborted = true;
      logger.info('http request', line);
    };
    res.once('finish', write);
    res.once('close', write);
  };
}

function header(req: IncomingMessage, name: string, shape: RegExp): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && shape.test(value) ? value : undefined;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path;
}
