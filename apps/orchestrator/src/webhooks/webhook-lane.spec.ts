import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createLogger, transports } from 'winston';
import { DomainError, ErrorCode } from '@app/platform';
import { apiSecurityHeaders, securityHeaders } from '../common/security-headers';
import { clientAddressFor, serveWebhookLane, WEBHOOK_PATH } from './webhook-lane';
import type { WebhookIntakeService } from './webhook-intake.service';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(
  server: Server,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

function fakeReq(remote: string | undefined, forwarded?: string): IncomingMessage {
  return {
    socket: { remoteAddress: remote },
    connection: { remoteAddress: remote },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  } as unknown as IncomingMessage;
}

describe('webhook lane', () => {
  const logger = createLogger({ transports: [new transports.Console({ silent: true })] });

  it('sends exactly the headers helmet sends on API routes', async () => {
    const app = express();
    app.use(securityHeaders());
    app.get('/probe', (_req, res) => {
      res.end();
    });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { headers } = await send(server, 'GET', '/probe');
      const fromHelmet = Object.fromEntries(
        Object.keys(apiSecurityHeaders()).map((name) => [name, headers[name.toLowerCase()]]),
      );
      expect(fromHelmet).toEqual(apiSecurityHeaders());
      // And nothing helmet sets is missing from the precomputed set.
      const known = new Set(Object.keys(apiSecurityHeaders()).map((n) => n.toLowerCase()));
      const helmetOnly = Object.keys(headers).filter(
        (n) =>
          !known.has(n) &&
          !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(n),
      );
      expect(helmetOnly).toEqual([]);
      expect(apiSecurityHeaders()['Content-Security-Policy']).toContain("default-src 'none'");
    } finally {
      server.close();
    }
  });

  describe('client address', () => {
    const never = (): boolean => false;
    const loopback = (address: string): boolean =>
      address === '127.0.0.1' || address === '::ffff:127.0.0.1';

    it('is the socket address when no proxy is trusted, whatever X-Forwarded-For claims', () => {
      expect(clientAddressFor(fakeReq('10.1.2.3', '203.0.113.7'), never)).toBe('10.1.2.3');
      expect(clientAddressFor(fakeReq('10.1.2.3', '203.0.113.7, 127.0.0.1'), never)).toBe(
        '10.1.2.3',
      );
    });

    it('behind a trusted proxy is the nearest untrusted forwarded address, not the first', () => {
      // A client can prepend anything; only what the trusted proxy appended counts.
      expect(clientAddressFor(fakeReq('127.0.0.1', 'spoofed, 198.51.100.4'), loopback)).toBe(
        '198.51.100.4',
      );
      expect(clientAddressFor(fakeReq('127.0.0.1'), loopback)).toBe('127.0.0.1');
    });

    it('is "unknown" for a socket that has already gone', () => {
      expect(clientAddressFor(fakeReq(undefined, '203.0.113.7'), never)).toBe('unknown');
    });
  });

  describe('dispatch', () => {
    let server: Server;
    const seen: string[] = [];

    beforeAll(async () => {
      const app = express();
      app.use((req, res) => {
        seen.push(`${req.method} ${req.url}`);
        res.status(404).end('express');
      });
      server = createServer(app);
      const intake = {
        receive: (req: IncomingMessage) => {
          if (req.headers['x-fail'] === 'domain') {
            return Promise.reject(
              new DomainError(ErrorCode.RateLimited, 'too many', ['slow down'], 7),
            );
          }
          if (req.headers['x-fail'] === 'bug') return Promise.reject(new Error('secret internals'));
          req.resume();
          return Promise.resolve({ status: 'accepted' });
        },
        countFailure: (_req: IncomingMessage, _client: () => string, error: DomainError) => error,
      } as unknown as WebhookIntakeService;
      serveWebhookLane(server, app, { intake, logger, trust: () => false });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => server.close());

    it('takes POSTs to the webhook path (query ignored) and leaves the rest to Express', async () => {
      const ok = await send(server, 'POST', `${WEBHOOK_PATH}?x=1`);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toEqual({ status: 'accepted' });
      expect(ok.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(ok.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(ok.headers['x-request-id']).toBe(ok.headers['x-correlation-id']);
      expect(ok.headers['x-frame-options']).toBe('DENY');
      expect((await send(server, 'POST', `${WEBHOOK_PATH}/`)).status).toBe(200);
      expect((await send(server, 'POST', `${WEBHOOK_PATH}/other`)).body).toBe('express');
      expect((await send(server, 'GET', '/api/v1/tasks')).body).toBe('express');
      expect(seen).toEqual([`POST ${WEBHOOK_PATH}/other`, 'GET /api/v1/tasks']);
    });

    it('answers other methods with 405 and case variants with 404, never through Express', async () => {
      seen.length = 0;
      const get = await send(server, 'GET', `${WEBHOOK_PATH}/`);
      expect(get.status).toBe(405);
      expect(get.headers.allow).toBe('POST');
      expect(get.headers['x-frame-options']).toBe('DENY');
      expect(JSON.parse(get.body)).toMatchObject({ status_code: 405, path: `${WEBHOOK_PATH}/` });
      const upper = await send(server, 'POST', WEBHOOK_PATH.toUpperCase());
      expect(upper.status).toBe(404);
      expect(JSON.parse(upper.body)).toMatchObject({ status_code: 404 });
      expect(seen).toEqual([]);
    });

    it('echoes a sane correlation id and replaces a hostile one', async () => {
      const given = await send(server, 'POST', WEBHOOK_PATH, { 'x-request-id': 'abc-123' });
      expect(given.headers['x-correlation-id']).toBe('abc-123');
      const hostile = await send(server, 'POST', WEBHOOK_PATH, { 'x-request-id': 'a b<script>' });
      expect(hostile.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('answers errors in the documented format, with Retry-After, and hides internals', async () => {
      const limited = await send(server, 'POST', WEBHOOK_PATH, {
        'x-fail': 'domain',
        'x-request-id': 'req-1',
      });
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('7');
      expect(JSON.parse(limited.body)).toEqual({
        error: 'too many',
        status_code: 429,
        path: WEBHOOK_PATH,
        correlation_id: 'req-1',
        details: ['slow down'],
      });
      const bug = await send(server, 'POST', `${WEBHOOK_PATH}?token=x`, { 'x-fail': 'bug' });
      expect(bug.status).toBe(500);
      expect(bug.body).not.toContain('secret internals');
      expect(JSON.parse(bug.body)).toMatchObject({
        error: 'internal server error',
        path: WEBHOOK_PATH,
      });
    });
  });
});
