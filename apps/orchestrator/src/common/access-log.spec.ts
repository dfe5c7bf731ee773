import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { transports } from 'winston';
import { createJsonLogger, registerLogSecrets, runWithLogContext } from '@app/platform';
import { accessLog } from './access-log';

/** A server whose access lines are captured, answering 200 (or what the handler writes). */
async function serve(
  level: 'info' | 'warn',
  lines: string[],
): Promise<{ server: Server; url: string }> {
  const logger = createJsonLogger('orchestrator', level);
  // The process logger's stdout transport swapped for one that keeps the lines.
  logger.clear();
  logger.add(
    new transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(...chunk.toString().split('\n').filter(Boolean));
          done();
        },
      }),
    }),
  );
  const server = createServer((req, res) =>
    runWithLogContext({ correlation_id: 'ctx-id', task_id: 'from-context' }, () => {
      res.writeHead(req.url?.startsWith('/missing') ? 404 : 200).end('{}');
    }),
  );
  server.prependListener(
    'request',
    accessLog(logger, (req) => (req.url?.startsWith('/api/') ? '/api/:thing' : null)),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function settle(lines: string[], n: number): Promise<void> {
  for (let i = 0; i < 100 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 10));
}

describe('accessLog', () => {
  it('writes the line the process logger would: its fields, the service, timestamp and context ids', async () => {
    const lines: string[] = [];
    const { server, url } = await serve('info', lines);
    try {
      const res = await fetch(`${url}/api/one?token=leak`, {
        method: 'POST',
        headers: {
          'x-github-delivery': 'd-1',
          'x-github-event': 'Ping <script>',
          authorization: 'Bearer leak',
        },
      });
      expect(res.status).toBe(200);
      await settle(lines, 1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toContain('\n');
      const line = JSON.parse(lines[0]) as Record<string, unknown>;
      expect(line).toEqual({
        level: 'info',
        message: 'http request',
        service: 'orchestrator',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        method: 'POST',
        route: '/api/:thing',
        path: '/api/one',
        status: 200,
        duration_ms: expect.any(Number),
        // No correlation id assigned on this server; the scope's other ids are added.
        correlation_id: null,
        task_id: 'from-context',
        delivery_id: 'd-1',
      });
      expect(lines[0]).not.toContain('leak');
    } finally {
      server.close();
    }
  });

  it('cuts registered secret values out of the line, and writes nothing below info', async () => {
    registerLogSecrets(['s3cret-path-value-42']);
    const lines: string[] = [];
    const { server, url } = await serve('info', lines);
    const quiet: string[] = [];
    const off = await serve('warn', quiet);
    try {
      expect((await fetch(`${url}/missing/s3cret-path-value-42`)).status).toBe(404);
      expect((await fetch(`${off.url}/missing/x`)).status).toBe(404);
      await settle(lines, 1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toContain('s3cret-path-value-42');
      expect(JSON.parse(lines[0])).toMatchObject({
        path: '/missing/[redacted]',
        route: null,
        status: 404,
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(quiet).toEqual([]);
    } finally {
      server.close();
      off.server.close();
    }
  });
});
