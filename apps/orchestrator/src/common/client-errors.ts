import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from './error-body';
import { requestPath } from './error-body';

/** What Node's HTTP parser or its timers refused, and how we answer it. */
interface ClientErrorAnswer {
  status: number;
  reason: string;
  error: string;
}

/**
 * The answer for an error Node raises before any route runs (a request that stalled past
 * REQUEST_TIMEOUT_SECONDS or HEADERS_TIMEOUT_SECONDS, headers too large, a malformed request line),
 * or null when the client is gone and nothing can be said (reset, aborted).
 */
export function clientErrorAnswer(code: string | undefined): ClientErrorAnswer | null {
  switch (code ?? '') {
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ERR_STREAM_DESTROYED':
      return null;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'Request Timeout', error: 'request timed out' };
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        reason: 'Request Header Fields Too Large',
        error: 'request header fields too large',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, reason: 'Payload Too Large', error: 'chunk extensions too large' };
    default:
      return { status: 400, reason: 'Bad Request', error: 'malformed HTTP request' };
  }
}

/** Node's own fields on the socket: the response of the request being read, when it got that far. */
interface ServerSocket extends Duplex {
  bytesWritten?: number;
  _httpMessage?: Partial<ServerResponse> & { req?: IncomingMessage };
}

/**
 * A `clientError` listener for the HTTP server: answers what Node would answer (same status, the
 * connection closed after it) but in the documented error format, with a correlation id, instead
 * of Node's bare status line. The request's path is known when its headers were read (a stalled
 * body); before that it is reported as unknown. Nothing is written once any byte of an answer has
 * gone out.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const answer = clientErrorAnswer(error.code);
  const sock = socket as ServerSocket;
  const pending = sock._httpMessage;
  const untouched = (sock.bytesWritten ?? 0) === 0 && pending?.headersSent !== true;
  if (answer && socket.writable && untouched) {
    const req = pending?.req;
    const correlationId = req?.correlationId ?? randomUUID();
    const body: ErrorBody = {
      error: answer.error,
      status_code: answer.status,
      path: req ? requestPath(req).slice(0, 512) : '',
      correlation_id: correlationId,
    };
    const text = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${answer.status} ${answer.reason}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(text)}\r\n` +
        `X-Correlation-ID: ${correlationId}\r\n` +
        'Connection: close\r\n\r\n' +
        text,
    );
    // Node's default handler destroys the socket at once; ending it lets the answer reach the
    // client first, and the timer makes sure a client that never reads cannot keep it open.
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  socket.destroy();
}
