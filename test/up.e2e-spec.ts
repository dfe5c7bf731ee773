import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AppProcess, assertBuilt, startApp } from './support/app-process';
import { waitFor, WEBHOOK_SECRET } from './support/harness';

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

/** Starts `up` in a process group of its own, as a terminal runs a foreground command. */
function startUp(command: string[], envFile: string): AppProcess {
  return startApp(
    [...command, '--no-build', '--env-file', envFile],
    // Its own temporary folder: npm and node keep caches there, removed with the test's.
    { HOME: process.env.HOME, TMPDIR: join(envFile, '..') },
    { cwd: ROOT, detached: true },
  );
}

const logLines = (out: string): Array<Record<string, unknown>> =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('npm run up', () => {
  let dir: string;
  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'up-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [
      'the supervisor itself',
      [process.execPath, '-r', 'ts-node/register/transpile-only', 'scripts/up/up.ts'],
    ],
    ['npm run up, as the README says', ['npm', 'run', '-s', 'up', '--']],
  ])(
    '%s: ready only when both apps answer, a signed ping that works, and one Ctrl-C stops both cleanly (exit 0)',
    async (_name, command) => {
      const port = await freePort();
      const workerPort = await freePort();
      const envFile = join(dir, `env-${port}`);
      writeFileSync(
        envFile,
        [
          "# as npm run up writes it, on this run's database and Redis prefix",
          'NODE_ENV=development',
          `DATABASE_URL=${process.env.TEST_DATABASE_URL}`,
          `REDIS_URL=${process.env.TEST_REDIS_URL}`,
          `QUEUE_PREFIX=${process.env.TEST_QUEUE_PREFIX}_up${port}`,
          `PORT=${port}`,
          `WORKER_HEALTH_PORT=${workerPort}`,
          `GITHUB_WEBHOOK_SECRET="${WEBHOOK_SECRET}"`,
          'SECRET_KEY=up-test-secret-key-0123456789abcdef0123',
          // Nothing outside: the worker talks to no one in this test.
          'GITHUB_API_URL=http://127.0.0.1:9',
          'DELIVERY_RECOVERY_INTERVAL_MS=0',
          '',
        ].join('\n'),
      );
      const up = startUp(command, envFile);
      try {
        await waitFor(async () => up.log.includes('== ready in'), {
          timeoutMs: 120_000,
          intervalMs: 200,
          what: `the ready block; output so far:\n${up.log}`,
        });
        const out = up.log;
        const ready = out.indexOf('== ready in');
        // Ready is printed after both apps said they were up, never before.
        const lines = out.slice(0, ready);
        expect(lines).toContain('"message":"orchestrator listening"');
        expect(lines).toContain('"message":"worker started"');
        // Only 127.0.0.1 unless told otherwise: another address of this machine is refused.
        const other = Object.values(networkInterfaces())
          .flat()
          .find((a) => a && a.family === 'IPv4' && !a.internal);
        if (other) {
          await expect(
            fetch(`http://${other.address}:${port}/health/live`, {
              signal: AbortSignal.timeout(3000),
            }),
          ).rejects.toThrow();
        }
        expect(out).toContain(`webhook URL   http://127.0.0.1:${port}/api/v1/webhooks/github`);
        expect(out).toContain(`API docs      http://127.0.0.1:${port}/docs`);
        expect(out).toContain('npm run -s token -- --role operator');
        expect(out).toContain('npx smee-client');
        // Nest's route mapping stays out of the info log.
        expect(out).not.toContain('RouterExplorer');

        // The printed ping, pasted into a shell as it is, is accepted.
        const curl = /curl -s -X POST[\s\S]*?--data '[^']*'/.exec(out)?.[0];
        expect(curl).toBeDefined();
        const pasted = spawnSync('bash', ['-c', curl as string], { encoding: 'utf8' });
        expect(JSON.parse(pasted.stdout)).toMatchObject({
          status: 'accepted',
          event_type: 'ping',
          result: { status: 'pong', hook_id: 1 },
        });

        // Ctrl-C: the terminal signals the whole foreground process group.
        up.signalGroup('SIGINT');
        const exit = await Promise.race([
          up.exited,
          new Promise<null>((done) => setTimeout(() => done(null), 60_000)),
        ]);
        const after = up.log;
        expect(exit).toMatchObject({ code: 0, signal: null });
        for (const service of ['orchestrator', 'worker']) {
          const own = logLines(after).filter((l) => l.service === service);
          expect(own.filter((l) => String(l.message).startsWith('received SIG'))).toHaveLength(1);
          expect(own.filter((l) => l.message === 'shutdown complete')).toHaveLength(1);
        }
        expect(after).not.toContain('again, exiting now');
        expect(after).toContain('up: both apps stopped cleanly');
      } finally {
        if (up.running) {
          up.signalGroup('SIGTERM');
          await Promise.race([up.exited, new Promise((done) => setTimeout(done, 30_000))]);
        }
      }
    },
    240_000,
  );
});
