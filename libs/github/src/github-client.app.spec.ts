import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { ExternalServiceError } from '@app/platform';
import type { ServiceRequestEvent } from '@app/platform';
import { GithubFake } from '../../../test/fakes';
import { rejection } from '../../../test/support/rejection';
import { GithubClient } from './github-client';
import type { GithubClientOptions } from './github.types';
import type { DeliveryHook } from './hook-deliveries';
import { GithubRateLimitError } from './rate-limit-holds';

const REPO = 'octo-org/hello.world';
const PAT = 'ghp_personal_access_token_0123456789';
const APP_ID = '424242';
// Generated per run: no private key is ever committed.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PEM_LINES = PEM.split('\n').filter((line) => line && !line.startsWith('-----'));
const APP_HOOK: DeliveryHook = { kind: 'app' };

describe('GithubClient as a GitHub App', () => {
  let fake: GithubFake;

  beforeAll(async () => {
    fake = await GithubFake.start({ token: PAT, app: { appId: APP_ID, publicKey } });
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  const client = (options: Partial<GithubClientOptions> = {}) =>
    new GithubClient({
      apiUrl: fake.url,
      token: PAT,
      app: { appId: APP_ID, privateKey: PEM },
      timeoutMs: 2_000,
      retryBaseMs: 1,
      ...options,
    });
  const authorizations = (path: string) =>
    fake.requests.filter((r) => r.path.startsWith(path)).map((r) => r.headers.authorization);

  describe('installation tokens', () => {
    it('calls as the installation with a token fetched once with a valid App JWT', async () => {
      fake.setPullRequest(REPO, 7);
      const github = client();

      const view = github.forInstallation(101);
      await view.getPullRequest(REPO, 7);
      await view.getPullRequest(REPO, 7);

      expect(fake.app?.tokenRequests).toEqual([{ installationId: 101, status: 201 }]);
      const token = fake.app?.issuedTokens[0];
      expect(authorizations(`/repos/${REPO}`)).toEqual([`Bearer ${token}`, `Bearer ${token}`]);
      expect(view.installationId).toBe(101);
      expect(github.installationId).toBeNull();
      expect(github.appConfigured).toBe(true);
    });

    it('shares one token request among concurrent calls for an installation', async () => {
      fake.setPullRequest(REPO, 7);
      fake.setLatency(50);
      const github = client();

      await Promise.all(
        [1, 2, 3, 4, 5].map(() => github.forInstallation(101).getPullRequest(REPO, 7)),
      );

      expect(fake.app?.tokenRequests).toHaveLength(1);
    });

    it('keeps tokens per installation, and falls back to GITHUB_TOKEN without an installation', async () => {
      fake.setPullRequest(REPO, 7);
      const github = client();

      await github.forInstallation(101).getPullRequest(REPO, 7);
      await github.forInstallation(202).getPullRequest(REPO, 7);
      await github.forInstallation(null).getPullRequest(REPO, 7);
      await github.getPullRequest(REPO, 7);

      expect(fake.app?.tokenRequests.map((r) => r.installationId)).toEqual([101, 202]);
      const [t101, t202] = fake.app?.issuedTokens ?? [];
      expect(authorizations(`/repos/${REPO}`)).toEqual([
        `Bearer ${t101}`,
        `Bearer ${t202}`,
        `Bearer ${PAT}`,
        `Bearer ${PAT}`,
      ]);
    });

    it('replaces a token 5 minutes before it expires', async () => {
      fake.setPullRequest(REPO, 7);
      let clock = Date.now();
      const github = client({ now: () => clock });
      const view = github.forInstallation(101);

      await view.getPullRequest(REPO, 7);
      clock += 54 * 60_000;
      await view.getPullRequest(REPO, 7);
      expect(fake.app?.tokenRequests).toHaveLength(1);
      clock += 60_000 + 1_000;
      await view.getPullRequest(REPO, 7);

      expect(fake.app?.tokenRequests).toHaveLength(2);
      const issued = fake.app?.issuedTokens ?? [];
      expect(authorizations(`/repos/${REPO}`).at(-1)).toBe(`Bearer ${issued[1]}`);
    });

    it('drops a token GitHub refuses, so the next call gets a new one', async () => {
      fake.setPullRequest(REPO, 7);
      const view = client().forInstallation(101);
      await view.getPullRequest(REPO, 7);
      fake.app?.revoke(fake.app.issuedTokens[0]);

      const refused = await rejection(view.getPullRequest(REPO, 7));
      expect(refused).toMatchObject({ status: 401, transient: false });
      await view.getPullRequest(REPO, 7);

      expect(fake.app?.tokenRequests).toHaveLength(2);
    });

    it('fails permanently, naming the installation, when it no longer exists', async () => {
      fake.setPullRequest(REPO, 7);
      fake.app?.missingInstallations.add(303);

      const error = await rejection(client().forInstallation(303).getPullRequest(REPO, 7));

      expect(error.transient).toBe(false);
      expect(error.status).toBe(404);
      expect(error.message).toContain('installation 303');
      expect(fake.requests.some((r) => r.path.startsWith('/repos/'))).toBe(false);
    });

    it('waits out a secondary limit on a token request instead of saying no token will come', async () => {
      fake.setPullRequest(REPO, 7);
      fake.failNext(1, {
        status: 403,
        body: {
          message:
            'You have exceeded a secondary rate limit and have been temporarily blocked from content creation.',
        },
      });
      const clock = { now: Date.now() };
      const github = client({ now: () => clock.now });

      const error = await rejection(github.forInstallation(101).getPullRequest(REPO, 7));

      expect(error).toBeInstanceOf(GithubRateLimitError);
      expect(error).toMatchObject({ transient: true, status: 403, retryAfterMs: 60_000 });
      expect(error.message).not.toContain('no access token');
      expect(github.rateLimitHold('app')).toMatchObject({ identity: 'app', kind: 'secondary' });
      // The installation has no token yet, so it waits for the App; nothing more is sent.
      expect(github.budgetWaitMs(101)).toBe(60_000);
      await expect(github.forInstallation(101).getPullRequest(REPO, 7)).rejects.toBeInstanceOf(
        GithubRateLimitError,
      );
      expect(fake.app?.tokenRequests).toHaveLength(0);
      expect(fake.requests).toHaveLength(1);

      clock.now += 60_000;
      await expect(github.forInstallation(101).getPullRequest(REPO, 7)).resolves.toMatchObject({
        number: 7,
      });
      expect(fake.app?.tokenRequests).toEqual([{ installationId: 101, status: 201 }]);
    });

    it('holds only the installation that was limited', async () => {
      fake.setPullRequest(REPO, 7);
      const github = client();
      await github.forInstallation(101).getPullRequest(REPO, 7);
      await github.forInstallation(102).getPullRequest(REPO, 7);
      fake.failNext(1, {
        status: 429,
        body: { message: 'You have exceeded a secondary rate limit.' },
      });

      await rejection(github.forInstallation(101).getPullRequest(REPO, 7));

      expect(github.rateLimitHolds().map((h) => h.identity)).toEqual(['installation:101']);
      expect(github.budgetWaitMs(101)).toBeGreaterThan(0);
      expect(github.budgetWaitMs(102)).toBe(0);
      await expect(github.forInstallation(102).getPullRequest(REPO, 7)).resolves.toMatchObject({
        number: 7,
      });
      await expect(github.getPullRequest(REPO, 7)).resolves.toMatchObject({ number: 7 });
    });

    it('retries a token request GitHub answered with a 5xx, like any call', async () => {
      fake.setPullRequest(REPO, 7);
      fake.failNext(1, { status: 502 });

      await client().forInstallation(101).getPullRequest(REPO, 7);

      expect(fake.app?.tokenRequests).toHaveLength(1);
    });

    it('uses the GHES API root for token requests too', async () => {
      fake.setPullRequest(REPO, 7);

      await client({ apiUrl: `${fake.url}/api/v3` })
        .forInstallation(101)
        .getPullRequest(REPO, 7);

      expect(fake.requests.map((r) => r.path)).toEqual([
        '/api/v3/app/installations/101/access_tokens',
        `/api/v3/repos/${REPO}/pulls/7`,
      ]);
    });

    it('is the PAT client itself when no App is configured', async () => {
      fake.setPullRequest(REPO, 7);
      const github = client({ app: undefined });

      const view = github.forInstallation(101);
      await view.getPullRequest(REPO, 7);

      expect(view).toBe(github);
      expect(github.appConfigured).toBe(false);
      expect(authorizations(`/repos/${REPO}`)).toEqual([`Bearer ${PAT}`]);
      expect(fake.app?.tokenRequests).toEqual([]);
    });

    it('refuses an installation id that is not a positive integer', () => {
      expect(() => client().forInstallation(-1)).toThrow(ExternalServiceError);
    });
  });

  describe('rate-limit budget', () => {
    it('tracks x-ratelimit-remaining / reset per installation', async () => {
      fake.setPullRequest(REPO, 7);
      fake.app?.setRateLimitRemaining(101, 50);
      fake.app?.setRateLimitRemaining(202, 4000);
      fake.rateLimitRemaining = 3001;
      const github = client();

      await github.forInstallation(101).getPullRequest(REPO, 7);
      await github.forInstallation(202).getPullRequest(REPO, 7);
      await github.getPullRequest(REPO, 7);

      expect(github.rateLimitBudget(101)).toMatchObject({
        identity: 'installation:101',
        installationId: 101,
        remaining: 50,
        limit: 5000,
      });
      expect(github.rateLimitBudget(202)?.remaining).toBe(4000);
      expect(github.rateLimitBudget(null)).toMatchObject({ identity: 'token', remaining: 3000 });
      expect(github.forInstallation(101).rateLimitBudget()?.remaining).toBe(50);
      expect(
        github
          .rateLimitBudgets()
          .map((b) => b.identity)
          .sort(),
      ).toEqual(['app', 'installation:101', 'installation:202', 'token']);
    });

    it('tells background work to wait until the reset when the budget is under the reserve', async () => {
      fake.setPullRequest(REPO, 7);
      fake.app?.setRateLimitRemaining(101, 99);
      fake.app?.setRateLimitRemaining(202, 100);
      const github = client();

      await github.forInstallation(101).getPullRequest(REPO, 7);
      await github.forInstallation(202).getPullRequest(REPO, 7);

      const wait = github.budgetWaitMs(101);
      expect(wait).toBeGreaterThan(3_500_000);
      expect(wait).toBeLessThanOrEqual(3_600_000);
      expect(github.budgetWaitMs(202)).toBe(0);
      expect(github.budgetWaitMs(101, 10)).toBe(0);
      expect(client({ rateLimitReserve: 10 }).budgetWaitMs(101)).toBe(0);
      expect(github.budgetWaitMs(999)).toBe(0);
    });
  });

  describe('webhook deliveries', () => {
    it('pages through the App hook log with the App JWT, following the Link cursor', async () => {
      for (let i = 0; i < 250; i++) fake.deliveries.add('app', { guid: `guid-${i}` });
      const github = client();

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await github.listHookDeliveries(APP_HOOK, cursor);
        seen.push(...page.deliveries.map((d) => d.guid));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null);

      expect(pages).toBe(3);
      expect(seen).toHaveLength(250);
      expect(seen[0]).toBe('guid-249');
      expect(new Set(seen).size).toBe(250);
      const listed = fake.requests.filter((r) => r.path.startsWith('/app/hook/deliveries'));
      expect(listed.every((r) => r.path.includes('per_page=100'))).toBe(true);
      expect(listed[1].path).toContain('cursor=');
      // The App JWT, not the PAT and not an installation token.
      expect(listed[0].headers.authorization).toBe(`Bearer ${fake.app?.acceptedJwts[0]}`);
    });

    it('maps a delivery attempt, and asks for a redelivery with a POST', async () => {
      const deliveredAt = Date.UTC(2025, 0, 1, 10, 0, 0);
      const logged = fake.deliveries.add('repos/o/r/hooks/9', {
        guid: 'abc-123',
        event: 'pull_request',
        action: 'opened',
        statusCode: 0,
        status: 'timed out',
        deliveredAt,
        installationId: 5,
        repositoryId: 77,
      });
      const hook: DeliveryHook = { kind: 'repository', repository: 'o/r', hookId: 9 };
      const github = client();

      const page = await github.listHookDeliveries(hook);
      await github.redeliverHookDelivery(hook, logged.id);

      expect(page).toEqual({
        deliveries: [
          {
            id: logged.id,
            guid: 'abc-123',
            deliveredAtMs: deliveredAt,
            redelivery: false,
            statusCode: 0,
            status: 'timed out',
            event: 'pull_request',
            action: 'opened',
            installationId: 5,
            repositoryId: 77,
          },
        ],
        nextCursor: null,
      });
      expect(fake.deliveries.redeliveryRequests).toEqual([
        { hook: 'repos/o/r/hooks/9', deliveryId: logged.id, guid: 'abc-123' },
      ]);
      expect(authorizations('/repos/o/r/hooks/9')).toEqual([`Bearer ${PAT}`, `Bearer ${PAT}`]);
    });

    it('reads an organisation hook too', async () => {
      fake.deliveries.add('orgs/octo-org/hooks/3', { guid: 'g1' });
      const page = await client().listHookDeliveries({
        kind: 'organization',
        organization: 'octo-org',
        hookId: 3,
      });
      expect(page.deliveries.map((d) => d.guid)).toEqual(['g1']);
    });

    it('refuses the App hook without an App, and hook references that could change the path', async () => {
      const noApp = await rejection(client({ app: undefined }).listHookDeliveries(APP_HOOK));
      expect(noApp.message).toContain('GITHUB_APP_ID');
      const bad = await rejection(
        client().listHookDeliveries({ kind: 'repository', repository: '../x', hookId: 1 }),
      );
      expect(bad.transient).toBe(false);
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe('secrets', () => {
    it('never shows the private key, a JWT or a token in errors, request events or a dump of the client', async () => {
      fake.setPullRequest(REPO, 7);
      fake.app?.missingInstallations.add(303);
      const github = client();
      const events: ServiceRequestEvent[] = [];
      github.onRequest((event) => events.push(event));

      const view = github.forInstallation(101);
      await view.getPullRequest(REPO, 7);
      fake.app?.revoke(fake.app.issuedTokens[0]);
      const errors = [
        await rejection(view.getPullRequest(REPO, 7)),
        await rejection(github.forInstallation(303).getPullRequest(REPO, 7)),
        await rejection(
          client({ app: { appId: '1', privateKey: PEM } }).listHookDeliveries(APP_HOOK),
        ),
      ];

      const secrets = [
        ...PEM_LINES.slice(1, 4),
        ...(fake.app?.issuedTokens ?? []),
        ...(fake.app?.acceptedJwts ?? []),
        PAT,
      ];
      expect(secrets.length).toBeGreaterThan(5);
      const texts = [
        ...errors.map((e) => `${e.message} ${e.stack ?? ''}`),
        JSON.stringify(events),
        inspect(github, { depth: 10 }),
        inspect(view, { depth: 10 }),
        JSON.stringify(github),
      ];
      for (const text of texts) {
        for (const secret of secrets) expect(text).not.toContain(secret);
      }
    });
  });
});
