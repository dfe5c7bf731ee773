import { CircuitOpenError } from '@app/platform';
import { Test } from '@nestjs/testing';
import { CodegenFake } from '../../../test/fakes';
import { rejection } from '../../../test/support/rejection';
import {
  AgentRunCreateNotSentError,
  AgentRunCreateUnconfirmedError,
  agentRunStatusKind,
  CodegenClient,
  CodegenPlanLimitError,
  isSuccessfulAgentRunStatus,
  isTerminalAgentRunStatus,
  KNOWN_AGENT_RUN_STATUSES,
} from './codegen-client';
import { CodegenModule } from './codegen.module';
import type { CodegenBadAnswer, CodegenClientOptions } from './codegen.types';

const ORG = 42;

describe('CodegenClient against the Codegen fake', () => {
  let fake: CodegenFake;

  beforeAll(async () => {
    fake = await CodegenFake.start({ repositories: ['octo/app', 'Octo/Other'] });
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());
  afterEach(() => {
    // Every request the client sent matched Codegen's published request schemas.
    expect(fake.violations).toEqual([]);
    expect(fake.answerViolations).toEqual([]);
  });

  const client = (options: Partial<CodegenClientOptions> = {}) =>
    new CodegenClient({
      baseUrl: fake.url,
      token: fake.token,
      orgId: ORG,
      timeoutMs: 1_000,
      retryBaseMs: 1,
      ...options,
    });

  describe('createAgentRun', () => {
    it('posts prompt, metadata and repo_id with the bearer token and maps the new run', async () => {
      const run = await client().createAgentRun({
        prompt: 'Fix the failing check',
        metadata: { task_id: 't-1' },
        repoId: 1001,
      });
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]).toMatchObject({
        method: 'POST',
        path: `/v1/organizations/${ORG}/agent/run`,
        body: { prompt: 'Fix the failing check', metadata: { task_id: 't-1' }, repo_id: 1001 },
      });
      expect(fake.requests[0].headers).toMatchObject({
        authorization: `Bearer ${fake.token}`,
        'content-type': 'application/json',
      });
      expect(run).toEqual({
        id: '1',
        status: 'ACTIVE',
        webUrl: `${fake.url}/agent/trace/1`,
        result: null,
        summary: null,
        sourceType: 'API',
        pullRequests: [],
        createdAt: fake.createdRuns[0].createdAt,
        metadata: { task_id: 't-1' },
        problems: [],
      });
    });

    it('takes a run whose status and other fields are null (all nullable but id)', async () => {
      fake.failNext(1, {
        status: 200,
        route: 'create',
        body: { id: 7, organization_id: ORG, status: null, web_url: null, metadata: null },
      });
      const run = await client().createAgentRun({ prompt: 'p' });
      expect(run).toMatchObject({ id: '7', status: null, webUrl: null, problems: [] });
    });

    it('rejects an empty prompt before sending anything', async () => {
      await expect(client().createAgentRun({ prompt: '  ' })).rejects.toMatchObject({
        transient: false,
      });
      expect(fake.requests).toHaveLength(0);
    });

    it('sends nothing once the caller’s time to send (sendBy) has passed, and says no run started', async () => {
      const error = await rejection(
        client().createAgentRun({
          prompt: 'p',
          metadata: { task_id: 't-1' },
          sendBy: Date.now() - 1,
        }),
      );
      expect(error).toBeInstanceOf(AgentRunCreateNotSentError);
      expect(error).not.toBeInstanceOf(AgentRunCreateUnconfirmedError);
      expect(error.message).toMatch(/not sent/);
      expect(fake.requests).toHaveLength(0);
      expect(fake.createdRuns).toHaveLength(0);
      // Within its time the same call goes out, and sendBy is not part of the body.
      await client().createAgentRun({ prompt: 'p', sendBy: Date.now() + 60_000 });
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0].body).toEqual({ prompt: 'p' });
    });

    it('does not retry a 5xx in-call, so one call never starts two runs', async () => {
      fake.failNext(1, { status: 502 });
      const error = await rejection(client({ retries: 2 }).createAgentRun({ prompt: 'p' }));
      expect(error).toMatchObject({ service: 'codegen', transient: true, status: 502 });
      expect(error).not.toBeInstanceOf(AgentRunCreateUnconfirmedError);
      expect(fake.requests).toHaveLength(1);
    });

    it('waits the Retry-After of a 429 and then creates the run', async () => {
      fake.failNext(1, { status: 429, retryAfterSeconds: 1 });
      const started = Date.now();
      const run = await client().createAgentRun({ prompt: 'p' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(run.id).toBe('1');
      expect(fake.createdRuns).toHaveLength(1);
    });

    it('hands a long Retry-After back to the caller instead of waiting in-call', async () => {
      fake.failNext(1, { status: 429, retryAfterSeconds: 120 });
      const error = await rejection(client().createAgentRun({ prompt: 'p' }));
      expect(error).toMatchObject({ transient: true, status: 429, retryAfterMs: 120_000 });
      expect(fake.createdRuns).toHaveLength(0);
    });

    it('reports a 402 as the plan limit, until a create succeeds', async () => {
      const codegen = client();
      fake.setPlanLimitReached(true);
      const error = await rejection(codegen.createAgentRun({ prompt: 'p' }));
      expect(error).toBeInstanceOf(CodegenPlanLimitError);
      expect(error).toMatchObject({ transient: false, status: 402 });
      expect(error.message).toMatch(/billing plan's agent-run limit is used up/);
      expect(error.message).toContain('Agent run limit reached for your plan');
      expect(codegen.planLimitReached).toBe(true);
      // A read does not change it; a successful create does.
      await expect(codegen.findRepository('octo/app')).resolves.toMatchObject({ id: 1001 });
      expect(codegen.planLimitReached).toBe(true);
      fake.setPlanLimitReached(false);
      await codegen.createAgentRun({ prompt: 'p' });
      expect(codegen.planLimitReached).toBe(false);
    });

    it('quotes the field of a FastAPI 422', async () => {
      fake.failNext(1, {
        status: 422,
        body: {
          detail: [
            {
              loc: ['body', 'repo_id'],
              msg: 'Input should be a valid integer',
              type: 'int_parsing',
            },
          ],
        },
      });
      const error = await rejection(client().createAgentRun({ prompt: 'p' }));
      expect(error).toMatchObject({ transient: false, status: 422 });
      expect(error.message).toContain('body.repo_id: Input should be a valid integer');
    });

    describe('a lost answer means the run may exist', () => {
      it('a connection cut after Codegen made the run', async () => {
        fake.cutNextCreate();
        const error = await rejection(client().createAgentRun({ prompt: 'p' }));
        expect(error).toBeInstanceOf(AgentRunCreateUnconfirmedError);
        expect(error.transient).toBe(true);
        expect(fake.createdRuns).toHaveLength(1);
        expect(fake.counters.create).toBe(1);
      });

      it('a timeout', async () => {
        fake.setCreateAnswerDelay(500);
        const error = await rejection(client({ timeoutMs: 100 }).createAgentRun({ prompt: 'p' }));
        expect(error).toBeInstanceOf(AgentRunCreateUnconfirmedError);
        expect(fake.counters.create).toBe(1);
      });

      it.each([
        ['not JSON', '<html>oops</html>'],
        ['no id', { organization_id: ORG, status: 'ACTIVE' }],
        ['a non-integer id', { id: 'seven', organization_id: ORG }],
        ['an array', [1, 2]],
      ])('a 2xx with %s', async (_what, body) => {
        const bad: CodegenBadAnswer[] = [];
        const codegen = client();
        codegen.onBadAnswer((answer) => bad.push(answer));
        fake.failNext(1, { status: 200, route: 'create', afterCreate: true, body });
        const error = await rejection(codegen.createAgentRun({ prompt: 'p' }));
        expect(error).toBeInstanceOf(AgentRunCreateUnconfirmedError);
        expect(error.status).toBe(200);
        expect(fake.createdRuns).toHaveLength(1);
        expect(bad).toEqual([
          expect.objectContaining({ operation: 'create_agent_run', httpStatus: 200 }),
        ]);
      });

      it('but a refused connection is not one', async () => {
        const gone = await CodegenFake.start();
        await gone.stop();
        const closed = new CodegenClient({
          baseUrl: gone.url,
          token: 't',
          orgId: ORG,
          retries: 0,
        });
        const error = await rejection(closed.createAgentRun({ prompt: 'p' }));
        expect(error).not.toBeInstanceOf(AgentRunCreateUnconfirmedError);
        expect(error.transient).toBe(true);
      });
    });

    it('keeps a run whose other fields are malformed, noting each problem', async () => {
      const bad: CodegenBadAnswer[] = [];
      const codegen = client();
      codegen.onBadAnswer((answer) => bad.push(answer));
      fake.failNext(1, {
        status: 200,
        route: 'create',
        body: {
          id: 5,
          organization_id: ORG,
          status: 'ACTIVE',
          web_url: 17,
          github_pull_requests: 'none',
          echo: `Bearer ${fake.token}`,
        },
      });
      const run = await codegen.createAgentRun({ prompt: 'p' });
      expect(run).toMatchObject({ id: '5', status: 'ACTIVE', webUrl: null, pullRequests: [] });
      expect(run.problems).toEqual([
        'body.github_pull_requests is not an array',
        'body.web_url is not a string',
      ]);
      expect(bad).toHaveLength(1);
      expect(bad[0].raw).not.toContain(fake.token);
      expect(bad[0].raw).toContain('Bearer ***');
    });
  });

  describe('getAgentRun', () => {
    it('maps a finished run, taking PR numbers from their URLs', async () => {
      const codegen = client();
      const created = await codegen.createAgentRun({ prompt: 'p' });
      fake.completeRun(1, {
        status: 'COMPLETE',
        result: 'Opened a fix',
        summary: 'Fixed the null check',
        pullRequests: [
          { url: 'https://github.com/o/r/pull/17' },
          { url: 'https://github.com/o/r/pull/x' },
        ],
      });
      const run = await codegen.getAgentRun(created.id);
      expect(fake.requests[1]).toMatchObject({
        method: 'GET',
        path: `/v1/organizations/${ORG}/agent/run/1`,
      });
      expect(run).toMatchObject({
        id: '1',
        status: 'COMPLETE',
        result: 'Opened a fix',
        summary: 'Fixed the null check',
        pullRequests: [
          { url: 'https://github.com/o/r/pull/17', number: 17 },
          { url: 'https://github.com/o/r/pull/x' },
        ],
      });
      expect(run.pullRequests[1].number).toBeUndefined();
    });

    it('walks a scripted run through null and running statuses to its end', async () => {
      fake.scriptStatuses(['PENDING', null, 'evaluation', 'OUT_OF_TOKENS']);
      const codegen = client();
      await codegen.createAgentRun({ prompt: 'p' });
      const seen = [];
      for (let i = 0; i < 4; i++) seen.push((await codegen.getAgentRun(1)).status);
      expect(seen).toEqual([null, 'evaluation', 'OUT_OF_TOKENS', 'OUT_OF_TOKENS']);
    });

    it('retries 5xx answers and returns the eventual answer', async () => {
      const codegen = client({ retries: 2 });
      await codegen.createAgentRun({ prompt: 'p' });
      fake.failNext(2, { status: 503 });
      await expect(codegen.getAgentRun(1)).resolves.toMatchObject({ id: '1' });
      expect(fake.requests).toHaveLength(4);
    });

    it('reports an unknown run as a permanent 404 without retrying', async () => {
      const error = await rejection(client({ retries: 2 }).getAgentRun(99));
      expect(error).toMatchObject({ service: 'codegen', transient: false, status: 404 });
      expect(error.message).toContain('Agent run not found');
      expect(fake.requests).toHaveLength(1);
    });

    it('rejects an id that is not a positive integer before sending anything', async () => {
      const codegen = client();
      await expect(codegen.getAgentRun('../../users')).rejects.toMatchObject({ transient: false });
      await expect(codegen.getAgentRun(-1)).rejects.toMatchObject({ transient: false });
      await expect(codegen.getAgentRun('abc')).rejects.toMatchObject({ transient: false });
      expect(fake.requests).toHaveLength(0);
    });

    it('reports an unreadable answer as transient (the next read may be fine), scrubbed and bounded', async () => {
      const bad: CodegenBadAnswer[] = [];
      const codegen = client();
      codegen.onBadAnswer((answer) => bad.push(answer));
      fake.failNext(1, {
        status: 200,
        body: `<html>${fake.token}${'x'.repeat(10_000)}</html>`,
      });
      const error = await rejection(codegen.getAgentRun(1));
      expect(error).toMatchObject({ transient: true });
      expect(error.message).toContain('body is not JSON');
      expect(bad[0].raw).not.toContain(fake.token);
      expect(bad[0].raw.length).toBeLessThanOrEqual(2000);
    });

    it('reads a status that is not a string as an unknown status, naming it', async () => {
      fake.failNext(1, { status: 200, body: { id: 1, organization_id: ORG, status: 3 } });
      const run = await client().getAgentRun(1);
      expect(run.status).toBe('3');
      expect(agentRunStatusKind(run.status)).toBe('unknown');
    });

    it('opens the circuit after repeated 5xx and then fails fast', async () => {
      fake.failNext(10, { status: 500 });
      const codegen = client({ retries: 0, breakerThreshold: 2, halfOpenAfterMs: 10_000 });
      await expect(codegen.getAgentRun(1)).rejects.toMatchObject({ status: 500 });
      await expect(codegen.getAgentRun(1)).rejects.toMatchObject({ status: 500 });
      await expect(codegen.createAgentRun({ prompt: 'p' })).rejects.toBeInstanceOf(
        CircuitOpenError,
      );
      expect(fake.requests).toHaveLength(2);
    });

    it('times out a slow answer as a transient error', async () => {
      fake.setLatency(400);
      const started = Date.now();
      const error = await rejection(client({ timeoutMs: 50, retries: 0 }).getAgentRun(1));
      expect(Date.now() - started).toBeLessThan(300);
      expect(error).toMatchObject({
        service: 'codegen',
        transient: true,
        message: `request to ${new URL(fake.url).host} timed out after 50 ms`,
      });
    });
  });

  describe('findRunByTaskId', () => {
    it('finds the run by metadata.task_id in the newest-first list of API runs, across pages', async () => {
      const codegen = client();
      await codegen.createAgentRun({ prompt: 'p', metadata: { task_id: 'wanted' } });
      for (let i = 0; i < 120; i++) await codegen.createAgentRun({ prompt: 'p' });
      const found = await codegen.findRunByTaskId('wanted', new Date());
      expect(found).toMatchObject({ id: '1', metadata: { task_id: 'wanted' } });
      const lists = fake.requests.filter((r) => r.path.includes('/agent/runs'));
      expect(lists.map((r) => r.path)).toEqual([
        `/v1/organizations/${ORG}/agent/runs?source_type=API&skip=0&limit=100`,
        `/v1/organizations/${ORG}/agent/runs?source_type=API&skip=100&limit=100`,
      ]);
    }, 20_000);

    it('is null when no run names the task', async () => {
      await client().createAgentRun({ prompt: 'p', metadata: { task_id: 'other' } });
      await expect(client().findRunByTaskId('wanted', new Date())).resolves.toBeNull();
    });
  });

  describe('findRepository', () => {
    it('finds a repository by full name, case-insensitively, and reuses the list', async () => {
      const codegen = client();
      await expect(codegen.findRepository('OCTO/app')).resolves.toEqual({
        id: 1001,
        fullName: 'octo/app',
      });
      await expect(codegen.findRepository('octo/other')).resolves.toMatchObject({ id: 1002 });
      await expect(codegen.findRepository('octo/unknown')).resolves.toBeNull();
      expect(fake.counters.repos).toBe(1);
    });

    it('reads every page, and reads again once the cache is old', async () => {
      fake.setRepositories(Array.from({ length: 250 }, (_, i) => `org/repo-${i}`));
      const codegen = client({ repoCacheMs: 0 });
      await expect(codegen.findRepository('org/repo-249')).resolves.toMatchObject({ id: 1250 });
      expect(fake.counters.repos).toBe(3);
      fake.addRepository('org/new');
      await expect(codegen.findRepository('org/new')).resolves.toMatchObject({ id: 1251 });
      expect(fake.counters.repos).toBe(6);
    });
  });

  it('removeFromPr asks Codegen to stop the run on its pull request', async () => {
    const codegen = client();
    await codegen.createAgentRun({ prompt: 'p' });
    await codegen.removeFromPr('1');
    expect(fake.createdRuns[0].removedFromPr).toBe(1);
    expect(fake.requests[1]).toMatchObject({
      method: 'POST',
      path: `/v1/organizations/${ORG}/agent/run/remove-from-pr`,
      body: { agent_run_id: 1 },
    });
  });

  describe('authentication', () => {
    it('reports a wrong token as a permanent 401 whose message does not contain the token', async () => {
      const secret = 'sk-wrong-secret-token';
      fake.failNext(1, {
        status: 401,
        body: { message: `Invalid token ${secret}`, status_code: 401 },
      });
      const error = await rejection(client({ token: secret }).getAgentRun(1));
      expect(error).toMatchObject({ transient: false, status: 401 });
      expect(error.message).not.toContain(secret);
      expect(JSON.stringify(error)).not.toContain(secret);
    });

    it('is refused by the fake with a wrong token', async () => {
      await expect(client({ token: 'nope' }).createAgentRun({ prompt: 'p' })).rejects.toMatchObject(
        { status: 401 },
      );
      expect(fake.createdRuns).toHaveLength(0);
    });

    it('refuses to be built without a token or with an organization id that is not a positive integer', () => {
      expect(() => new CodegenClient({ baseUrl: fake.url, token: '', orgId: ORG })).toThrow(
        TypeError,
      );
      for (const orgId of ['1/../2', 'acme', '0', -3, 4.5]) {
        expect(() => new CodegenClient({ baseUrl: fake.url, token: 't', orgId })).toThrow(
          TypeError,
        );
      }
    });
  });

  it('CodegenModule.forRoot provides a working client', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CodegenModule.forRoot({ baseUrl: fake.url, token: fake.token, orgId: ORG })],
    }).compile();
    await expect(
      moduleRef.get(CodegenClient).createAgentRun({ prompt: 'p' }),
    ).resolves.toMatchObject({ id: '1' });
  });
});

describe('agent run statuses (Codegen’s published list, case-insensitive)', () => {
  it.each([
    ['PENDING', 'running'],
    ['ACTIVE', 'running'],
    ['running', 'running'],
    ['EVALUATION', 'running'],
    ['PAUSED', 'paused'],
    ['COMPLETE', 'succeeded'],
    ['completed', 'succeeded'],
    ['FAILED', 'failed'],
    ['error', 'failed'],
    ['Cancelled', 'failed'],
    ['STOPPED', 'failed'],
    ['TIMEOUT', 'failed'],
    ['MAX_ITERATIONS_REACHED', 'failed'],
    ['out_of_tokens', 'failed'],
    ['QUEUED', 'unknown'],
    ['', 'unknown'],
  ])('%j is %s', (status, kind) => {
    expect(agentRunStatusKind(status)).toBe(kind);
  });

  it('null is not known yet: keep polling', () => {
    expect(agentRunStatusKind(null)).toBe('not_known_yet');
    expect(isTerminalAgentRunStatus(null)).toBe(false);
  });

  it('lists every published status', () => {
    expect(KNOWN_AGENT_RUN_STATUSES).toHaveLength(13);
    expect(isSuccessfulAgentRunStatus('complete')).toBe(true);
    expect(isTerminalAgentRunStatus('PAUSED')).toBe(true);
    expect(isSuccessfulAgentRunStatus('STOPPED')).toBe(false);
  });
});
