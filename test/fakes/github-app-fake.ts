import { createPublicKey, KeyObject, verify } from 'node:crypto';
import { githubExample, githubListExample } from './github-openapi';

const DOCS_URL = 'https://docs.github.com/rest/webhooks';

/** An answer of the fake's App and hook-delivery routes. */
export interface FakeAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Options of the GitHub App side of the fake (see `GithubFakeOptions.app`). */
export interface GithubAppFakeOptions {
  /** Expected `iss` of App JWTs. */
  appId: string;
  /** Verifies App JWTs (RS256). */
  publicKey: KeyObject | string;
  /** Lifetime of issued installation tokens; default 3600 s, like GitHub. */
  tokenTtlSeconds?: number;
}

/** A delivery attempt in a fake hook log. */
export interface FakeHookDelivery {
  id: number;
  guid: string;
  event: string;
  action: string | null;
  deliveredAt: number;
  statusCode: number;
  status: string;
  redelivery: boolean;
  installationId: number | null;
  repositoryId: number | null;
}

/** What a test programs; omitted fields get plausible values (a failed 503 delivery, now). */
export type FakeHookDeliveryInput = Partial<Omit<FakeHookDelivery, 'id' | 'deliveredAt'>> & {
  guid: string;
  /** Default: now. */
  deliveredAt?: Date | number;
};

/** `app`, `repos/OWNER/REPO/hooks/ID` or `orgs/ORG/hooks/ID`. */
export type FakeHookKey = string;

const RATE_LIMIT = 5000;
const HOOK_PATH =
  /^\/(app\/hook|repos\/[^/]+\/[^/]+\/hooks\/\d+|orgs\/[^/]+\/hooks\/\d+)\/deliveries(?:\/(\d+)\/(attempts))?$/;

/**
 * Webhook delivery logs of the fake: one per hook (the App's, repository and organisation hooks),
 * newest first, paginated like GitHub (`per_page`, `cursor`, `Link: <...>; rel="next"`), and
 * `POST .../deliveries/{id}/attempts` recorded and acted on.
 */
export class HookDeliveriesFake {
  /** Every accepted redelivery request, in order. */
  readonly redeliveryRequests: Array<{ hook: FakeHookKey; deliveryId: number; guid: string }> = [];
  /**
   * Called for each accepted redelivery (after the 202), like GitHub sending it again; its result
   * is the HTTP status logged for the new attempt (default 200). Set it to deliver for real.
   */
  onRedeliver: ((delivery: FakeHookDelivery) => Promise<number | void> | number | void) | null =
    null;
  private readonly logs = new Map<FakeHookKey, FakeHookDelivery[]>();
  private readonly pending = new Set<Promise<void>>();
  private readonly refusals = new Map<number, { status: number; body: unknown }>();
  private nextId = 7_000_000_000;

  /** Logs one delivery attempt for `hook`; returns it (with its id). */
  add(hook: FakeHookKey, input: FakeHookDeliveryInput): FakeHookDelivery {
    const deliveredAt =
      input.deliveredAt instanceof Date
        ? input.deliveredAt.getTime()
        : (input.deliveredAt ?? Date.now());
    const statusCode = input.statusCode ?? 503;
    const delivery: FakeHookDelivery = {
      id: this.nextId++,
      guid: input.guid,
      event: input.event ?? 'push',
      action: input.action ?? null,
      deliveredAt,
      statusCode,
      status: input.status ?? (statusCode === 200 ? 'OK' : `Invalid HTTP Response: ${statusCode}`),
      redelivery: input.redelivery ?? false,
      installationId: input.installationId ?? null,
      repositoryId: input.repositoryId ?? null,
    };
    const log = this.logs.get(hook) ?? [];
    log.push(delivery);
    this.logs.set(hook, log);
    return delivery;
  }

  /** The log of `hook`, newest first. */
  list(hook: FakeHookKey): FakeHookDelivery[] {
    return [...(this.logs.get(hook) ?? [])].sort((a, b) => b.id - a.id);
  }

  /** Resolves once every redelivery started so far has been logged. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /**
   * The next redelivery request for `deliveryId` is answered with `status` (e.g. 502, 422) and
   * `body` (default `{ message: 'Injected redelivery failure', documentation_url }`).
   */
  refuseRedelivery(deliveryId: number, status: number, body?: unknown): void {
    this.refusals.set(deliveryId, {
      status,
      // GitHub's error bodies carry documentation_url (its 4xx schemas require it).
      body: body ?? { message: 'Injected redelivery failure', documentation_url: DOCS_URL },
    });
  }

  reset(): void {
    this.logs.clear();
    this.redeliveryRequests.length = 0;
    this.refusals.clear();
    this.onRedeliver = null;
  }

  /** Serves the delivery routes; null for any other path. */
  route(method: string, path: string, url: URL): FakeAnswer | null {
    const match = HOOK_PATH.exec(path);
    if (!match) return null;
    const hook = match[1] === 'app/hook' ? 'app' : match[1];
    if (match[3] === 'attempts') {
      if (method !== 'POST') return { status: 404, body: { message: 'Not Found' } };
      const delivery = this.list(hook).find((d) => d.id === Number(match[2]));
      if (!delivery) return { status: 404, body: { message: 'Not Found' } };
      const refusal = this.refusals.get(delivery.id);
      if (refusal !== undefined) {
        this.refusals.delete(delivery.id);
        return refusal;
      }
      this.redeliveryRequests.push({ hook, deliveryId: delivery.id, guid: delivery.guid });
      this.redeliver(hook, delivery);
      // The description's example of this 202 is `null`, which its own schema (an object)
      // refuses; GitHub sends an empty object.
      return { status: 202, body: {} };
    }
    if (method !== 'GET') return { status: 404, body: { message: 'Not Found' } };
    const perPage = Math.min(
      100,
      Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30),
    );
    const cursor = url.searchParams.get('cursor');
    let entries = this.list(hook);
    if (cursor !== null) {
      const below = /^v1_(\d+)$/.exec(cursor);
      if (!below) {
        return { status: 422, body: { message: 'Invalid cursor', documentation_url: DOCS_URL } };
      }
      entries = entries.filter((d) => d.id < Number(below[1]));
    }
    const page = entries.slice(0, perPage);
    const headers: Record<string, string> = {};
    if (entries.length > perPage) {
      const next = new URL(url.origin + url.pathname);
      next.searchParams.set('per_page', String(perPage));
      next.searchParams.set('cursor', `v1_${page[page.length - 1].id}`);
      headers.link = `<${next.href}>; rel="next"`;
    }
    return { status: 200, body: page.map(deliveryJson), headers };
  }

  private redeliver(hook: FakeHookKey, delivery: FakeHookDelivery): void {
    const work = (async () => {
      let status = 200;
      try {
        const result = await this.onRedeliver?.(delivery);
        if (typeof result === 'number') status = result;
      } catch {
        status = 0;
      }
      this.add(hook, {
        ...delivery,
        deliveredAt: Date.now(),
        redelivery: true,
        statusCode: status,
        status: status === 200 ? 'OK' : `Invalid HTTP Response: ${status}`,
      });
    })();
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }
}

/**
 * The GitHub App side of the fake: checks App JWTs (RS256 against the App's public key, `iss`,
 * `iat`, `exp` at most 10 minutes ahead), issues installation tokens, and keeps a rate-limit
 * budget per installation and for the App.
 */
export class GithubAppFake {
  /** Every `POST /app/installations/{id}/access_tokens`, in order. */
  readonly tokenRequests: Array<{ installationId: number; status: number }> = [];
  /** Installations that answer 404 (uninstalled). */
  readonly missingInstallations = new Set<number>();
  /** JWTs the fake accepted (to check a secret never leaks elsewhere). */
  readonly acceptedJwts: string[] = [];
  private readonly key: KeyObject;
  private readonly tokens = new Map<string, { installationId: number; expiresAt: number }>();
  private readonly budgets = new Map<string, number>();
  private issued = 0;

  constructor(private readonly options: GithubAppFakeOptions) {
    this.key =
      typeof options.publicKey === 'string'
        ? createPublicKey(options.publicKey)
        : options.publicKey;
  }

  /** Installation tokens issued so far, oldest first. */
  get issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  /** Makes an issued token invalid (GitHub answers 401 to it). */
  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** Sets the `x-ratelimit-remaining` the next answer for `who` reports (then counts down). */
  setRateLimitRemaining(who: number | 'app', remaining: number): void {
    this.budgets.set(who === 'app' ? 'app' : `installation:${who}`, remaining + 1);
  }

  reset(): void {
    this.tokenRequests.length = 0;
    this.missingInstallations.clear();
    this.acceptedJwts.length = 0;
    this.tokens.clear();
    this.budgets.clear();
  }

  /** `installation:<id>` for a live installation token, `app` for a valid JWT, else null. */
  identify(authorization: string | undefined): string | null {
    const credential = bearer(authorization);
    if (credential === null) return null;
    const token = this.tokens.get(credential);
    if (token && token.expiresAt > Date.now()) return `installation:${token.installationId}`;
    return this.checkJwt(credential) === null ? 'app' : null;
  }

  /** Spends one request of `identity`'s budget; undefined for identities it does not track. */
  spend(identity: string | null): number | undefined {
    if (identity === null) return undefined;
    const remaining = Math.max(0, (this.budgets.get(identity) ?? RATE_LIMIT) - 1);
    this.budgets.set(identity, remaining);
    return remaining;
  }

  /** Serves `/app/...` routes (JWT only); null for any other path. */
  route(
    method: string,
    path: string,
    authorization: string | undefined,
    deliveries: HookDeliveriesFake,
    url: URL,
  ): FakeAnswer | null {
    if (!path.startsWith('/app/')) return null;
    const credential = bearer(authorization);
    const problem = credential === null ? 'missing JWT' : this.checkJwt(credential);
    if (problem !== null) return { status: 401, body: { message: problem } };
    this.acceptedJwts.push(credential as string);
    const tokenMatch = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (tokenMatch && method === 'POST') {
      const installationId = Number(tokenMatch[1]);
      if (this.missingInstallations.has(installationId)) {
        this.tokenRequests.push({ installationId, status: 404 });
        return { status: 404, body: { message: 'Not Found' } };
      }
      this.tokenRequests.push({ installationId, status: 201 });
      const token = `ghs_fake${installationId}x${++this.issued}${'0'.repeat(12)}`;
      const expiresAt = Date.now() + (this.options.tokenTtlSeconds ?? 3600) * 1000;
      this.tokens.set(token, { installationId, expiresAt });
      const example = githubExample(
        'POST',
        '/app/installations/{installation_id}/access_tokens',
        201,
      );
      return {
        status: 201,
        body: {
          ...example,
          token,
          expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          permissions: { pull_requests: 'read', checks: 'read', contents: 'read' },
          repository_selection: 'all',
          repositories: undefined,
        },
      };
    }
    return deliveries.route(method, path, url) ?? { status: 404, body: { message: 'Not Found' } };
  }

  /** Null when `jwt` is a valid App JWT right now, else GitHub-like reason. */
  private checkJwt(jwt: string): string | null {
    const parts = jwt.split('.');
    if (parts.length !== 3) return 'A JSON web token could not be decoded';
    let header: { alg?: unknown };
    let claims: { iat?: unknown; exp?: unknown; iss?: unknown };
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return 'A JSON web token could not be decoded';
    }
    if (header.alg !== 'RS256') return 'A JSON web token could not be decoded';
    const signed = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      this.key,
      Buffer.from(parts[2], 'base64url'),
    );
    if (!signed) return 'A JSON web token could not be decoded';
    const now = Math.floor(Date.now() / 1000);
    if (String(claims.iss) !== this.options.appId)
      return "'Issuer' claim ('iss') must be an Integer";
    if (typeof claims.iat !== 'number' || claims.iat > now + 1)
      return "'Issued at' claim ('iat') must be an Integer representing a time in the past";
    if (typeof claims.exp !== 'number' || claims.exp <= now)
      return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
    if (claims.exp - now > 600) return "'Expiration time' claim ('exp') is too far in the future";
    return null;
  }
}

function bearer(authorization: string | undefined): string | null {
  const match = /^Bearer (\S+)$/.exec(authorization ?? '');
  return match ? match[1] : null;
}

function deliveryJson(d: FakeHookDelivery): Record<string, unknown> {
  return {
    ...githubListExample('GET', '/app/hook/deliveries', 200),
    id: d.id,
    guid: d.guid,
    delivered_at: new Date(d.deliveredAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    redelivery: d.redelivery,
    duration: 0.27,
    status: d.status,
    status_code: d.statusCode,
    event: d.event,
    action: d.action,
    installation_id: d.installationId,
    repository_id: d.repositoryId,
    throttled_at: null,
  };
}
