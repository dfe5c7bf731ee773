import { CircuitOpenError } from '@app/platform';
import { Test } from '@nestjs/testing';
import { GithubFake } from '../../../test/fakes';
import { rejection } from '../../../test/support/rejection';
import { GithubClient } from './github-client';
import { GithubModule } from './github.module';
import { GithubRateLimitError } from './rate-limit-holds';
import type { GithubClientOptions } from './github.types';

const REPO = 'octo-org/hello.world';
const TOKEN = 'ghp_test_token';

describe('GithubClient against the GitHub fake', () => {
  let fake: GithubFake;

  beforeAll(async () => {
    fake = await GithubFake.start();
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  const client = (options: Partial<GithubClientOptions> = {}) =>
    new GithubClient({
      apiUrl: fake.url,
      token: TOKEN,
      timeoutMs: 1_000,
      retryBaseMs: 1,
      ...options,
    });

  describe('requests', () => {
    it('sends the API version, media type, user agent and bearer token', async () => {
      fake.setPullRequest(REPO, 7);

      await client({ userAgent: 'orchestrator-test' }).getPullRequest(REPO, 7);

      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]).toMatchObject({ method: 'GET', path: `/repos/${REPO}/pulls/7` });
      expect(fake.requests[0].headers).toMatchObject({
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'user-agent': 'orchestrator-test',
        authorization: `Bearer ${TOKEN}`,
      });
    });

    it('sends no Authorization header without a token', async () => {
      fake.setPullRequest(REPO, 7);

      await client({ token: undefined }).getPullRequest(REPO, 7);

      expect(fake.requests[0].headers.authorization).toBeUndefined();
      expect(fake.requests[0].headers['user-agent']).toBe('webhook-orchestrator');
    });

    it('keeps the path of a GitHub Enterprise Server API root', async () => {
      fake.setPullRequest(REPO, 7);

      await client({ apiUrl: `${fake.url}/api/v3/` }).getPullRequest(REPO, 7);

      expect(fake.requests[0].path).toBe(`/api/v3/repos/${REPO}/pulls/7`);
    });

    it('records the last x-ratelimit-remaining', async () => {
      fake.setPullRequest(REPO, 7);
      fake.rateLimitRemaining = 43;
      const github = client();
      expect(github.rateLimitRemaining).toBeNull();

      await github.getPullRequest(REPO, 7);

      expect(github.rateLimitRemaining).toBe(42);
    });
  });

  describe('listPullRequestFiles', () => {
    const files = Array.from({ length: 250 }, (_, i) => ({
      filename: `src/file-${i}.ts`,
      status: i === 0 ? 'added' : 'modified',
      additions: i,
      deletions: 1,
    }));

    it('follows pagination until a short page and maps every file', async () => {
      fake.setPullRequestFiles(REPO, 12, files);

      const result = await client().listPullRequestFiles(REPO, 12);

      expect(fake.requests.map((request) => request.path)).toEqual([
        `/repos/${REPO}/pulls/12/files?per_page=100&page=1`,
        `/repos/${REPO}/pulls/12/files?per_page=100&page=2`,
        `/repos/${REPO}/pulls/12/files?per_page=100&page=3`,
      ]);
      expect(result).toHaveLength(250);
      expect(result[0]).toEqual({
        filename: 'src/file-0.ts',
        status: 'added',
        additions: 0,
        deletions: 1,
        changes: 1,
      });
      expect(result[249]).toEqual({
        filename: 'src/file-249.ts',
        status: 'modified',
        additions: 249,
        deletions: 1,
        changes: 250,
      });
    });

    it('stops at maxFiles', async () => {
      fake.setPullRequestFiles(REPO, 12, files);

      const result = await client().listPullRequestFiles(REPO, 12, 150);

      expect(result).toHaveLength(150);
      expect(result[149].filename).toBe('src/file-149.ts');
      expect(fake.requests).toHaveLength(2);
    });

    it('asks for one page only when it is exactly full and the next is empty', async () => {
      fake.setPullRequestFiles(REPO, 12, files.slice(0, 100));

      await expect(client().listPullRequestFiles(REPO, 12)).resolves.toHaveLength(100);
      expect(fake.requests).toHaveLength(2);
    });
  });

  describe('getPullRequest', () => {
    it('maps GitHub JSON to a PullRequestSummary', async () => {
      fake.setPullRequest(REPO, 42, {
        state: 'open',
        draft: true,
        title: 'Fix the flux capacitor',
        headSha: 'a'.repeat(40),
        headRef: 'fix/flux',
        baseRef: 'develop',
        labels: ['bug', 'codegen'],
      });

      await expect(client().getPullRequest(REPO, 42)).resolves.toEqual({
        number: 42,
        state: 'open',
        draft: true,
        headSha: 'a'.repeat(40),
        headRef: 'fix/flux',
        baseRef: 'develop',
        title: 'Fix the flux capacitor',
        htmlUrl: `https://github.com/${REPO}/pull/42`,
        labels: ['bug', 'codegen'],
        authorLogin: 'octocat',
        authorType: 'User',
        authorAssociation: 'OWNER',
        headRepository: REPO,
        baseRepository: REPO,
      });
    });

    it('reports who opened it and from where: a fork, a deleted fork, no association', async () => {
      fake.setPullRequest(REPO, 43, {
        headRepository: 'stranger/hello.world',
        authorLogin: 'stranger',
        authorAssociation: 'FIRST_TIME_CONTRIBUTOR',
      });
      fake.setPullRequest(REPO, 44, { headRepository: null, authorAssociation: null });
      await expect(client().getPullRequest(REPO, 43)).resolves.toMatchObject({
        authorLogin: 'stranger',
        authorAssociation: 'FIRST_TIME_CONTRIBUTOR',
        headRepository: 'stranger/hello.world',
        baseRepository: REPO,
      });
      await expect(client().getPullRequest(REPO, 44)).resolves.toMatchObject({
        authorAssociation: null,
        headRepository: null,
      });
    });
  });

  describe('getRepositoryFile', () => {
    it('reads a file at a ref through the contents API, decoded; null when absent', async () => {
      fake.setRepositoryFile(
        REPO,
        '.github/webhook-orchestrator.yml',
        'agent_runs: false\n',
        'main',
      );
      const file = await client().getRepositoryFile(
        REPO,
        '.github/webhook-orchestrator.yml',
        'main',
        1024,
      );
      expect(file).toMatchObject({
        type: 'file',
        size: 18,
        sha: expect.stringMatching(/^[0-9a-f]{40}$/),
      });
      expect(Buffer.from(file?.content ?? []).toString('utf8')).toBe('agent_runs: false\n');
      expect(fake.requests.at(-1)?.path).toBe(
        `/repos/${REPO}/contents/.github/webhook-orchestrator.yml?ref=main`,
      );
      await expect(
        client().getRepositoryFile(REPO, '.github/webhook-orchestrator.yml', 'feature', 1024),
      ).resolves.toBeNull();
    });

    it('does not decode a file above the limit, nor one GitHub sends without content', async () => {
      fake.setRepositoryFile(REPO, 'big.yml', 'x'.repeat(2000));
      fake.setRepositoryFile(REPO, 'huge.yml', Buffer.alloc(1024 * 1024 + 1, 0x61));
      await expect(client().getRepositoryFile(REPO, 'big.yml', null, 1000)).resolves.toMatchObject({
        size: 2000,
        content: null,
      });
      await expect(
        client().getRepositoryFile(REPO, 'huge.yml', null, 10 * 1024 * 1024),
      ).resolves.toMatchObject({ size: 1024 * 1024 + 1, content: null });
    });

    it('refuses a path that could leave the repository', async () => {
      await expect(client().getRepositoryFile(REPO, '../secrets', null, 10)).rejects.toMatchObject({
        transient: false,
      });
      expect(fake.requests).toHaveLength(0);
    });

    it('rejects a malformed answer as permanent without retrying', async () => {
      fake.failNext(1, { status: 200, body: { number: 42, state: 'open', head: null } });

      const error = await rejection(client().getPullRequest(REPO, 42));

      expect(error).toMatchObject({ service: 'github', transient: false });
      expect(error.message).toContain('malformed answer');
      expect(fake.requests).toHaveLength(1);
    });
  });

  describe('listCheckRunsForSuite', () => {
    it('follows pagination and maps check runs', async () => {
      const runs = Array.from({ length: 130 }, (_, i) => ({ name: `job ${i}` }));
      runs[0] = {
        name: 'lint',
        status: 'completed',
        conclusion: 'failure',
        detailsUrl: null,
      } as (typeof runs)[0];
      fake.setCheckRuns(REPO, 5, runs);

      const result = await client().listCheckRunsForSuite(REPO, 5);

      expect(fake.requests.map((request) => request.path)).toEqual([
        `/repos/${REPO}/check-suites/5/check-runs?per_page=100&page=1`,
        `/repos/${REPO}/check-suites/5/check-runs?per_page=100&page=2`,
      ]);
      expect(result).toHaveLength(130);
      expect(result[0]).toEqual({
        id: 5001,
        name: 'lint',
        status: 'completed',
        conclusion: 'failure',
        detailsUrl: null,
        htmlUrl: `https://github.com/${REPO}/runs/5001`,
      });
    });
  });

  describe('failures', () => {
    it('retries 5xx answers and returns the eventual answer', async () => {
      fake.setPullRequest(REPO, 7);
      fake.failNext(2, { status: 502 });

      await expect(client({ retries: 2 }).getPullRequest(REPO, 7)).resolves.toMatchObject({
        number: 7,
      });
      expect(fake.requests).toHaveLength(3);
    });

    it('reports a 404 as permanent with its status and does not retry it', async () => {
      const error = await rejection(client({ retries: 2 }).getPullRequest(REPO, 404));

      expect(error).toMatchObject({ service: 'github', transient: false, status: 404 });
      expect(error.message).toBe(`GitHub GET /repos/${REPO}/pulls/404 answered 404: Not Found`);
      expect(fake.requests).toHaveLength(1);
    });

    it('honours the Retry-After of a 429: nothing is sent before it has passed', async () => {
      fake.setPullRequest(REPO, 7);
      fake.failNext(1, { status: 429, retryAfterSeconds: 1 });
      const github = client();

      const error = await rejection(github.getPullRequest(REPO, 7));
      expect(error).toBeInstanceOf(GithubRateLimitError);
      expect(error).toMatchObject({ transient: true, status: 429 });
      expect(error.retryAfterMs).toBeGreaterThan(900);
      expect(error.retryAfterMs).toBeLessThanOrEqual(1000);
      // Within the wait the call is refused here, without reaching GitHub.
      await expect(github.getPullRequest(REPO, 7)).rejects.toBeInstanceOf(GithubRateLimitError);
      expect(fake.requests).toHaveLength(1);

      await new Promise((resolve) => setTimeout(resolve, github.budgetWaitMs() + 50));
      await expect(github.getPullRequest(REPO, 7)).resolves.toMatchObject({ number: 7 });
      expect(fake.requests).toHaveLength(2);
    });

    it('hands a long Retry-After back to the caller as transient with retryAfterMs', async () => {
      fake.failNext(1, { status: 429, retryAfterSeconds: 60 });

      const error = await rejection(client().getPullRequest(REPO, 7));

      expect(error).toMatchObject({ transient: true, status: 429, retryAfterMs: 60_000 });
      expect(fake.requests).toHaveLength(1);
    });

    it('treats a 403 with an exhausted quota as a transient rate limit until the reset', async () => {
      const resetEpoch = Math.floor(Date.now() / 1000) + 120;
      fake.failNext(1, {
        status: 403,
        body: { message: 'API rate limit exceeded' },
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetEpoch) },
      });
      const github = client();

      const error = await rejection(github.getPullRequest(REPO, 7));

      expect(error).toMatchObject({ transient: true, status: 403 });
      expect(error.retryAfterMs).toBeGreaterThan(110_000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(120_000);
      expect(github.rateLimitRemaining).toBe(0);
      expect(fake.requests).toHaveLength(1);
    });

    it('reports a plain 403 as permanent', async () => {
      fake.failNext(1, {
        status: 403,
        body: { message: 'Resource not accessible by integration' },
      });

      await expect(client().getPullRequest(REPO, 7)).rejects.toMatchObject({
        transient: false,
        status: 403,
      });
    });

    it('keeps a plain 403 a permission error: no wait, the next call is sent', async () => {
      fake.setPullRequest(REPO, 7);
      fake.failNext(1, { status: 403, body: { message: 'Must have admin rights to Repository.' } });
      const github = client();

      await expect(github.getPullRequest(REPO, 7)).rejects.toMatchObject({
        transient: false,
        status: 403,
      });
      expect(github.rateLimitHolds()).toEqual([]);
      await expect(github.getPullRequest(REPO, 7)).resolves.toMatchObject({ number: 7 });
    });

    it('opens the circuit after repeated 5xx and then fails fast without calling GitHub', async () => {
      fake.failNext(10, { status: 500 });
      const github = client({ retries: 0, breakerThreshold: 3, halfOpenAfterMs: 10_000 });

      for (let i = 0; i < 3; i++) {
        await expect(github.getPullRequest(REPO, 7)).rejects.toMatchObject({
          status: 500,
          transient: true,
        });
      }
      const error = await rejection(github.getPullRequest(REPO, 7));

      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(error).toMatchObject({ service: 'github', transient: true });
      expect(github.policy.state).toBe('open');
      expect(fake.requests).toHaveLength(3);
    });

    it('times out a slow answer as a transient error', async () => {
      fake.setPullRequest(REPO, 7);
      fake.setLatency(400);

      const started = Date.now();
      const error = await rejection(client({ timeoutMs: 50, retries: 0 }).getPullRequest(REPO, 7));

      expect(Date.now() - started).toBeLessThan(300);
      expect(error).toMatchObject({
        service: 'github',
        transient: true,
        message: `request to ${new URL(fake.url).host} timed out after 50 ms`,
      });
    });

    it('reports an unreachable server as a transient network error', async () => {
      const closed = await GithubFake.start();
      const url = closed.url;
      await closed.stop();

      const error = await rejection(client({ apiUrl: url, retries: 0 }).getPullRequest(REPO, 7));

      expect(error).toMatchObject({ service: 'github', transient: true });
      // The code and the address tried, so an operator sees which setting is wrong.
      expect(error.message).toBe(`network error (ECONNREFUSED ${new URL(url).host})`);
    });
  });

  describe('input validation', () => {
    it.each([
      'octo-org',
      'octo-org/hello/world',
      '../etc/passwd',
      'octo-org/..',
      './x',
      'octo org/x',
      'o/r?x=1',
      '',
    ])('rejects repository %j before sending anything', async (repository) => {
      const error = await rejection(client().getPullRequest(repository, 1));

      expect(error).toMatchObject({ service: 'github', transient: false });
      expect(fake.requests).toHaveLength(0);
    });

    it.each([0, -1, 1.5, Number.NaN])('rejects number %p before sending anything', async (n) => {
      const github = client();

      await expect(github.getPullRequest(REPO, n)).rejects.toMatchObject({ transient: false });
      await expect(github.listPullRequestFiles(REPO, n)).rejects.toMatchObject({
        transient: false,
      });
      await expect(github.listCheckRunsForSuite(REPO, n)).rejects.toMatchObject({
        transient: false,
      });
      expect(fake.requests).toHaveLength(0);
    });

    it('refuses an apiUrl that is not an http(s) URL', () => {
      expect(() => new GithubClient({ apiUrl: 'api.github.com' })).toThrow(TypeError);
      expect(() => new GithubClient({ apiUrl: 'file:///etc' })).toThrow(TypeError);
    });
  });

  describe('GithubModule', () => {
    it('provides a client from static options', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [GithubModule.forRoot({ apiUrl: fake.url })],
      }).compile();
      fake.setPullRequest(REPO, 3);

      await expect(moduleRef.get(GithubClient).getPullRequest(REPO, 3)).resolves.toMatchObject({
        number: 3,
      });
    });

    it('provides a client from an injected factory', async () => {
      const CONFIG = Symbol('config');
      const moduleRef = await Test.createTestingModule({
        imports: [
          GithubModule.forRootAsync({
            imports: [
              {
                module: class ConfigModule {},
                providers: [{ provide: CONFIG, useValue: { url: fake.url } }],
                exports: [CONFIG],
              },
            ],
            useFactory: (config: { url: string }) => ({ apiUrl: config.url, token: TOKEN }),
            inject: [CONFIG],
          }),
        ],
      }).compile();
      fake.setPullRequest(REPO, 3);

      await moduleRef.get(GithubClient).getPullRequest(REPO, 3);
      expect(fake.requests[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
    });
  });

  describe('secondary rate limits', () => {
    const SECONDARY = {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      documentation_url:
        'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api',
    };
    /** A client on a clock the test moves; the minimum wait is 60 s, as in production. */
    const clocked = (options: Partial<GithubClientOptions> = {}) => {
      const clock = { now: Date.now() };
      const github = client({ now: () => clock.now, ...options });
      return { github, clock };
    };

    it('waits at least a minute after a secondary-limit 403 without Retry-After, sending nothing meanwhile', async () => {
      fake.setPullRequest(REPO, 7);
      fake.failNext(1, { status: 403, body: SECONDARY });
      const { github, clock } = clocked();

      const error = await rejection(github.getPullRequest(REPO, 7));

      expect(error).toBeInstanceOf(GithubRateLimitError);
      expect(error).toMatchObject({ transient: true, status: 403, retryAfterMs: 60_000 });
      expect(error.message).toContain('secondary rate limit');
      expect(github.rateLimitHold()).toMatchObject({
        identity: 'token',
        kind: 'secondary',
        strikes: 1,
        untilMs: clock.now + 60_000,
      });
      clock.now += 59_000;
      await expect(github.getPullRequest(REPO, 7)).rejects.toBeInstanceOf(GithubRateLimitError);
      expect(github.budgetWaitMs()).toBe(1_000);
      expect(fake.requests).toHaveLength(1);

      clock.now += 1_000;
      await expect(github.getPullRequest(REPO, 7)).resolves.toMatchObject({ number: 7 });
      expect(github.rateLimitHolds()).toEqual([]);
      expect(fake.requests).toHaveLength(2);
    });

    it('doubles the wait while the limit repeats, and starts again from a minute after a success', async () => {
      fake.setPullRequest(REPO, 7);
      const { github, clock } = clocked();
      const waits: number[] = [];
      for (let i = 0; i < 3; i++) {
        fake.failNext(1, { status: 429, body: SECONDARY });
        waits.push((await rejection(github.getPullRequest(REPO, 7))).retryAfterMs ?? -1);
        clock.now += github.budgetWaitMs();
      }
      expect(waits).toEqual([60_000, 120_000, 240_000]);

      await github.getPullRequest(REPO, 7);
      fake.failNext(1, { status: 403, body: SECONDARY });
      expect((await rejection(github.getPullRequest(REPO, 7))).retryAfterMs).toBe(60_000);
    });

    it('settles for the minimum set in its options (tests use a shorter one)', async () => {
      fake.failNext(1, { status: 403, body: SECONDARY });
      const { github } = clocked({ secondaryLimitMinWaitMs: 1_000 });

      expect((await rejection(github.getPullRequest(REPO, 7))).retryAfterMs).toBe(1_000);
    });

    it('takes Retry-After as the wait, on a 403 with no other sign too', async () => {
      fake.failNext(1, { status: 403, retryAfterSeconds: 90, body: { message: 'Forbidden' } });
      const { github } = clocked();

      const error = await rejection(github.getPullRequest(REPO, 7));

      expect(error).toMatchObject({ status: 403, retryAfterMs: 90_000 });
      expect(github.rateLimitHold()).toMatchObject({ kind: 'secondary' });
    });

    it('waits for the reset when the secondary limit comes with a spent budget', async () => {
      const { github, clock } = clocked();
      const reset = Math.floor(clock.now / 1000) + 600;
      fake.failNext(1, {
        status: 403,
        body: SECONDARY,
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      });

      await rejection(github.getPullRequest(REPO, 7));

      expect(github.rateLimitHold()?.untilMs).toBe(reset * 1000);
    });

    it('is not retried in-call and leaves the circuit closed', async () => {
      fake.failNext(5, { status: 403, body: SECONDARY });
      const { github } = clocked({ breakerThreshold: 1, retries: 2 });

      await rejection(github.getPullRequest(REPO, 7));

      expect(fake.requests).toHaveLength(1);
      expect(github.policy.state).toBe('closed');
    });

    it('counts answers to calls already in flight as one limit, not several', async () => {
      fake.failNext(3, { status: 403, body: SECONDARY });
      const { github } = clocked();

      await Promise.all([1, 2, 3].map(() => rejection(github.getPullRequest(REPO, 7))));

      expect(fake.requests).toHaveLength(3);
      expect(github.rateLimitHold()).toMatchObject({ strikes: 1 });
    });
  });
});
