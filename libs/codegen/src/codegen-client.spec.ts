import { ExternalServiceError, CircuitOpenError } from '@app/platform';
import { Test } from '@nestjs/testing';
import { CodegenFake } from '../../../test/fakes';
import {
  CodegenClient,
  isSuccessfulAgentRunStatus,
  isTerminalAgentRunStatus,
} from './codegen-client';
import { CodegenModule } from './codegen.module';
import type { CodegenClientOptions } from './codegen.types';

const ORG = '42';

async function rejection(promise: Promise<unknown>): Promise<ExternalServiceError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ExternalServiceError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('CodegenClient against the Codegen fake', () => {
  let fake: CodegenFake;

  beforeAll(async () => {
    fake = await CodegenFake.start();
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

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
    it('posts the prompt and metadata with the bearer token and maps the new run', async () => {
      const run = await client().createAgentRun({
        prompt: 'Fix the failing check',
        metadata: { taskId: 't-1' },
      });

      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]).toMatchObject({
        method: 'POST',
        path: `/v1/organizations/${ORG}/agent/run`,
        body: { prompt: 'Fix the failing check', metadata: { taskId: 't-1' } },
      });
      expect(fake.requests[0].headers).toMatchObject({
        authorization: `Bearer ${fake.token}`,
        'content-type': 'application/json',
      });
      expect(fake.createdRuns[0]).toMatchObject({ orgId: ORG, prompt: 'Fix the failing check' });
      expect(run).toEqual({
        id: '1',
        status: 'ACTIVE',
        webUrl: `${fake.url}/agent/trace/1`,
        result: null,
        summary: null,
        pullRequests: [],
        createdAt: fake.createdRuns[0].createdAt,
      });
    });

    it('rejects an empty prompt before sending anything', async () => {
      await expect(client().createAgentRun({ prompt: '  ' })).rejects.toMatchObject({
        transient: false,
      });
      expect(fake.requests).toHaveLength(0);
    });

    it('does not retry a 5xx in-call, so one call never starts two runs', async () => {
      fake.failNext(1, { status: 502 });

      const error = await rejection(client({ retries: 2 }).createAgentRun({ prompt: 'p' }));

      expect(error).toMatchObject({ service: 'codegen', transient: true, status: 502 });
      expect(fake.requests).toHaveLength(1);
    });

    it('waits the Retry-After of a 429 and then creates the run', async () => {
      fake.failNext(1, { status: 429, retryAfterSeconds: 1 });

      const started = Date.now();
      const run = await client().createAgentRun({ prompt: 'p' });

      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(run.id).toBe('1');
      expect(fake.requests).toHaveLength(2);
      expect(fake.createdRuns).toHaveLength(1);
    });
  });

  describe('getAgentRun', () => {
    it('maps a finished run with its pull requests', async () => {
      const codegen = client();
      const created = await codegen.createAgentRun({ prompt: 'p' });
      fake.completeRun(1, {
        status: 'COMPLETE',
        result: 'Opened a fix',
        summary: 'Fixed the null check',
        pullRequests: [
          { url: 'https://github.com/o/r/pull/17' },
          { url: 'https://github.com/o/r/pull/x', number: 18 },
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
          { url: 'https://github.com/o/r/pull/x', number: 18 },
        ],
      });
      expect(isTerminalAgentRunStatus(run.status)).toBe(true);
      expect(isSuccessfulAgentRunStatus(run.status)).toBe(true);
    });

    it('sees a run complete after the configured number of polls', async () => {
      fake.setAutoComplete(2);
      const codegen = client();
      await codegen.createAgentRun({ prompt: 'p' });

      await expect(codegen.getAgentRun(1)).resolves.toMatchObject({ status: 'ACTIVE' });
      await expect(codegen.getAgentRun(1)).resolves.toMatchObject({ status: 'COMPLETE' });
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
      expect(fake.requests).toHaveLength(1);
    });

    it('rejects an id that could change the path before sending anything', async () => {
      const codegen = client();

      await expect(codegen.getAgentRun('../../users')).rejects.toMatchObject({ transient: false });
      await expect(codegen.getAgentRun(-1)).rejects.toMatchObject({ transient: false });
      expect(fake.requests).toHaveLength(0);
    });

    it('rejects a malformed answer as permanent', async () => {
      fake.failNext(1, {
        status: 200,
        body: { id: 1, status: 'ACTIVE', github_pull_requests: 'none' },
      });

      const error = await rejection(client().getAgentRun(1));

      expect(error).toMatchObject({ transient: false });
      expect(error.message).toContain('github_pull_requests');
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

  describe('authentication', () => {
    it('reports a wrong token as a permanent 401 whose message does not contain the token', async () => {
      const secret = 'sk-wrong-secret-token';
      fake.failNext(1, { status: 401, body: { detail: `Invalid token ${secret}` } });

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

    it('refuses to be built without a token or with an unsafe org id', () => {
      expect(() => new CodegenClient({ baseUrl: fake.url, token: '', orgId: ORG })).toThrow(
        TypeError,
      );
      expect(() => new CodegenClient({ baseUrl: fake.url, token: 't', orgId: '1/../2' })).toThrow(
        TypeError,
      );
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

describe('agent run statuses', () => {
  it.each(['COMPLETE', 'completed', 'FAILED', 'error', 'Cancelled', 'STOPPED'])(
    '%s is terminal',
    (status) => {
      expect(isTerminalAgentRunStatus(status)).toBe(true);
    },
  );

  it.each(['ACTIVE', 'queued', 'RUNNING', 'PAUSED', ''])('%j is not terminal', (status) => {
    expect(isTerminalAgentRunStatus(status)).toBe(false);
  });

  it('only COMPLETE and COMPLETED count as success', () => {
    expect(isSuccessfulAgentRunStatus('complete')).toBe(true);
    expect(isSuccessfulAgentRunStatus('COMPLETED')).toBe(true);
    expect(isSuccessfulAgentRunStatus('FAILED')).toBe(false);
    expect(isSuccessfulAgentRunStatus('STOPPED')).toBe(false);
  });
});
