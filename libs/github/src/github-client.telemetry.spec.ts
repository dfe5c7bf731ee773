import type { ServiceRequestEvent } from '@app/platform';
import { GithubFake } from '../../../test/fakes';
import { GithubClient } from './github-client';

const REPO = 'octo-org/hello.world';

describe('GithubClient request events (metrics and health read these)', () => {
  let fake: GithubFake;
  let client: GithubClient;
  let events: ServiceRequestEvent[];

  beforeAll(async () => {
    fake = await GithubFake.start();
  });
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.reset();
    client = new GithubClient({
      apiUrl: fake.url,
      token: 'ghp_test',
      // Far above the fake's injected latency, so a loaded machine cannot turn a slow answer
      // into a timeout; the timeout case builds its own client.
      timeoutMs: 5000,
      retryBaseMs: 1,
      retries: 2,
    });
    events = [];
    client.onRequest((event) => events.push(event));
  });

  it('reports every request with its operation, status class and rate-limit budget', async () => {
    fake.setPullRequestFiles(REPO, 7, [{ filename: 'a.ts' }]);
    fake.rateLimitRemaining = 4321;
    // The fake answers after 40 ms: the reported duration has to include that wait.
    fake.setLatency(40);

    await client.listPullRequestFiles(REPO, 7);

    expect(events).toEqual([
      expect.objectContaining({
        service: 'github',
        operation: 'list_pull_request_files',
        status: '2xx',
        httpStatus: 200,
        // The fake spends one request of its budget on this answer.
        rateLimit: { remaining: 4320, resource: 'core' },
      }),
    ]);
    expect(events[0].durationSeconds).toBeGreaterThanOrEqual(0.035);
    expect(client.rateLimitRemaining).toBe(4320);
  });

  it('reports each in-call retry as its own request', async () => {
    fake.setPullRequest(REPO, 7);
    fake.failNext(2, { status: 502 });

    await client.getPullRequest(REPO, 7);

    expect(events.map((e) => [e.operation, e.status])).toEqual([
      ['get_pull_request', '5xx'],
      ['get_pull_request', '5xx'],
      ['get_pull_request', '2xx'],
    ]);
  });

  it('tells a spent budget (403 with no requests left) and 404 apart', async () => {
    await expect(client.getPullRequest(REPO, 404)).rejects.toMatchObject({ status: 404 });
    fake.failNext(1, { status: 403, headers: { 'x-ratelimit-remaining': '0' } });
    await expect(client.getPullRequest(REPO, 1)).rejects.toMatchObject({ transient: true });

    expect(events.map((e) => e.status)).toEqual(['4xx', 'rate_limited']);
    expect(events[1].rateLimit?.remaining).toBe(0);
  });

  it('reports a request that got no answer in time as a timeout', async () => {
    fake.setPullRequest(REPO, 7);
    fake.setLatency(1_000);
    const once = new GithubClient({ apiUrl: fake.url, timeoutMs: 100, retries: 0 });
    const seen: ServiceRequestEvent[] = [];
    once.onRequest((event) => seen.push(event));

    await expect(once.getPullRequest(REPO, 7)).rejects.toMatchObject({ transient: true });
    expect(seen.map((e) => e.status)).toEqual(['timeout']);
  });

  it('keeps working when a listener throws, and stops calling one that unsubscribed', async () => {
    fake.setPullRequest(REPO, 7);
    const unsubscribe = client.onRequest(() => {
      throw new Error('listener bug');
    });
    await expect(client.getPullRequest(REPO, 7)).resolves.toMatchObject({ number: 7 });
    unsubscribe();
    const before = events.length;
    const stop = client.onRequest(() => undefined);
    stop();
    await client.getPullRequest(REPO, 7);
    expect(events.length).toBe(before + 1);
  });
});
