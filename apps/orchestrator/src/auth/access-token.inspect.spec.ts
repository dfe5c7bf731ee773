import { sign } from 'jsonwebtoken';
import {
  DEFAULT_TOKEN_AUDIENCE,
  inspectAccessToken,
  issueAccessToken,
  TokenPolicy,
} from './access-token';
import { Role } from './role';

const SECRET = 'q'.repeat(20) + '0123456789abcdef';
const POLICY: TokenPolicy = {
  secret: SECRET,
  audience: DEFAULT_TOKEN_AUDIENCE,
  maxTtlSeconds: 86_400,
};
const JTI = '6f1c7a52-1f0e-4f65-9d7e-1b1a6c0e8a11';
const base = {
  algorithm: 'HS256' as const,
  issuer: 'webhook-orchestrator',
  audience: DEFAULT_TOKEN_AUDIENCE,
  jwtid: JTI,
};

describe('inspectAccessToken (why a token was refused, for the audit trail)', () => {
  it('accepts a valid token', () => {
    const issued = issueAccessToken(SECRET, { sub: 'ann', role: Role.Viewer }, 60);
    expect(inspectAccessToken(POLICY, issued.token)).toEqual({
      ok: true,
      claims: {
        sub: 'ann',
        role: Role.Viewer,
        jti: issued.id,
        exp: issued.expiresAt.getTime() / 1000,
      },
    });
  });

  it('reports the subject of an expired token, whose signature proves it', () => {
    const expired = sign({ role: 'operator' }, SECRET, { ...base, subject: 'otto', expiresIn: -5 });
    expect(inspectAccessToken(POLICY, expired)).toEqual({
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
    expect(inspectAccessToken(POLICY, forged)).toEqual({ ok: false, reason: 'invalid' });
    const forgedExpired = sign({ role: 'operator' }, 'another-secret-another-secret-123', {
      ...base,
      subject: 'admin',
      expiresIn: -5,
    });
    expect(inspectAccessToken(POLICY, forgedExpired)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('does not take an expired token from another issuer as ours', () => {
    const foreign = sign({ role: 'operator' }, SECRET, {
      ...base,
      issuer: 'someone-else',
      subject: 'x',
      expiresIn: -5,
    });
    expect(inspectAccessToken(POLICY, foreign)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('reports genuine tokens with unusable claims as invalid_claims', () => {
    const admin = sign({ role: 'admin' }, SECRET, { ...base, subject: 'root', expiresIn: 60 });
    expect(inspectAccessToken(POLICY, admin)).toEqual({
      ok: false,
      reason: 'invalid_claims',
      subject: 'root',
    });
    const anonymous = sign({ role: 'viewer' }, SECRET, { ...base, expiresIn: 60 });
    expect(inspectAccessToken(POLICY, anonymous)).toEqual({ ok: false, reason: 'invalid_claims' });
    const { jwtid: _omitted, ...withoutId } = base;
    const noId = sign({ role: 'viewer' }, SECRET, { ...withoutId, subject: 'nid', expiresIn: 60 });
    expect(inspectAccessToken(POLICY, noId)).toEqual({
      ok: false,
      reason: 'invalid_claims',
      subject: 'nid',
    });
  });

  it('names a foreign audience and a lifetime over the cap', () => {
    const staging = sign({ role: 'operator' }, SECRET, {
      ...base,
      audience: 'staging',
      subject: 'sam',
      expiresIn: 60,
    });
    expect(inspectAccessToken(POLICY, staging)).toEqual({
      ok: false,
      reason: 'wrong_audience',
      subject: 'sam',
    });
    const long = sign({ role: 'operator' }, SECRET, { ...base, subject: 'lou', expiresIn: 86_401 });
    expect(inspectAccessToken(POLICY, long)).toEqual({
      ok: false,
      reason: 'ttl_over_cap',
      subject: 'lou',
    });
  });
});
