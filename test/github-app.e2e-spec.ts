import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@app/platform';
import { GithubClient } from '@app/github';
import { GithubFake } from './fakes';
import {
  closeDb,
  db,
  deliver,
  example,
  RunningOrchestrator,
  RunningWorker,
  startOrchestrator,
  startWorker,
  taskRows,
  truncateAll,
  waitFor,
} from './support/harness';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_app`;
const APP_ID = '31337';
// Generated per run: no private key is ever committed.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PEM_LINES = PEM.split('\n').filter((line) => line && !line.startsWith('-----'));

/** A pull_request `opened` delivery for `repo`, sent through `installationId` (or none). */
function openedPr(repo: string, number: number, installationId: number | null) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.repository.full_name = repo;
  payload.pull_request.number = number;
  payload.number = number;
  if (installationId !== null) payload.installation = { id: installationId, node_id: 'MDIz' };
  return payload;
}

function repositoriesRemoved(installationId: number, repos: string[]) {
  const payload = example('installation_repositories', (p) => p.action === 'removed');
  payload.installation.id = installationId;
  payload.repositories_removed = repos.map((full_name, i) => ({
    id: 9000 + i,
    node_id: `R${i}`,
    name: full_name.split('/')[1],
    full_name,
    private: false,
  }));
  return payload;
}

function installationEvent(action: 'deleted' | 'suspend', installationId: number) {
  const payload = example('installation', (p) => p.action === action);
  payload.installation.id = installationId;
  return payload;
}

describe('GitHub App: installation tokens and budgets in the worker', () => {
  let github: GithubFake;
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'github-app-e2e-'));
    const keyFile = join(dir, 'app.pem');
    writeFileSync(keyFile, PEM, { mode: 0o600 });
    github = await GithubFake.start({ app: { appId: APP_ID, publicKey } });
    orch = await startOrchestrator({ QUEUE_PREFIX: PREFIX });
    worker = await startWorker({
      QUEUE_PREFIX: PREFIX,
      GITHUB_API_URL: `${github.url}/api/v3`,
      GITHUB_APP_ID: APP_ID,
      GITHUB_PRIVATE_KEY_FILE: keyFile,
      GITHUB_RATE_LIMIT_RESERVE: '200',
      DELIVERY_RECOVERY_INTERVAL_MS: '0',
    });
  });
  afterAll(async () => {
    await worker.close();
    await orch.close();
    await github.stop();
    await closeDb();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await truncateAll();
    github.reset();
  });

  it("calls GitHub as the installation of the task's event, with its own budget", async () => {
    const repo = 'octo-org/app-repo';
    github.setPullRequest(repo, 5);
    github.app?.setRateLimitRemaining(4242, 150);
    const res = await deliver(orch.url, 'pull_request', openedPr(repo, 5, 4242));
    expect(res.status).toBe(200);
    const { rows } = await db().query('SELECT installation_id FROM webhook_events');
    const installationId = Number(rows[0].installation_id);
    const client = worker.app.get(GithubClient, { strict: false });

    const pr = await client.forInstallation(installationId).getPullRequest(repo, 5);

    expect(pr.number).toBe(5);
    // GHES path, App JWT for the token, then the installation token for the call.
    expect(github.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/v3/app/installations/4242/access_tokens',
      `GET /api/v3/repos/${repo}/pulls/5`,
    ]);
    expect(github.requests[0].headers.authorization).toBe(`Bearer ${github.app?.acceptedJwts[0]}`);
    expect(github.requests[1].headers.authorization).toBe(`Bearer ${github.app?.issuedTokens[0]}`);
    expect(client.rateLimitBudget(installationId)).toMatchObject({
      identity: 'installation:4242',
      remaining: 150,
    });
    // GITHUB_RATE_LIMIT_RESERVE=200: background work for this installation should wait.
    expect(client.budgetWaitMs(installationId)).toBeGreaterThan(0);
    expect(client.budgetWaitMs(1)).toBe(0);
  });

  it('holds tasks whose installation budget is low until the window resets, spending no attempt', async () => {
    const repo = 'octo-org/app-repo';
    for (const n of [6, 7]) {
      github.setPullRequest(repo, n);
      github.setPullRequestFiles(repo, n, [{ filename: 'README.md' }]);
    }
    // GITHUB_RATE_LIMIT_RESERVE=200; this installation has 150 left, for about 3 more seconds.
    github.rateLimitResetInSeconds = 3;
    github.app?.setRateLimitRemaining(4343, 150);
    const analysisOf = async (deliveryId: string) =>
      (
        await taskRows(
          `task_type = 'pull_request_analysis' AND webhook_event_id =
             (SELECT id FROM webhook_events WHERE delivery_id = $1)`,
          [deliveryId],
        )
      )[0];
    const first = await deliver(orch.url, 'pull_request', openedPr(repo, 6, 4343));
    // The first task runs (nothing known yet) and learns that the budget is low.
    await waitFor(async () => (await analysisOf(first.deliveryId))?.status === 'completed', {
      what: 'the first analysis',
    });
    const callsBefore = github.requests.filter((r) => r.path.includes('/pulls/7')).length;

    const second = await deliver(orch.url, 'pull_request', openedPr(repo, 7, 4343));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const held = await analysisOf(second.deliveryId);
    expect(held).toMatchObject({ status: 'queued', retry_count: 0 });
    const executions = async () =>
      (
        await db().query('SELECT count(*)::int AS n FROM task_executions WHERE task_id = $1', [
          held.id,
        ])
      ).rows[0].n as number;
    expect(await executions()).toBe(0);
    expect(github.requests.filter((r) => r.path.includes('/pulls/7')).length).toBe(callsBefore);

    // Once the window has reset, it runs once, with none of its retries spent.
    const done = await waitFor(
      async () => {
        const task = await analysisOf(second.deliveryId);
        return task?.status === 'completed' ? task : null;
      },
      { what: 'the held analysis to run after the reset', timeoutMs: 20_000 },
    );
    expect(done.retry_count).toBe(0);
    expect(await executions()).toBe(1);
  });

  it('refuses to start with a bad key, naming the variable and never printing the key', async () => {
    const truncated = PEM.replace(PEM_LINES.slice(2, 8).join('\n') + '\n', '');
    const attempt = startWorker({
      QUEUE_PREFIX: PREFIX,
      GITHUB_APP_ID: APP_ID,
      GITHUB_PRIVATE_KEY: truncated.replace(/\n/g, '\\n'),
    });
    const error = await attempt.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('GITHUB_PRIVATE_KEY is not a usable GitHub App private key');
    for (const line of PEM_LINES) expect(message).not.toContain(line.slice(0, 20));
  });
});

describe('installation changes cancel the tasks that lost access', () => {
  let orch: RunningOrchestrator;

  beforeAll(async () => {
    // No worker: tasks stay pending/queued, as after a backlog.
    orch = await startOrchestrator({ QUEUE_PREFIX: `${PREFIX}_access` });
  });
  afterAll(async () => {
    await orch.close();
    await closeDb();
  });
  beforeEach(() => truncateAll());

  async function taskOf(repo: string, number: number) {
    const [task] = await taskRows('repository = $1 AND pr_number = $2', [repo, number]);
    return task;
  }

  it('cancels live tasks of removed repositories, leaving running ones and other installations alone', async () => {
    const a = 'octo-org/alpha';
    const b = 'octo-org/beta';
    for (const [repo, number, installation] of [
      [a, 1, 555],
      [a, 2, 555],
      [b, 3, 555],
      [a, 4, 777],
      [a, 5, null],
    ] as Array<[string, number, number | null]>) {
      expect(
        (await deliver(orch.url, 'pull_request', openedPr(repo, number, installation))).status,
      ).toBe(200);
    }
    const running = await taskOf(a, 2);
    await db().query(
      `UPDATE workflow_tasks SET status = 'running', claim_token = gen_random_uuid() WHERE id = $1`,
      [running.id],
    );

    const res = await deliver(
      orch.url,
      'installation_repositories',
      repositoriesRemoved(555, ['Octo-Org/Alpha']),
    );
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({ status: 'processed', repositories_removed: 1 });

    const cancelled = await taskOf(a, 1);
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      error_message: 'repository access removed (installation 555)',
    });
    expect(cancelled.completed_at).not.toBeNull();
    const { rows: events } = await db().query(
      'SELECT processed FROM webhook_events WHERE id = $1',
      [cancelled.webhook_event_id],
    );
    expect(events[0].processed).toBe(true);
    expect((await taskOf(a, 2)).status).toBe('running');
    expect((await taskOf(b, 3)).status).toMatch(/^(pending|queued)$/);
    expect((await taskOf(a, 4)).status).toMatch(/^(pending|queued)$/);
    expect((await taskOf(a, 5)).status).toMatch(/^(pending|queued)$/);
  });

  it('cancels every live task of a suspended or deleted installation', async () => {
    await deliver(orch.url, 'pull_request', openedPr('octo-org/beta', 3, 555));
    await deliver(orch.url, 'pull_request', openedPr('octo-org/gamma', 6, 777));
    await deliver(orch.url, 'pull_request', openedPr('octo-org/delta', 7, 888));

    expect(
      (await deliver(orch.url, 'installation', installationEvent('suspend', 555))).status,
    ).toBe(200);
    expect(
      (await deliver(orch.url, 'installation', installationEvent('deleted', 777))).status,
    ).toBe(200);

    expect(await taskOf('octo-org/beta', 3)).toMatchObject({
      status: 'cancelled',
      error_message: 'repository access removed (installation 555 suspended)',
    });
    expect(await taskOf('octo-org/gamma', 6)).toMatchObject({
      status: 'cancelled',
      error_message: 'repository access removed (installation 777 deleted)',
    });
    expect((await taskOf('octo-org/delta', 7)).status).toMatch(/^(pending|queued)$/);
    const { rows } = await db().query(
      'SELECT id, suspended, deleted_at FROM github_installations ORDER BY id',
    );
    expect(rows.map((r) => [Number(r.id), r.suspended, r.deleted_at !== null])).toEqual([
      [555, true, false],
      [777, false, true],
    ]);
  });
});
