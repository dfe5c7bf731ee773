import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { runWithLogContext } from '@app/platform';

const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare module 'http' {
  interface IncomingMessage {
    /** Set for every request; names it in logs, error bodies and the response headers. */
    correlationId?: string;
  }
}

/**
 * Takes the caller's `X-Request-ID` / `X-Correlation-ID` when it is a sane token, otherwise makes
 * one, and echoes it on the response. A hostile value (newlines, 10 KB) is replaced, not echoed.
 */
export function correlationIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const id = assignCorrelationId(req);
  res.setHeader('X-Correlation-ID', id);
  res.setHeader('X-Request-ID', id);
  // Every log line of this request carries the id, and tasks it enqueues take it to the worker.
  runWithLogContext({ correlation_id: id }, next);
}

/** Picks the request's correlation id (the caller's if sane) and sets `req.correlationId`. */
export function assignCorrelationId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'] ?? req.headers['x-correlation-id'];
  const candidate = Array.isArray(given) ? given[0] : given;
  const id = candidate && ACCEPTED_ID.test(candidate) ? candidate : randomUUID();
  req.correlationId = id;
  return id;
}
