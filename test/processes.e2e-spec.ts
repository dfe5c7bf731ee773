import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { assertBuilt, DIST, ORCHESTRATOR_MAIN, startApp, WORKER_MAIN } from './support/app-process';
import {
  closeDb,
  deliver,
  example,
  taskRows,
  testEnv,
  truncateAll,
  waitFor,
} from './support/harness';

const TOKEN_CLI = join(DIST, 'apps/orchestrator/src/auth/mint-token.cli.js');

// These run the built output (`npm run build`), exactly what `npm run start:*` starts.
describe('the built apps as processes', () => {
  beforeAll(assertBuilt);
  afterAll(closeDb);

  it('stops at start-up with a message naming each missing setting', async () => {
    const proc = startApp(ORCHESTRATOR_MAIN, { PATH: process.env.PATH });
    expect((await proc.exited).code).toBe(1);
    expect(proc.log).toContain('DATABASE_URL is required');
    expect(proc.log).toContain('GITHUB_WEBHOOK_SECRET is required');
    expect(proc.log).toContain('SECRET_KEY is required');

    const worker = startApp(WORKER_MAIN, {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://x@127.0.0.1/x',
    });
    expect((await worker.exited).code).toBe(1);
    expect(worker.log).toContain('CODEGEN_TOKEN is required in production');
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
    const orch = startApp(ORCHESTRATOR_MAIN, env);
    const worker = startApp(WORKER_MAIN, env);
    try {
      const { port } = await orch.waitForLog('orchestrator listening');
      await worker.waitForLog('worker started');
      expect(worker.log).toContain('dry-run');

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
      for (const line of worker.log.split('\n').filter(Boolean))
        expect(() => JSON.parse(line)).not.toThrow();
    } finally {
      orch.terminate();
      worker.terminate();
    }
    expect((await orch.exited).code).toBe(0);
    expect((await worker.exited).code).toBe(0);
  });
});
