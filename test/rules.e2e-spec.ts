import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@app/platform';
import { mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import { loadOrchestratorConfig } from '../apps/orchestrator/src/config/orchestrator.config';
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
  testEnv,
  truncateAll,
  waitFor,
} from './support/harness';

const prefix = `${process.env.TEST_QUEUE_PREFIX}_rules`;

const rulesDirs: string[] = [];
afterAll(() => {
  for (const dir of rulesDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function rulesFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rules-'));
  rulesDirs.push(dir);
  const file = join(dir, 'rules.yml');
  writeFileSync(file, yaml);
  return file;
}

function pr(number: number, sha = 'a'.repeat(40)) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.pull_request.number = number;
  payload.pull_request.head.sha = sha;
  payload.pull_request.draft = false;
  return payload;
}

describe('workflow rules', () => {
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  let github: GithubFake;
  const repo = example('pull_request').repository.full_name as string;
  const owner = repo.split('/')[0];
  const file = rulesFile(`
defaults:
  synchronize_code_file_threshold: 1
repositories:
  - match: "${owner}/*"
    push_branches: [release]
    skip_labels: [hold]
  - match: "quiet-org/**"
    events: [push]
  - match: "${repo}"
    agent_runs: false
`);
  const token = mintAccessToken(
    testEnv().SECRET_KEY as string,
    { sub: 'r', role: Role.Viewer },
    600,
  );

  beforeAll(async () => {
    github = await GithubFake.start();
    orch = await startOrchestrator({ QUEUE_PREFIX: prefix, RULES_FILE: file });
    worker = await startWorker({
      QUEUE_PREFIX: prefix,
      RULES_FILE: file,
      GITHUB_API_URL: github.url,
      CODEGEN_TOKEN: '',
    });
  });
  afterAll(async () => {
    await worker.close();
    await orch.close();
    await github.stop();
    await closeDb();
  });
  beforeEach(async () => {
    await waitFor(
      async () => (await taskRows("status IN ('pending', 'queued', 'running')")).length === 0,
    );
    await truncateAll();
  });

  it('turns event types off per repository at intake, storing the event', async () => {
    const payload = pr(3);
    payload.repository = { ...payload.repository, full_name: 'quiet-org/app' };
    const res = await deliver(orch.url, 'pull_request', payload);
    expect(res.status).toBe(200);
    expect(res.body.result).toEqual({
      status: 'ignored',
      reason: 'disabled_by_rules',
      action: 'opened',
    });
    expect(await taskRows()).toHaveLength(0);
    expect((await db().query('SELECT count(*)::int AS n FROM webhook_events')).rows[0].n).toBe(1);
  });

  it('analyses pushes to the branches the rules name instead of the default branch', async () => {
    const push = example('push');
    push.deleted = false;
    push.ref = `refs/heads/${push.repository.default_branch}`;
    expect((await deliver(orch.url, 'push', push)).body.result).toMatchObject({
      status: 'ignored',
      reason: 'branch_not_in_rules',
    });
    push.ref = 'refs/heads/release';
    expect((await deliver(orch.url, 'push', push)).body.result).toMatchObject({
      status: 'queued',
      task_type: 'push_analysis',
    });
  });

  it('applies the threshold and the agent switch in the worker', async () => {
    github.setPullRequestFiles(repo, 5, [{ filename: 'src/a.ts' }, { filename: 'src/b.ts' }]);
    github.setPullRequest(repo, 5, { headSha: 'a'.repeat(40) });
    const payload = pr(5);
    payload.action = 'synchronize';
    const res = await deliver(orch.url, 'pull_request', payload);
    const analysis = await waitFor(async () => {
      const [t] = await taskRows('task_id = $1', [res.body.result.task_id]);
      return t?.status === 'completed' ? t : null;
    });
    // Two code files exceed this repository's threshold of 1.
    expect(analysis.output_data.shouldTriggerAgent).toBe(true);
    const trigger = await waitFor(async () => {
      const [t] = await taskRows('task_id = $1', [analysis.output_data.child_task_ids[0]]);
      return t && t.status !== 'pending' && t.status !== 'queued' && t.status !== 'running'
        ? t
        : null;
    });
    expect(trigger).toMatchObject({
      status: 'cancelled',
      error_message: 'agent runs are turned off for this repository by the workflow rules',
    });
  });

  it('answers a dry run with the tasks and rules, storing nothing', async () => {
    const res = await fetch(`${orch.url}/api/v1/rules/dry-run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event_type: 'pull_request', payload: pr(9) }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      event_type: 'pull_request',
      repository: repo,
      status: 'queued',
      reason: null,
      tasks: [
        {
          task_type: 'pull_request_analysis',
          repository: repo,
          pr_number: 9,
          commit_sha: 'a'.repeat(40),
          branch: expect.any(String),
        },
      ],
      rules: {
        agent_runs: false,
        push_branches: ['release'],
        skip_labels: ['hold'],
        synchronize_code_file_threshold: 1,
      },
      rules_file: file,
    });
    expect(await taskRows()).toHaveLength(0);
    expect((await db().query('SELECT count(*)::int AS n FROM webhook_events')).rows[0].n).toBe(0);
  });

  it('refuses a malformed dry run with 400, and needs a token', async () => {
    const post = (body: unknown, auth = true) =>
      fetch(`${orch.url}/api/v1/rules/dry-run`, {
        method: 'POST',
        headers: {
          ...(auth ? { authorization: `Bearer ${token}` } : {}),
          'content-type': 'application/json',
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    for (const bad of [
      {},
      { event_type: 'Pull Request', payload: {} },
      { event_type: 'push', payload: [1] },
      { event_type: 'push', payload: {}, extra: 1 },
      '{"event_type":',
    ]) {
      const res = await post(bad);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ status_code: 400, path: '/api/v1/rules/dry-run' });
    }
    expect((await post({ event_type: 'push', payload: {} }, false)).status).toBe(401);
  });

  it('stops start-up on an invalid rules file, naming the line', () => {
    const bad = rulesFile('defaults:\n  agent_runs: maybe\n');
    expect(() => loadOrchestratorConfig(testEnv({ RULES_FILE: bad }))).toThrow(ConfigError);
    expect(() => loadOrchestratorConfig(testEnv({ RULES_FILE: bad }))).toThrow(
      `RULES_FILE: ${bad}:2:15: agent_runs must be true or false`,
    );
  });
});
