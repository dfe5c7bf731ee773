import { createHmac } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

/** A header as it goes on the wire; the same name may appear twice (a duplicated header). */
export type RawHeader = [name: string, value: string];

export interface RawRequest {
  method: string;
  /** Sent exactly as given: percent-escapes, odd bytes and all. */
  path: string;
  headers?: RawHeader[];
  body?: Buffer | string;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/**
 * Sends a request with full control of the wire: the path is not normalised and headers go as
 * listed (duplicates included), which `fetch` would not allow. Host and Content-Length are added
 * unless the caller lists them.
 */
export function sendRaw(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  const headers: string[] = [];
  const names = new Set((req.headers ?? []).map(([n]) => n.toLowerCase()));
  if (!names.has('host')) headers.push('Host', url.host);
  if (!names.has('content-length') && !names.has('transfer-encoding')) {
    headers.push('Content-Length', String(body?.length ?? 0));
  }
  for (const [name, value] of req.headers ?? []) headers.push(name, value);
  return new Promise<RawResponse>((resolve, reject) => {
    const outgoing = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        // The array form sends each header as listed, in order, duplicates kept.
        headers: headers as unknown as Record<string, string>,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: parseJson(text),
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Closes the kept-alive sockets so jest can exit. */
export function closeHttpAgent(): void {
  agent.destroy();
}

export interface UploadResult {
  status: number;
  body: string;
  /** Bytes written before the server answered (or all of them). */
  sent: number;
}

/**
 * Streams a body of `total` bytes (`{"zen":"big"}` then blanks) in 64 KiB chunks, chunked or
 * with its Content-Length declared, signed correctly, and stops sending once the server answers
 * (unless `keepSending`).
 */
export function upload(
  url: string,
  options: {
    total: number;
    declareLength: boolean;
    secret: string;
    headers: RawHeader[];
    /** Sends every byte even after the answer, as a client that does not read early answers. */
    keepSending?: boolean;
  },
): Promise<UploadResult> {
  const head = Buffer.from('{"zen":"big","hook_id":1}');
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const hmac = createHmac('sha256', options.secret).update(head);
  for (let left = options.total - head.length; left > 0; left -= chunk.length) {
    hmac.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  }
  const target = new URL('/api/v1/webhooks/github', url);
  const headers: string[] = ['Host', target.host, 'Content-Type', 'application/json'];
  headers.push('X-Hub-Signature-256', `sha256=${hmac.digest('hex')}`);
  if (options.declareLength) headers.push('Content-Length', String(options.total));
  else headers.push('Transfer-Encoding', 'chunked');
  for (const [name, value] of options.headers) headers.push(name, value);

  return new Promise<UploadResult>((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest({
      host: target.hostname,
      port: target.port,
      method: 'POST',
      path: target.pathname,
      headers: headers as unknown as Record<string, string>,
    });
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        if (!options.keepSending) {
          resolve({ status: res.statusCode ?? 0, body, sent });
          req.destroy();
          return;
        }
        const done = (): void => resolve({ status: res.statusCode ?? 0, body, sent });
        if (req.writableFinished) done();
        else req.once('finish', done).once('close', done);
      });
    });
    // The server closes a refused upload; a write error just before or after its answer is
    // expected, so an error fails the upload only if no answer follows it.
    req.on('error', (error) => {
      if (!answered) setTimeout(() => (answered ? undefined : reject(error)), 500);
    });
    const pump = (): void => {
      if (sent === 0) {
        sent += head.length;
        req.write(head);
        // A declared length can be judged from the headers: give the server a moment to answer
        // before streaming the rest, as a client reading early responses would.
        if (options.declareLength) {
          setTimeout(pump, 300);
          return;
        }
      }
      const stop = (): boolean => answered && !options.keepSending;
      while (!stop() && sent < options.total) {
        const piece = Math.min(chunk.length, options.total - sent);
        sent += piece;
        if (!req.write(piece === chunk.length ? chunk : chunk.subarray(0, piece))) {
          req.once('drain', pump);
          return;
        }
      }
      if (!stop()) req.end();
    };
    pump();
  });
}
