import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { Logger } from 'winston';
import { DomainError, ErrorCode } from '@app/platform';
import { requestPath, sendError } from './error-body';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  [ErrorCode.InvalidInput]: 400,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.InvalidSignature]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.MethodNotAllowed]: 405,
  [ErrorCode.Duplicate]: 409,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Internal]: 500,
};

/** How long the rest of a refused upload is read and discarded before the connection is cut. */
const LINGER_MS = 2000;

/**
 * A refused upload keeps arriving after the 413. Closing at once (`Connection: close`) resets
 * the connection with the client's bytes unread, and the client then often loses the 413 too.
 * Instead the rest is discarded as it arrives (never buffered) and the connection is cut only if
 * the upload is still going after LINGER_MS: a bounded "lingering close".
 */
function lingerThenClose(req: IncomingMessage): void {
  req.resume();
  // All of it already arrived: nothing to wait for, the connection stays usable.
  if (req.complete) return;
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
}

/** Maps every error to the documented body; unknown errors become a 500 without internals. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    if (res.headersSent) return;

    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const details =
        typeof response === 'object' &&
        response !== null &&
        Array.isArray((response as { message?: unknown }).message)
          ? (response as { message: unknown[] }).message.map(String)
          : [];
      const message = status === 404 ? `no route for ${req.method} ${req.path}` : exception.message;
      sendError(req, res, status, message, details);
      return;
    }
    answerError(req, res, exception, this.logger);
  }
}

/**
 * The answer to a DomainError (its status, message, details and Retry-After) or, for anything
 * else, a logged 500 without internals. Shared by the filter and the webhook lane.
 */
export function answerError(
  req: IncomingMessage,
  res: ServerResponse,
  exception: unknown,
  logger: Logger,
): void {
  if (res.headersSent) return;
  if (exception instanceof DomainError) {
    const status = STATUS_BY_CODE[exception.code];
    const headers: Record<string, string> = {};
    if (exception.retryAfterSeconds !== undefined)
      headers['Retry-After'] = String(exception.retryAfterSeconds);
    // A body refused mid-upload (too large, or past an in-flight cap) is discarded, then cut off.
    if (status === 413 || ((status === 429 || status === 503) && !req.complete)) {
      lingerThenClose(req);
    }
    sendError(req, res, status, exception.message, exception.details, headers);
    return;
  }
  logger.error('unhandled error', {
    correlation_id: req.correlationId,
    path: requestPath(req),
    error: exception instanceof Error ? exception.message : String(exception),
    stack: exception instanceof Error ? exception.stack : undefined,
  });
  sendError(req, res, 500, 'internal server error');
}
