import { request } from 'node:http';
import { CodegenFake, GithubFake } from '../fakes';
import { MAX_FAKE_BODY_BYTES } from '../fakes/fake-server';

const REPO = 'octo-org/fakes';
const HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
  'user-agent': 'fake-server-test',
};
const PR_FILES = 'GET /repos/{owner}/{repo}/pulls/{pull_number}/files';
const RULES_FILE = `/repos/${REPO}/contents/.github/webhook-orchestrator.yml`;

/**
 * What both fakes get from their shared server: failures queued for one route only, latency,
 * a body size cap answered in the service's own error shape, and a stop that does not wait for
 * a client holding a connection open.
 */
describe('the fakes’ shared server', () => {
  let github: GithubFake;
  let codegen: CodegenFake;

  beforeAll(async () => {
    github = await GithubFake.start();
    codegen = await CodegenFake.start();
  });
  afterAll(async () => {
    await github.stop();
    await codegen.stop();
  });
  beforeEach(() => {
    github.reset();
    codegen.reset();
  });

  const get = async (path: string): Promise<{ status: number; body: unknown }> => {
    const response = await fetch(github.url + path, { headers: HEADERS });
    return { status: response.status, body: await response.json() };
  };

  it('GitHub: a failure queued for a route is left to that route; other reads are answered as usual', async () => {
    github.setPullRequestFiles(REPO, 1, [{ filename: 'README.md' }]);
    github.failNext(2, { status: 502, route: PR_FILES });

    // The rules file read comes first and gets GitHub's own 404, not the failure.
    expect(await get(RULES_FILE)).toEqual({ status: 404, body: { message: 'Not Found' } });
    expect((await get(`/repos/${REPO}/pulls/1/files?per_page=100`)).status).toBe(502);
    expect((await get(`/api/v3/repos/${REPO}/pulls/1/files`)).status).toBe(502);
    expect(await get(`/repos/${REPO}/pulls/1/files`)).toEqual({
      status: 200,
      body: [expect.objectContaining({ filename: 'README.md' })],
    });
    expect(github.requests.map((r) => r.path)).toEqual([
      RULES_FILE,
      `/repos/${REPO}/pulls/1/files?per_page=100`,
      `/api/v3/repos/${REPO}/pulls/1/files`,
      `/repos/${REPO}/pulls/1/files`,
    ]);
  });

  it('GitHub: a route is a method and whole path segments; a route without a method is refused', async () => {
    github.setPullRequest(REPO, 1);
    // The pull request itself, and a POST to the files path, are not the files read.
    github.failNext(1, { status: 503, route: PR_FILES });
    expect((await get(`/repos/${REPO}/pulls/1`)).status).toBe(200);
    const post = await fetch(`${github.url}/repos/${REPO}/pulls/1/files`, {
      method: 'POST',
      headers: HEADERS,
    });
    expect(post.status).toBe(404);
    github.takeViolations(); // the POST is no GitHub operation: refused above on purpose
    expect((await get(`/repos/${REPO}/pulls/1/files`)).status).toBe(503);

    expect(() => github.failNext(1, { status: 502, route: '/repos/{owner}/{repo}' })).toThrow(
      'is not "METHOD /path"',
    );
  });

  it('GitHub: without a route the next request takes the failure, whatever it is for', async () => {
    github.failNext(1, { status: 500, retryAfterSeconds: 7 });
    const response = await fetch(github.url + RULES_FILE, { headers: HEADERS });
    expect(response.status).toBe(500);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toEqual({ message: 'Injected failure' });
  });

  it('Codegen: a failure for one route leaves the others alone, and clearFailures ends it', async () => {
    const auth = { authorization: `Bearer ${codegen.token}` };
    codegen.failNext(3, { status: 503, route: 'create' });
    const repos = await fetch(`${codegen.url}/v1/organizations/${codegen.orgId}/repos`, {
      headers: auth,
    });
    expect(repos.status).toBe(200);
    const create = () =>
      fetch(`${codegen.url}/v1/organizations/${codegen.orgId}/agent/run`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'fix it' }),
      });
    const failed = await create();
    expect(failed.status).toBe(503);
    expect(await failed.json()).toEqual({ message: 'Injected failure', status_code: 503 });
    codegen.clearFailures();
    expect((await create()).status).toBe(200);
    expect(codegen.counters).toMatchObject({ repos: 1, create: 2 });
  });

  it('delays answers by the latency set, and reset() takes it away', async () => {
    github.setLatency(400);
    let started = Date.now();
    await get(RULES_FILE);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    github.reset();
    started = Date.now();
    await get(RULES_FILE);
    expect(github.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('answers a body over the cap with 413 in each service’s error shape, and records the request', async () => {
    const big = 'x'.repeat(MAX_FAKE_BODY_BYTES + 1);
    const toGithub = await fetch(`${github.url}/repos/${REPO}/issues/1/comments`, {
      method: 'POST',
      headers: { ...HEADERS, 'content-type': 'application/json' },
      body: big,
    });
    expect(toGithub.status).toBe(413);
    expect(await toGithub.json()).toEqual({ message: expect.stringContaining('over') });
    expect(github.comments).toEqual([]);
    expect(github.requests).toEqual([expect.objectContaining({ method: 'POST', body: undefined })]);
    github.takeViolations();

    const toCodegen = await fetch(`${codegen.url}/v1/organizations/${codegen.orgId}/agent/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${codegen.token}`, 'content-type': 'application/json' },
      body: big,
    });
    expect(toCodegen.status).toBe(413);
    expect(await toCodegen.json()).toEqual({
      message: expect.stringContaining('over'),
      status_code: 413,
    });
    expect(codegen.createdRuns).toEqual([]);
  });

  it('stops at once while a client waits on a delayed answer, dropping its connection', async () => {
    const fake = await GithubFake.start();
    fake.setLatency(60_000);
    const answered = new Promise<string>((resolve) => {
      const req = request(`${fake.url}${RULES_FILE}`, { headers: HEADERS }, () =>
        resolve('answered'),
      );
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      req.end();
    });
    await waitUntil(() => fake.requests.length === 1);

    const started = Date.now();
    await fake.stop();

    expect(Date.now() - started).toBeLessThan(5000);
    expect(await answered).toBe('ECONNRESET');
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
