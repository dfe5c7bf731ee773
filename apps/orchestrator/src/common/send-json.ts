import type { ServerResponse } from 'node:http';

/**
 * Answers with a JSON body through Node's own response methods. On the webhook's hot path,
 * Express's `res.json` (content-type parsing, ETag hashing, header helpers) cost more CPU than
 * storing the delivery's task (docs/performance.md); the bytes sent are the same, minus the ETag
 * that no webhook sender uses. Headers set earlier (correlation id, security headers) are kept.
 * The error body (`sendError`) goes out the same way. A HEAD request gets the headers only.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}
