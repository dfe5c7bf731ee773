import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createGithubAppJwt } from '@app/github';
import { GithubFake, SERVED } from '../../fakes/github-fake';
import { GithubOpenApi } from '../../fakes/github-openapi';

const REPO = 'octo-org/contract';
const HEAD = 'a'.repeat(40);
const APP_ID = '777';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
  'user-agent': 'contract-test',
};

/**
 * The GitHub fake against GitHub's official OpenAPI description (`@octokit/openapi`): every
 * answer it can serve validates against the operation's response schema, and a request the
 * description refuses is caught and fails the test that sent it.
 */
describe("GitHub fake against GitHub's published OpenAPI description", () => {
  let fake: GithubFake;
  const openapi = GithubOpenApi.load();

  beforeAll(async () => {
    fake = await GithubFake.start({ app: { appId: APP_ID, publicKey } });
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  /** Sends one request as the client would; returns the status and parsed body. */
  async function call(
    method: string,
    path: string,
    options: { body?: unknown; auth?: string } = {},
  ): Promise<{ status: number; body: unknown }> {
    const response = await fetch(fake.url + path, {
      method,
      headers: {
        ...HEADERS,
        ...(options.auth ? { authorization: `Bearer ${options.auth}` } : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  }

  it('serves answers that validate against the response schemas, for every operation it serves', async () => {
    fake.setPullRequest(REPO, 1, {
      headSha: HEAD,
      labels: ['bug', 'needs review'],
      draft: true,
      merged: false,
    });
    fake.setPullRequest(REPO, 2, { state: 'closed', merged: true });
    fake.setPullRequestFiles(REPO, 1, [
      { filename: 'src/a.ts', status: 'added', additions: 10 },
      { filename: 'README.md', status: 'removed', deletions: 3 },
      { filename: 'docs/x.md', status: 'renamed' },
    ]);
    fake.setCheckRuns(REPO, 55, [
      { name: 'build', conclusion: 'failure' },
      { name: 'lint', status: 'in_progress', conclusion: null, detailsUrl: null, htmlUrl: null },
    ]);
    fake.setCommit(REPO, HEAD, { authorLogin: 'dependabot[bot]', authorType: 'Bot' });
    fake.setPullRequestsForCommit(REPO, HEAD, [1, 2]);
    fake.setCheckRunDetails(REPO, 901, {
      title: 'Tests failed',
      summary: '2 failures',
      annotations: [
        { path: 'src/a.ts', start_line: 3, annotation_level: 'failure', message: 'boom' },
        { path: 'src/b.ts', message: 'no line' },
      ],
    });
    fake.setCheckRunDetails(REPO, 902, {});
    const jwt = createGithubAppJwt(APP_ID, privateKey, Date.now());
    const hooks = ['app', `repos/${REPO}/hooks/9`, 'orgs/octo-org/hooks/3'];
    const logged = hooks.map((hook) =>
      fake.deliveries.add(hook, {
        guid: randomUUID(),
        event: 'pull_request',
        action: 'opened',
        installationId: 12,
        repositoryId: 34,
      }),
    );
    fake.deliveries.add('app', { guid: randomUUID(), event: 'ping', statusCode: 200 });

    const answers: Array<{ method: string; path: string; status: number; body: unknown }> = [];
    const send = async (
      method: string,
      path: string,
      options?: { body?: unknown; auth?: string },
    ) => {
      const answer = await call(method, path, options);
      answers.push({ method, path, ...answer });
      return answer;
    };
    await send('GET', `/repos/${REPO}/pulls/1`);
    await send('GET', `/repos/${REPO}/pulls/2`);
    await send('GET', `/repos/${REPO}/pulls/404`);
    await send('GET', `/repos/${REPO}/pulls/1/files?per_page=2&page=1`);
    await send('GET', `/repos/${REPO}/pulls/1/files?per_page=2&page=2`);
    await send('GET', `/repos/${REPO}/check-suites/55/check-runs?per_page=100&page=1`);
    await send('GET', `/repos/${REPO}/commits/${HEAD}`);
    await send('GET', `/repos/${REPO}/commits/${HEAD}/pulls?per_page=100&page=1`);
    await send('GET', `/repos/${REPO}/check-runs/901`);
    await send('GET', `/repos/${REPO}/check-runs/902`);
    await send('GET', `/repos/${REPO}/check-runs/901/annotations?per_page=100&page=1`);
    await send('GET', `/repos/${REPO}/check-runs/903`);
    const created = await send('POST', `/repos/${REPO}/issues/1/comments`, {
      body: { body: 'Agent run started' },
    });
    const commentId = (created.body as { id: number }).id;
    await send('PATCH', `/repos/${REPO}/issues/comments/${commentId}`, {
      body: { body: 'Agent run finished' },
    });
    await send('PATCH', `/repos/${REPO}/issues/comments/999999`, { body: { body: 'x' } });
    const token = await send('POST', '/app/installations/12/access_tokens', { auth: jwt });
    fake.app?.missingInstallations.add(13);
    await send('POST', '/app/installations/13/access_tokens', { auth: jwt });
    const installationToken = (token.body as { token: string }).token;
    for (const [i, hook] of hooks.entries()) {
      const auth = hook === 'app' ? jwt : installationToken;
      const root = hook === 'app' ? '/app/hook' : `/${hook}`;
      await send('GET', `${root}/deliveries?per_page=1`, { auth });
      await send('GET', `${root}/deliveries?per_page=100&cursor=v1_9999999999`, { auth });
      await send('POST', `${root}/deliveries/${logged[i].id}/attempts`, { auth });
    }
    await fake.deliveries.settled();

    // Each answer checked here too, so the test says which one broke the contract.
    const problems = answers.flatMap(({ method, path, status, body }) => {
      const operation = openapi.find(method, new URL(path, fake.url).pathname);
      if (!operation) return [`${method} ${path}: no operation`];
      return openapi.checkResponse(method, operation.template, status, body);
    });
    expect(problems).toEqual([]);
    expect(fake.violations()).toEqual([]);
    expect(answers.map((a) => a.status)).toEqual(expect.arrayContaining([200, 201, 202, 404]));
    // Every operation the fake serves was answered at least once with success.
    const served = new Set(
      answers
        .filter((a) => a.status < 300)
        .map((a) => {
          const op = openapi.find(a.method, new URL(a.path, fake.url).pathname);
          return `${op?.method} ${op?.template}`;
        }),
    );
    expect([...SERVED].map(([m, t]) => `${m} ${t}`).filter((op) => !served.has(op))).toEqual([]);
  });

  it('starts from GitHub’s own examples: fields the client does not read are still there', async () => {
    fake.setPullRequest(REPO, 1);

    const { body } = await call('GET', `/repos/${REPO}/pulls/1`);

    const example = openapi.example('GET', '/repos/{owner}/{repo}/pulls/{pull_number}', 200);
    expect(Object.keys(body as object).sort()).toEqual(Object.keys(example as object).sort());
  });

  it('catches requests the description refuses, naming what is wrong', async () => {
    await fetch(`${fake.url}/repos/${REPO}/pulls/1/files?per_page=500&page=1&sort=asc`);
    await call('GET', `/repos/${REPO}/pulls/first`);
    await call('POST', `/repos/${REPO}/issues/1/comments`, { body: { text: 'no body field' } });
    await call('POST', `/repos/${REPO}/pulls/1/comments/extra/segments`);

    const problems = fake.takeViolations();

    const expected = [
      'Accept is */*',
      'X-GitHub-Api-Version is not 2022-11-28',
      'per_page 500 is over 100',
      'must NOT have additional properties {"additionalProperty":"sort"}',
      '/pull_number must be integer',
      "must have required property 'body'",
      'no operation POST',
    ];
    for (const text of expected) {
      expect(problems).toEqual(expect.arrayContaining([expect.stringContaining(text)]));
    }
  });

  it('fails the test that broke the contract (the harness checks after each test)', () => {
    // What test/support/github-contract.ts runs after each test, shown on a request of its own.
    return call('GET', `/repos/${REPO}/pulls/1?per_page=1000`).then(() => {
      const problems = GithubFake.takeAllViolations();
      expect(problems).toEqual(
        expect.arrayContaining([expect.stringContaining('query parameters')]),
      );
    });
  });
});
