import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sign } from 'jsonwebtoken';
import { AuditTrail } from '@app/platform';
import { issueAccessToken, mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import {
  closeDb,
  db,
  RunningOrchestrator,
  startOrchestrator,
  testEnv,
  truncateAll,
} from './support/harness';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_tokens`;
const SECRET_KEY = testEnv().SECRET_KEY as string;
const AUDIENCE = 'orchestrator-test-a';
const ROOMY = { API_RATE_LIMIT_BURST: '100000', API_RATE_LIMIT_PER_MINUTE: '1000000' };
const run = promisify(execFile);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- bodies are asserted field by field

async function call(
  base: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

describe('API tokens: ids, revocation on every replica, audience, lifetime cap', () => {
  let a: RunningOrchestrator;
  let b: RunningOrchestrator;
  const settings = {
    ...ROOMY,
    QUEUE_PREFIX: PREFIX,
    TOKEN_AUDIENCE: AUDIENCE,
    TOKEN_MAX_TTL: '7d',
  };

  beforeAll(async () => {
    // Two replicas of one deployment: same database, same settings.
    a = await startOrchestrator(settings);
    b = await startOrchestrator(settings);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await closeDb();
  });
  // Records a test left unwritten would otherwise land in the next test's table.
  afterEach(() => Promise.all([a.app.get(AuditTrail).flush(), b.app.get(AuditTrail).flush()]));
  beforeEach(truncateAll);

  const operator = (ttl = 600): ReturnType<typeof issueAccessToken> =>
    issueAccessToken(SECRET_KEY, { sub: 'otto', role: Role.Operator }, ttl, AUDIENCE);

  it('a revoked token is refused at once by every replica, other tokens are not', async () => {
    const admin = operator();
    const victim = issueAccessToken(SECRET_KEY, { sub: 'vera', role: Role.Viewer }, 600, AUDIENCE);
    expect((await call(a.url, 'GET', '/api/v1/tasks', victim.token)).status).toBe(200);
    expect((await call(b.url, 'GET', '/api/v1/tasks', victim.token)).status).toBe(200);

    const revoked = await call(a.url, 'POST', '/api/v1/admin/tokens/revoke', admin.token, {
      token_id: victim.id,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({
      token_id: victim.id,
      revoked: true,
      revoked_at: expect.any(String),
      kept_until: expect.any(String),
    });
    // Kept for TOKEN_MAX_TTL (7 days here), the longest any token with that id can live.
    const keptFor = Date.parse(revoked.body.kept_until) - Date.parse(revoked.body.revoked_at);
    expect(Math.abs(keptFor - 7 * 86_400_000)).toBeLessThan(5_000);

    for (const replica of [b, a]) {
      const refused = await call(replica.url, 'GET', '/api/v1/tasks', victim.token);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ status_code: 401, error: 'token revoked' });
    }
    expect((await call(b.url, 'GET', '/api/v1/tasks', admin.token)).status).toBe(200);
    // Revoking again is harmless and keeps the first record.
    const again = await call(b.url, 'POST', '/api/v1/admin/tokens/revoke', admin.token, {
      token_id: victim.id.toUpperCase(),
    });
    expect(again.status).toBe(200);
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);

    await a.app.get(AuditTrail).flush();
    await b.app.get(AuditTrail).flush();
    const { rows } = await db().query(
      `SELECT type, outcome, actor, target, reason FROM audit_log ORDER BY id`,
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        {
          type: 'admin.token_revoke',
          outcome: 'succeeded',
          actor: 'otto',
          target: `token:${victim.id}`,
          reason: null,
        },
        {
          type: 'api.auth_failure',
          outcome: 'denied',
          actor: 'vera',
          target: 'GET /api/v1/tasks',
          reason: 'revoked',
        },
      ]),
    );
  });

  it('an operator can revoke the token it is using; its next request is refused', async () => {
    const self = operator();
    expect(
      (await call(a.url, 'POST', '/api/v1/admin/tokens/revoke', self.token, { token_id: self.id }))
        .status,
    ).toBe(200);
    expect((await call(b.url, 'GET', '/api/v1/webhooks/events', self.token)).status).toBe(401);
  });

  it('only an operator may revoke, and only a token id', async () => {
    const viewer = issueAccessToken(SECRET_KEY, { sub: 'vera', role: Role.Viewer }, 600, AUDIENCE);
    const admin = operator();
    expect(
      (
        await call(a.url, 'POST', '/api/v1/admin/tokens/revoke', viewer.token, {
          token_id: admin.id,
        })
      ).status,
    ).toBe(403);
    expect(
      (await call(a.url, 'POST', '/api/v1/admin/tokens/revoke', null, { token_id: admin.id }))
        .status,
    ).toBe(401);
    for (const body of [
      {},
      { token_id: 'abc' },
      { token_id: admin.id, extra: 1 },
      { token_id: 7 },
    ]) {
      const res = await call(a.url, 'POST', '/api/v1/admin/tokens/revoke', admin.token, body);
      expect(res.status).toBe(400);
      expect(res.body.status_code).toBe(400);
    }
    const { rows } = await db().query('SELECT count(*)::int AS n FROM revoked_tokens');
    expect(rows[0].n).toBe(0);
    expect((await call(a.url, 'GET', '/api/v1/tasks', admin.token)).status).toBe(200);
  });

  it("refuses another deployment's tokens, tokens without an id, and lifetimes over TOKEN_MAX_TTL", async () => {
    const base = {
      algorithm: 'HS256' as const,
      issuer: 'webhook-orchestrator',
      subject: 'mallory',
    };
    const hostile = {
      'default audience': mintAccessToken(SECRET_KEY, { sub: 'x', role: Role.Operator }, 600),
      'other deployment': mintAccessToken(
        SECRET_KEY,
        { sub: 'x', role: Role.Operator },
        600,
        'orchestrator-test-b',
      ),
      'no jti': sign({ role: 'operator' }, SECRET_KEY, {
        ...base,
        audience: AUDIENCE,
        expiresIn: 600,
      }),
      'ttl 8 days': mintAccessToken(
        SECRET_KEY,
        { sub: 'x', role: Role.Operator },
        8 * 86_400,
        AUDIENCE,
      ),
    };
    for (const [what, token] of Object.entries(hostile)) {
      const res = await call(a.url, 'GET', '/api/v1/tasks', token);
      expect({ what, status: res.status }).toEqual({ what, status: 401 });
    }
    await a.app.get(AuditTrail).flush();
    const { rows } = await db().query(
      `SELECT reason, sum(count)::int AS n FROM audit_log WHERE type = 'api.auth_failure'
       GROUP BY reason ORDER BY reason`,
    );
    expect(rows).toEqual([
      { reason: 'invalid_claims', n: 1 },
      { reason: 'ttl_over_cap', n: 1 },
      { reason: 'wrong_audience', n: 2 },
    ]);
  });

  it('the token command prints the token alone on stdout, its id and expiry on stderr, and keeps to the cap', async () => {
    const cli = join(
      __dirname,
      '..',
      'dist',
      'apps',
      'orchestrator',
      'src',
      'auth',
      'mint-token.cli.js',
    );
    const env = {
      PATH: process.env.PATH,
      SECRET_KEY,
      TOKEN_AUDIENCE: AUDIENCE,
      TOKEN_MAX_TTL: '7d',
    };
    const minted = await run(
      process.execPath,
      [cli, '--role', 'operator', '--ttl', '2h', '--sub', 'cli'],
      {
        env,
        cwd: __dirname,
      },
    );
    const token = minted.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const id = /token id ([0-9a-f-]{36})/.exec(minted.stderr)?.[1];
    const expires = /expires (\S+Z)/.exec(minted.stderr)?.[1];
    expect(id).toBeDefined();
    expect(Math.abs(Date.parse(expires as string) - Date.now() - 2 * 3_600_000)).toBeLessThan(
      10_000,
    );
    expect((await call(a.url, 'GET', '/api/v1/tasks', token)).status).toBe(200);
    await call(a.url, 'POST', '/api/v1/admin/tokens/revoke', token, { token_id: id });
    expect((await call(b.url, 'GET', '/api/v1/tasks', token)).status).toBe(401);

    const tooLong = await run(process.execPath, [cli, '--role', 'viewer', '--ttl', '8d'], {
      env,
      cwd: __dirname,
    }).catch((error: { code: number; stderr: string; stdout: string }) => error);
    expect(tooLong).toMatchObject({ code: 2, stdout: '' });
    expect((tooLong as { stderr: string }).stderr).toMatch(/TOKEN_MAX_TTL/);
  });

  it('answers 503, not a pass, when the revocation list cannot be read', async () => {
    const token = operator().token;
    await db().query(`ALTER TABLE revoked_tokens RENAME TO revoked_tokens_away`);
    try {
      const res = await call(a.url, 'GET', '/api/v1/tasks', token);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status_code: 503 });
    } finally {
      await db().query(`ALTER TABLE revoked_tokens_away RENAME TO revoked_tokens`);
    }
    expect((await call(a.url, 'GET', '/api/v1/tasks', token)).status).toBe(200);
  });
});
