import { CodegenClient, KNOWN_AGENT_RUN_STATUSES } from '@app/codegen';
import { CodegenFake } from '../../fakes';
import { codegenContract } from './codegen-schemas';

const ORG = 42;

/**
 * The Codegen fake answers what Codegen publishes, and the client asks what Codegen accepts:
 * both checked against the JSON schemas of the published `AgentRunResponse`,
 * `CreateAgentRunInput`, pages and error bodies.
 */
describe('Codegen contract', () => {
  let fake: CodegenFake;

  beforeAll(async () => {
    fake = await CodegenFake.start({ orgId: ORG, repositories: ['octo/app'] });
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  async function call(method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await fetch(`${fake.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${fake.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  describe('the fake answers within the published schemas', () => {
    it.each([...KNOWN_AGENT_RUN_STATUSES, null, 'SOMETHING_NEW'])(
      'a run with status %j',
      async (status) => {
        fake.scriptStatuses(['ACTIVE', status]);
        const created = await call('POST', `/v1/organizations/${ORG}/agent/run`, { prompt: 'p' });
        expect(codegenContract('AgentRunResponse', created.body)).toEqual([]);
        const read = await call(
          'GET',
          `/v1/organizations/${ORG}/agent/run/${Number(created.body.id)}`,
        );
        expect(read.body.status).toBe(status);
        expect(codegenContract('AgentRunResponse', read.body)).toEqual([]);
      },
    );

    it('pull requests carry no number (only in their URL); null fields stay null', async () => {
      await call('POST', `/v1/organizations/${ORG}/agent/run`, { prompt: 'p' });
      fake.completeRun(1, {
        status: 'COMPLETE',
        pullRequests: [{ url: 'https://github.com/octo/app/pull/12' }],
      });
      const read = await call('GET', `/v1/organizations/${ORG}/agent/run/1`);
      expect(codegenContract('AgentRunResponse', read.body)).toEqual([]);
      const prs = read.body.github_pull_requests as Array<Record<string, unknown>>;
      expect(prs[0]).not.toHaveProperty('number');
      expect(prs[0].url).toBe('https://github.com/octo/app/pull/12');
      expect(read.body).toMatchObject({ result: null, summary: null, metadata: null });
    });

    it('the runs list is a page of runs with their metadata, newest first', async () => {
      for (const task of ['t1', 't2', 't3']) {
        await call('POST', `/v1/organizations/${ORG}/agent/run`, {
          prompt: 'p',
          metadata: { task_id: task },
        });
      }
      const page = await call(
        'GET',
        `/v1/organizations/${ORG}/agent/runs?source_type=API&skip=0&limit=2`,
      );
      expect(codegenContract('AgentRunsPage', page.body)).toEqual([]);
      expect(page.body).toMatchObject({ total: 3, page: 1, size: 2, pages: 2 });
      expect((page.body.items as Array<{ metadata: unknown }>).map((r) => r.metadata)).toEqual([
        { task_id: 't3' },
        { task_id: 't2' },
      ]);
      const tooMany = await call('GET', `/v1/organizations/${ORG}/agent/runs?limit=101`);
      expect(tooMany.status).toBe(422);
      expect(codegenContract('HTTPValidationError', tooMany.body)).toEqual([]);
    });

    it('the repositories list is a page of repositories', async () => {
      const page = await call('GET', `/v1/organizations/${ORG}/repos?skip=0&limit=100`);
      expect(codegenContract('RepositoriesPage', page.body)).toEqual([]);
      expect(page.body.items).toEqual([
        expect.objectContaining({ id: 1001, full_name: 'octo/app' }),
      ]);
    });

    it('errors are {message, status_code}; 422 is FastAPI’s {detail: [...]}', async () => {
      fake.setPlanLimitReached(true);
      const limited = await call('POST', `/v1/organizations/${ORG}/agent/run`, { prompt: 'p' });
      expect(limited.status).toBe(402);
      expect(codegenContract('ErrorBody', limited.body)).toEqual([]);
      const missing = await call('GET', `/v1/organizations/${ORG}/agent/run/999`);
      expect(missing.status).toBe(404);
      expect(codegenContract('ErrorBody', missing.body)).toEqual([]);
      fake.failNext(1, { status: 429 });
      const limitedRate = await call('GET', `/v1/organizations/${ORG}/agent/run/1`);
      expect(codegenContract('ErrorBody', limitedRate.body)).toEqual([]);
      const badOrg = await call('GET', '/v1/organizations/acme/agent/run/1');
      expect(badOrg.status).toBe(422);
      expect(codegenContract('HTTPValidationError', badOrg.body)).toEqual([]);
      expect(fake.answerViolations).toEqual([]);
    });

    it('resume and remove-from-pr take an integer agent_run_id', async () => {
      await call('POST', `/v1/organizations/${ORG}/agent/run`, { prompt: 'p' });
      fake.completeRun(1, { status: 'PAUSED' });
      const resumed = await call('POST', `/v1/organizations/${ORG}/agent/run/resume`, {
        agent_run_id: 1,
        prompt: 'go on',
      });
      expect(codegenContract('AgentRunResponse', resumed.body)).toEqual([]);
      expect(resumed.body.status).toBe('ACTIVE');
      const removed = await call('POST', `/v1/organizations/${ORG}/agent/run/remove-from-pr`, {
        agent_run_id: 1,
      });
      expect(removed.status).toBe(200);
      expect(fake.createdRuns[0]).toMatchObject({ resumedWith: ['go on'], removedFromPr: 1 });
    });
  });

  describe('the fake refuses and records requests outside the published schemas', () => {
    it.each([
      ['no prompt', { metadata: {} }],
      ['a misspelt field', { prompt: 'p', repoId: 3 }],
      ['a string repo_id', { prompt: 'p', repo_id: '3' }],
      ['metadata that is not an object', { prompt: 'p', metadata: 'task 1' }],
    ])('a create with %s', async (_what, body) => {
      const res = await call('POST', `/v1/organizations/${ORG}/agent/run`, body);
      expect(res.status).toBe(422);
      expect(codegenContract('HTTPValidationError', res.body)).toEqual([]);
      expect(fake.violations.length).toBeGreaterThanOrEqual(1);
      expect(fake.createdRuns).toHaveLength(0);
    });

    it('a remove-from-pr with a string id', async () => {
      const res = await call('POST', `/v1/organizations/${ORG}/agent/run/remove-from-pr`, {
        agent_run_id: '1',
      });
      expect(res.status).toBe(422);
      expect(fake.violations.length).toBeGreaterThanOrEqual(1);
    });
  });

  it('every request the client sends matches the published request schemas', async () => {
    const client = new CodegenClient({
      baseUrl: fake.url,
      token: fake.token,
      orgId: ORG,
      retryBaseMs: 1,
    });
    const repo = await client.findRepository('octo/app');
    const run = await client.createAgentRun({
      prompt: 'Fix the failing check',
      metadata: {
        task_id: 't-1',
        repository: 'octo/app',
        pr_number: 7,
        head_sha: 'a'.repeat(40),
        trigger_kind: 'check_failure',
      },
      repoId: repo?.id,
    });
    await client.getAgentRun(run.id);
    await expect(client.findRunByTaskId('t-1', new Date())).resolves.toMatchObject({ id: run.id });
    await client.removeFromPr(run.id);
    const creates = fake.requests.filter(
      (r) => r.method === 'POST' && r.path.endsWith('/agent/run'),
    );
    expect(creates).toHaveLength(1);
    expect(codegenContract('CreateAgentRunInput', creates[0].body)).toEqual([]);
    expect(fake.violations).toEqual([]);
    expect(fake.answerViolations).toEqual([]);
    // Integer ids in every path, as published.
    for (const r of fake.requests) expect(r.path).toMatch(/^\/v1\/organizations\/42\//);
  });
});
