import { sign, TokenExpiredError, verify } from 'jsonwebtoken';
import { isRole, Role } from './role';

export interface AccessClaims {
  sub: string;
  role: Role;
}

const ISSUER = 'webhook-orchestrator';

/** Mints an HS256 token for the operator API. */
export function mintAccessToken(secret: string, claims: AccessClaims, ttlSeconds: number): string {
  return sign({ role: claims.role }, secret, {
    algorithm: 'HS256',
    subject: claims.sub,
    issuer: ISSUER,
    expiresIn: ttlSeconds,
  });
}

/** Why a token was refused; `subject` only when the signature proved it genuine. */
export type TokenCheck =
  | { ok: true; claims: AccessClaims }
  | { ok: false; reason: 'invalid' | 'expired' | 'invalid_claims'; subject?: string };

const VERIFY = { algorithms: ['HS256' as const], issuer: ISSUER };

/**
 * Verifies a token: HS256 only (never `none` or another algorithm chosen by the token), our
 * issuer, not expired, a known role. Returns null for anything else.
 */
export function verifyAccessToken(secret: string, token: string): AccessClaims | null {
  const check = inspectAccessToken(secret, token);
  return check.ok ? check.claims : null;
}

/**
 * {@link verifyAccessToken} with the reason of a refusal, for the audit trail. The subject of a
 * refused token is reported only when its signature and issuer were verified (an expired token,
 * or one with an unknown role); a forged token's claims are never repeated.
 */
export function inspectAccessToken(secret: string, token: string): TokenCheck {
  let payload: unknown;
  let expired = false;
  try {
    payload = verify(token, secret, VERIFY);
  } catch (error) {
    if (!(error instanceof TokenExpiredError)) return { ok: false, reason: 'invalid' };
    try {
      // jsonwebtoken checks expiry before the issuer: verify again without it to check the rest.
      payload = verify(token, secret, { ...VERIFY, ignoreExpiration: true });
      expired = true;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
  }
  if (typeof payload !== 'object' || payload === null) return { ok: false, reason: 'invalid' };
  const { sub, role, exp } = payload as { sub?: unknown; role?: unknown; exp?: unknown };
  const subject = typeof sub === 'string' && sub.length > 0 && sub.length <= 200 ? sub : undefined;
  if (expired) return { ok: false, reason: 'expired', subject };
  if (subject === undefined || !isRole(role) || typeof exp !== 'number') {
    return { ok: false, reason: 'invalid_claims', subject };
  }
  return { ok: true, claims: { sub: subject, role } };
}

/** Parses `90s`, `15m`, `12h`, `7d` or plain seconds. */
export function parseTtl(text: string): number | null {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) return null;
  const factor = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * factor;
  return seconds > 0 && seconds <= 366 * 86400 ? seconds : null;
}
