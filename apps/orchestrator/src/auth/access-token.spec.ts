import { createHmac } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import {
  DEFAULT_TOKEN_AUDIENCE,
  issueAccessToken,
  mintAccessToken,
  parseTtl,
  TokenPolicy,
  verifyAccessToken,
} from './access-token';
import { Role } from './role';

const SECRET = 's'.repeat(40);
const POLICY: TokenPolicy = {
  secret: SECRET,
  audience: DEFAULT_TOKEN_AUDIENCE,
  maxTtlSeconds: 30 * 86_400,
};
const JTI = '6f1c7a52-1f0e-4f65-9d7e-1b1a6c0e8a11';

function b64url(value: object | string): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString(
    'base64url',
  );
}

/** Signs with our secret and issuer, as a careless or hostile minting tool might. */
function handMade(payload: object, options: Record<string, unknown>): string {
  return sign(payload, SECRET, {
    algorithm: 'HS256',
    issuer: 'webhook-orchestrator',
    subject: 'a',
    ...options,
  });
}

describe('access tokens', () => {
  it('round-trips subject and role, with a fresh id per token and its expiry', () => {
    const issued = issueAccessToken(SECRET, { sub: 'alice', role: Role.Operator }, 60);
    expect(verifyAccessToken(POLICY, issued.token)).toEqual({
      sub: 'alice',
      role: Role.Operator,
      jti: issued.id,
      exp: issued.expiresAt.getTime() / 1000,
    });
    expect(issued.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(issued.expiresAt.getTime() - Date.now()).toBeGreaterThan(55_000);
    expect(issued.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(60_000);
    const other = issueAccessToken(SECRET, { sub: 'alice', role: Role.Operator }, 60);
    expect(other.id).not.toBe(issued.id);
  });

  it('refuses a token signed with another secret', () => {
    const token = mintAccessToken(
      'other-secret-other-secret-other-secret',
      { sub: 'a', role: Role.Viewer },
      60,
    );
    expect(verifyAccessToken(POLICY, token)).toBeNull();
  });

  it('refuses an expired token', () => {
    const token = handMade(
      { role: 'viewer', jti: JTI },
      { audience: POLICY.audience, expiresIn: -10 },
    );
    expect(verifyAccessToken(POLICY, token)).toBeNull();
  });

  it('refuses alg=none and a token whose payload was edited', () => {
    const header = b64url({ alg: 'none', typ: 'JWT' });
    const payload = b64url({
      sub: 'a',
      role: 'operator',
      iss: 'webhook-orchestrator',
      aud: POLICY.audience,
      jti: JTI,
      iat: Math.floor(Date.now() / 1000),
      exp: Date.now() / 1000 + 60,
    });
    expect(verifyAccessToken(POLICY, `${header}.${payload}.`)).toBeNull();
    const good = mintAccessToken(SECRET, { sub: 'a', role: Role.Viewer }, 60).split('.');
    const promoted = b64url({
      ...JSON.parse(Buffer.from(good[1], 'base64url').toString()),
      role: 'operator',
    });
    expect(verifyAccessToken(POLICY, `${good[0]}.${promoted}.${good[2]}`)).toBeNull();
  });

  it('refuses an unknown role, a missing subject, a foreign issuer or no expiry', () => {
    const base = { audience: POLICY.audience, expiresIn: 60, jwtid: JTI };
    expect(verifyAccessToken(POLICY, handMade({ role: 'admin' }, base))).toBeNull();
    expect(
      verifyAccessToken(
        POLICY,
        sign({ role: 'viewer' }, SECRET, {
          ...base,
          algorithm: 'HS256',
          issuer: 'webhook-orchestrator',
        }),
      ),
    ).toBeNull();
    expect(
      verifyAccessToken(POLICY, handMade({ role: 'viewer' }, { ...base, issuer: 'x' })),
    ).toBeNull();
    const noExp = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'a', role: 'viewer', iss: 'webhook-orchestrator', aud: POLICY.audience, jti: JTI, iat: 1 })}`;
    const sig = createHmac('sha256', SECRET).update(noExp).digest('base64url');
    expect(verifyAccessToken(POLICY, `${noExp}.${sig}`)).toBeNull();
  });

  it('refuses a genuine token without an id, or with one that is not ours', () => {
    expect(
      verifyAccessToken(
        POLICY,
        handMade({ role: 'operator' }, { audience: POLICY.audience, expiresIn: 60 }),
      ),
    ).toBeNull();
    for (const jwtid of ['', 'x', `${JTI}x`, '../../etc']) {
      expect(
        verifyAccessToken(
          POLICY,
          handMade({ role: 'operator' }, { audience: POLICY.audience, expiresIn: 60, jwtid }),
        ),
      ).toBeNull();
    }
  });

  it("refuses another deployment's audience, no audience, and a list of audiences", () => {
    const elsewhere = mintAccessToken(
      SECRET,
      { sub: 'a', role: Role.Operator },
      60,
      'orchestrator-staging',
    );
    expect(verifyAccessToken(POLICY, elsewhere)).toBeNull();
    expect(
      verifyAccessToken({ ...POLICY, audience: 'orchestrator-staging' }, elsewhere),
    ).toMatchObject({ sub: 'a' });
    expect(
      verifyAccessToken(POLICY, handMade({ role: 'operator' }, { expiresIn: 60, jwtid: JTI })),
    ).toBeNull();
    expect(
      verifyAccessToken(
        POLICY,
        handMade(
          { role: 'operator' },
          { audience: [POLICY.audience, 'x'], expiresIn: 60, jwtid: JTI },
        ),
      ),
    ).toBeNull();
  });

  it('refuses a genuine token that lives longer than TOKEN_MAX_TTL, or has no issue time', () => {
    const yearLong = mintAccessToken(SECRET, { sub: 'a', role: Role.Operator }, 366 * 86_400);
    expect(verifyAccessToken(POLICY, yearLong)).toBeNull();
    const atCap = mintAccessToken(SECRET, { sub: 'a', role: Role.Operator }, POLICY.maxTtlSeconds);
    expect(verifyAccessToken(POLICY, atCap)).not.toBeNull();
    expect(verifyAccessToken({ ...POLICY, maxTtlSeconds: 3600 }, atCap)).toBeNull();
    const noIat = handMade(
      { role: 'operator', exp: Math.floor(Date.now() / 1000) + 60 },
      { audience: POLICY.audience, jwtid: JTI, noTimestamp: true },
    );
    expect(verifyAccessToken(POLICY, noIat)).toBeNull();
  });

  it('refuses garbage', () => {
    for (const junk of ['', 'a.b.c', 'x'.repeat(5000), '...'])
      expect(verifyAccessToken(POLICY, junk)).toBeNull();
  });

  it('parses ttl strings, up to a cap', () => {
    expect(parseTtl('12h')).toBe(43200);
    expect(parseTtl('90')).toBe(90);
    expect(parseTtl('7d')).toBe(604800);
    expect(parseTtl('0')).toBeNull();
    expect(parseTtl('1y')).toBeNull();
    expect(parseTtl('400d')).toBeNull();
    expect(parseTtl('30d', 30 * 86_400)).toBe(30 * 86_400);
    expect(parseTtl('31d', 30 * 86_400)).toBeNull();
    expect(parseTtl('9'.repeat(400))).toBeNull();
  });
});
