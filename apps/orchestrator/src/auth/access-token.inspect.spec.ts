import { sign } from 'jsonwebtoken';
import { inspectAccessToken, mintAccessToken } from './access-token';
import { Role } from './role';

const SECRET = 'q'.repeat(20) + '0123456789abcdef';
const base = { algorithm: 'HS256' as const, issuer: 'webhook-orchestrator' };

describe('inspectAccessToken (why a token was refused, for the audit trail)', () => {
  it('accepts a valid token', () => {
    expect(
      inspectAccessToken(SECRET, mintAccessToken(SECRET, { sub: 'ann', role: Role.Viewer }, 60)),
    ).toEqual({
      ok: true,
      claims: { sub: 'ann', role: Role.Viewer },
    });
  });

  it('reports the subject of an expired token, whose signature proves it', () => {
    const expired = sign({ role: 'operator' }, SECRET, { ...base, subject: 'otto', expiresIn: -5 });
    expect(inspectAccessToken(SECRET, expired)).toEqual({
      ok: false,
      reason: 'expired',
      subject: 'otto',
    });
  });

  it('never repeats the claims of a forged token', () => {
    const forged = sign({ role: 'operator' }, 'another-secret-another-secret-123', {
      ...base,
      subject: 'admin',
      expiresIn: 60,
    });
    expect(inspectAccessToken(SECRET, forged)).toEqual({ ok: false, reason: 'invalid' });
    const forgedExpired = sign({ role: 'operator' }, 'another-secret-another-secret-123', {
      ...base,
      subject: 'admin',
      expiresIn: -5,
    });
    expect(inspectAccessToken(SECRET, forgedExpired)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('does not take an expired token from another issuer as ours', () => {
    const foreign = sign({ role: 'operator' }, SECRET, {
      algorithm: 'HS256',
      issuer: 'someone-else',
      subject: 'x',
      expiresIn: -5,
    });
    expect(inspectAccessToken(SECRET, foreign)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('reports genuine tokens with unusable claims as invalid_claims', () => {
    const admin = sign({ role: 'admin' }, SECRET, { ...base, subject: 'root', expiresIn: 60 });
    expect(inspectAccessToken(SECRET, admin)).toEqual({
      ok: false,
      reason: 'invalid_claims',
      subject: 'root',
    });
    const anonymous = sign({ role: 'viewer' }, SECRET, { ...base, expiresIn: 60 });
    expect(inspectAccessToken(SECRET, anonymous)).toEqual({ ok: false, reason: 'invalid_claims' });
  });
});
