import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  closeDb,
  deliver,
  example,
  taskRows,
  testEnv,
  truncateAll,
  waitFor,
} from './support/harness';

const ROOT = join(__dirname, '..');
const ORCHESTRATOR = join(ROOT, 'dist/apps/orchestrator/src/main.js');
const WORKER = join(ROOT, 'dist/apps/worker/src/main.js');
const TOKEN_CLI = join(ROOT, 'dist/apps/orchestrator/src/auth/mint-token.cli.js');

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(script: string, env: Record<string, string | undefined>): Proc {
  const child = spawn(process.execPath, [script], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, output: () => out, exited };
}

// These run the built output (`npm run build`), exactly what `npm run start:*` starts.
describe('the built apps as processes', () => {
  beforeAll(() => {
    if (!existsSync(ORCHESTRATOR) || !existsSync(WORKER)) {
      throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    }
  });
  afterAll(closeDb);

  it('stops at start-up with a message naming each missing setting', async () => {
    const proc = run(ORCHESTRATOR, { PATH: process.env.PATH });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('DATABASE_URL is required');
    expect(proc.output()).toContain('GITHUB_WEBHOOK_SECRET is required');
    expect(proc.output()).toContain('SECRET_KEY is required');

    const worker = run(WORKER, {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://x@127.0.0.1/x',
    });
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toContain('CODEGEN_TOKEN is required in production');
  });

  it('takes a delivery to a completed task across two processes, and both stop cleanly on SIGTERM', async () => {
    await truncateAll();
    const env: Record<string, string | undefined> = {
      ...testEnv({
        QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_proc`,
        LOG_LEVEL: 'info',
        PORT: '0',
      }),
      PATH: process.env.PATH,
    };
    const orch = run(ORCHESTRATOR, env);
    const worker = run(WORKER, env);
    try {
      const port = await waitFor(
        async () => {
          const line = orch
            .output()
            .split('\n')
            .find((l) => l.includes('"orchestrator listening"'));
          return line ? (JSON.parse(line) as { port: number }).port : null;
        },
        { what: 'orchestrator to listen' },
      );
      await waitFor(async () => worker.output().includes('"worker started"'), {
        what: 'worker to start',
      });
      expect(worker.output()).toContain('dry-run');

      const payload = example('push');
      payload.ref = `refs/heads/${payload.repository.default_branch}`;
      payload.deleted = false;
      const res = await deliver(`http://127.0.0.1:${port}`, 'push', payload);
      expect(res.status).toBe(200);
      await waitFor(
        async () =>
          (await taskRows('task_id = $1', [res.body.result.task_id]))[0]?.status === 'completed',
        {
          what: 'task to complete',
        },
      );
      // A token minted by `npm run token` opens the operator API of the running app.
      const token = execFileSync(process.execPath, [TOKEN_CLI, '--role', 'viewer', '--ttl', '5m'], {
        env: { PATH: process.env.PATH, SECRET_KEY: env.SECRET_KEY },
        cwd: '/',
      })
        .toString()
        .trim();
      const tasks = await fetch(`http://127.0.0.1:${port}/api/v1/tasks`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(tasks.status).toBe(200);
      // Logs are JSON lines.
      for (const line of worker.output().split('\n').filter(Boolean))
        expect(() => JSON.parse(line)).not.toThrow();
    } finally {
      orch.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
    }
    expect(await orch.exited).toBe(0);
    expect(await worker.exited).toBe(0);
  });
});
