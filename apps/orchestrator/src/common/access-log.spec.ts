import { execFileSync } from 'node:child_process';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Logger, transports } from 'winston';
import { createJsonLogger, registerLogSecrets, runWithLogContext } from '@app/platform';
import { accessLog, infoLineWriter } from './access-log';

/** The process logger with its stdout transport swapped for one that hands each write over. */
function capturingLogger(level: 'info' | 'warn', onWrite: (chunk: string) => void): Logger {
  const logger = createJsonLogger('orchestrator', level);
  logger.clear();
  logger.add(
    new transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          onWrite(chunk.toString());
          done();
        },
      }),
    }),
  );
  return logger;
}

/** A server whose access lines are captured, answering 200 (or what the handler writes). */
async function serve(
  level: 'info' | 'warn',
  lines: string[],
): Promise<{ server: Server; url: string }> {
  const logger = capturingLogger(level, (chunk) =>
    lines.push(...chunk.split('\n').filter(Boolean)),
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

describe('infoLineWriter', () => {
  /** A logger that keeps each write whole. */
  const capturing = (writes: string[]): Logger =>
    capturingLogger('info', (chunk) => writes.push(chunk));

  it("writes one turn's lines at the end of the turn, in one write, each on its own line", async () => {
    const writes: string[] = [];
    const out = infoLineWriter(capturing(writes));
    out('{"n":1}');
    out('{"n":2}');
    out('{"n":3}');
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n{"n":3}\n']);
    out('{"n":4}');
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n{"n":3}\n', '{"n":4}\n']);
  });

  it('writes a long burst in parts of 256 lines without waiting for the turn to end', () => {
    const writes: string[] = [];
    const out = infoLineWriter(capturing(writes));
    for (let i = 0; i < 600; i++) out(`{"n":${i}}`);
    expect(writes.map((w) => w.split('\n').filter(Boolean).length)).toEqual([256, 256]);
    expect(writes[1].split('\n')[255]).toBe('{"n":511}');
  });

  it('writes the lines still pending when the process exits', () => {
    // A process of its own: its stdout is what an operator's log collector would read.
    const script = [
      "const { createJsonLogger } = require('@app/platform');",
      "const { infoLineWriter } = require('./apps/orchestrator/src/common/access-log');",
      "const out = infoLineWriter(createJsonLogger('orchestrator', 'info'));",
      'out(\'{"last":1}\'); out(\'{"last":2}\'); process.exit(0);',
    ].join('\n');
    const stdout = execFileSync(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', '-e', script],
      {
        cwd: `${__dirname}/../../../..`,
        // ts-node's compile cache would be a temporary folder the run must not leave behind.
        env: { ...process.env, DISABLE_V8_COMPILE_CACHE: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(stdout).toBe('{"last":1}\n{"last":2}\n');
  });
});
