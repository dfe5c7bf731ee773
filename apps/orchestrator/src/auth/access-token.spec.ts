import { createHmac } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { mintAccessToken, parseTtl, verifyAccessToken } from './access-token';
import { Role } from './role';

const SECRET = 's'.repeat(40);

function b64url(value: object | string): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString(
    'base64url',
  );
}

describe('access tokens', () => {
  it('round-trips subject and role', () => {
    const token = mintAccessToken(SECRET, { sub: 'alice', role: Role.Operator }, 60);
    expect(verifyAccessToken(SECRET, token)).toEqual({ sub: 'alice', role: Role.Operator });
  });

  it('refuses a token signed with another secret', () => {
    const token = mintAccessToken(
      'other-secret-other-secret-other-secret',
      { sub: 'a', role: Role.Viewer },
      60,
    );
    expect(verifyAccessToken(SECRET, token)).toBeNull();
  });

  it('refuses an expired token', () => {
    const token = sign({ role: 'viewer' }, SECRET, {
      algorithm: 'HS256',
      subject: 'a',
      issuer: 'webhook-orchestrator',
      expiresIn: -10,
    });
    expect(verifyAccessToken(SECRET, token)).toBeNull();
  });

  it('refuses alg=none and a token whose payload was edited', () => {
    const header = b64url({ alg: 'none', typ: 'JWT' });
    const payload = b64url({
      sub: 'a',
      role: 'operator',
      iss: 'webhook-orchestrator',
      exp: Date.now() / 1000 + 60,
    });
    expect(verifyAccessToken(SECRET, `${header}.${payload}.`)).toBeNull();
    const good = mintAccessToken(SECRET, { sub: 'a', role: Role.Viewer }, 60).split('.');
    const promoted = b64url({
      ...JSON.parse(Buffer.from(good[1], 'base64url').toString()),
      role: 'operator',
    });
    expect(verifyAccessToken(SECRET, `${good[0]}.${promoted}.${good[2]}`)).toBeNull();
  });

  it('refuses an unknown role, a missing subject, a foreign issuer or no expiry', () => {
    const base = { algorithm: 'HS256' as const, issuer: 'webhook-orchestrator', expiresIn: 60 };
    expect(
      verifyAccessToken(SECRET, sign({ role: 'admin' }, SECRET, { ...base, subject: 'a' })),
    ).toBeNull();
    expect(verifyAccessToken(SECRET, sign({ role: 'viewer' }, SECRET, base))).toBeNull();
    expect(
      verifyAccessToken(
        SECRET,
        sign({ role: 'viewer' }, SECRET, { ...base, subject: 'a', issuer: 'x' }),
      ),
    ).toBeNull();
    const noExp = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'a', role: 'viewer', iss: 'webhook-orchestrator' })}`;
    const sig = createHmac('sha256', SECRET).update(noExp).digest('base64url');
    expect(verifyAccessToken(SECRET, `${noExp}.${sig}`)).toBeNull();
  });

  it('refuses garbage', () => {
    for (const junk of ['', 'a.b.c', 'x'.repeat(5000), '...'])
      expect(verifyAccessToken(SECRET, junk)).toBeNull();
  });

  it('parses ttl strings', () => {
    expect(parseTtl('12h')).toBe(43200);
    expect(parseTtl('90')).toBe(90);
    expect(parseTtl('7d')).toBe(604800);
    expect(parseTtl('0')).toBeNull();
    expect(parseTtl('1y')).toBeNull();
    expect(parseTtl('400d')).toBeNull();
  });
});
