import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { answerClientError, clientErrorAnswer } from './client-errors';

/** Sends raw bytes and collects everything the server says until it closes the connection. */
function exchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(raw);
  });
}

function parse(received: string): { status: number; headers: string; body: unknown } {
  const [head, body] = received.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), headers: head, body: JSON.parse(body) };
}

describe('answers to requests Node refuses before any route runs', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer({ maxHeaderSize: 1024 }, (_req, res) => res.end('ok'));
    server.on('clientError', answerClientError);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers a malformed request line with 400 in the error format and closes', async () => {
    const answer = parse(await exchange(port, 'NOT AN HTTP REQUEST\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(answer.headers).toMatch(/^connection: close$/im);
    expect(answer.headers).toMatch(/^content-type: application\/json; charset=utf-8$/im);
    expect(answer.body).toEqual({
      error: 'malformed HTTP request',
      status_code: 400,
      path: '',
      correlation_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    // The same id in the header, so a client's report can be found in the logs.
    const id = (answer.body as { correlation_id: string }).correlation_id;
    expect(answer.headers).toContain(`X-Correlation-ID: ${id}`);
  });

  it('answers headers over the size limit with 431', async () => {
    const raw = `GET / HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(4096)}\r\n\r\n`;
    const answer = parse(await exchange(port, raw));
    expect(answer.status).toBe(431);
    expect(answer.body).toMatchObject({
      error: 'request header fields too large',
      status_code: 431,
    });
  });

  it('still serves a well-formed request on the same server', async () => {
    const received = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('says nothing to a client that is gone, and maps timeouts to 408', () => {
    expect(clientErrorAnswer('ECONNRESET')).toBeNull();
    expect(clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT')).toMatchObject({ status: 408 });
  });
});
