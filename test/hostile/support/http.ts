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
