import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { AppProcess, assertBuilt, startApp } from './support/app-process';

const ROOT = resolve(__dirname, '..');

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function admin(sql: string): Promise<void> {
  const client = new Client({
    connectionString:
      process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * The README's first command for a newcomer, `npm run demo`, run as written: both apps, the
 * GitHub and Codegen stand-ins, three example deliveries, and a report of what happened. What a
 * newcomer reads in that report is what this test checks.
 */
describe('npm run demo', () => {
  const database = `${process.env.TEST_DATABASE_NAME}_demo`;
  let child: AppProcess | undefined;
  let dir: string;

  beforeAll(() => {
    assertBuilt();
    // Its own temporary folder: npm and node keep caches there, removed with the test's.
    dir = mkdtempSync(join(tmpdir(), 'demo-'));
  });
  afterAll(async () => {
    if (child?.running) child.signalGroup('SIGKILL');
    await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends three deliveries, runs every task to completion, shows the agent run and the PR comment, and stops on one Ctrl-C', async () => {
    const port = await freePort();
    const workerPort = await freePort();
    const databaseUrl = new URL(process.env.TEST_DATABASE_URL as string);
    databaseUrl.pathname = `/${database}`;
    child = startApp(
      ['npm', 'run', '-s', 'demo', '--', '--no-build'],
      {
        HOME: process.env.HOME,
        TMPDIR: dir,
        PORT: String(port),
        WORKER_HEALTH_PORT: String(workerPort),
        DEMO_DATABASE_URL: databaseUrl.toString(),
        DEMO_QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_demo`,
        REDIS_URL: process.env.TEST_REDIS_URL,
      },
      { cwd: ROOT, detached: true },
    );
    const demo = child;

    await demo.waitForLog('Ctrl-C stops the demo.', 180_000);
    let out = demo.log;

    expect(out).toContain('DEMO MODE');
    // Each example delivery was accepted and its tasks queued.
    for (const event of ['pull_request', 'check_run', 'push']) {
      expect(out).toMatch(new RegExp(`^\\s+${event}\\s+-> queued`, 'm'));
    }
    // Every task the deliveries implied reached a terminal state, none failed.
    const report = out.slice(out.indexOf('demo: what happened'));
    const taskLines = report
      .split('\n')
      .filter((l) =>
        /^\s+[a-z_]+\s+(completed|failed|cancelled|pending|queued|running)\s+[0-9a-f-]{36}$/.test(
          l,
        ),
      );
    expect(taskLines.length).toBeGreaterThanOrEqual(4);
    for (const line of taskLines) expect(line).toMatch(/\s(completed|cancelled)\s/);
    expect(taskLines.some((l) => /codegen_trigger\s+completed/.test(l))).toBe(true);
    // The agent run the Codegen stand-in received, with the failing check in its prompt.
    expect(report).toMatch(/the agent run the Codegen stand-in received: #\d+, prompt:/);
    // The PR comment the GitHub stand-in received.
    expect(report).toMatch(/the PR comment the GitHub stand-in received: on \S+#\d+/);
    // Where to look next: a token, the console, the docs.
    expect(report).toMatch(/export TOKEN='[\w.-]+'/);
    expect(report).toContain(`http://127.0.0.1:${port}/console`);
    expect(report).toContain(`http://127.0.0.1:${port}/docs`);

    demo.signalGroup('SIGINT');
    const exit = await Promise.race([
      demo.exited.then((e) => e.code),
      new Promise<'timeout'>((done) => setTimeout(() => done('timeout'), 60_000)),
    ]);
    expect(exit).toBe(0);
    out = demo.log;
    expect(out).toContain('up: both apps stopped cleanly');
    // Nothing of the demo is left running: its process group is empty.
    expect(() => demo.signalGroup(0)).toThrow(/ESRCH/);
    demo.closeOutput();
  }, 300_000);
});
