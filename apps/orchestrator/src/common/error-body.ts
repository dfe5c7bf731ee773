import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';

/** The documented error format, on every route. */
export interface ErrorBody {
  error: string;
  status_code: number;
  path: string;
  correlation_id: string;
  details?: string[];
}

export function sendError(
  req: Request,
  res: Response,
  status: number,
  error: string,
  details: string[] = [],
  extraHeaders: Record<string, string> = {},
): void {
  const correlationId = req.correlationId ?? randomUUID();
  const body: ErrorBody = {
    error,
    status_code: status,
    path: req.originalUrl.split('?')[0].slice(0, 512),
    correlation_id: correlationId,
  };
  if (details.length > 0) body.details = details;
  for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
  if (!res.getHeader('X-Correlation-ID')) res.setHeader('X-Correlation-ID', correlationId);
  res.status(status).json(body);
}
