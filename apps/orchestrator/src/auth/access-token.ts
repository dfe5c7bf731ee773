import { randomUUID } from 'node:crypto';
import { sign, TokenExpiredError, verify } from 'jsonwebtoken';
import { isRole, Role } from './role';

/** The verified caller: who, with which role, and which token (for revocation). */
export interface AccessClaims {
  sub: string;
  role: Role;
  /** The token's id (`jti`): what `POST /api/v1/admin/tokens/revoke` takes. */
  jti: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

const ISSUER = 'webhook-orchestrator';

/** TOKEN_AUDIENCE when unset; give each deployment its own when they could share SECRET_KEY. */
export const DEFAULT_TOKEN_AUDIENCE = 'webhook-orchestrator';

/** TOKEN_MAX_TTL when unset: 30 days. */
export const DEFAULT_TOKEN_MAX_TTL_SECONDS = 30 * 86_400;

/** Longest TOKEN_MAX_TTL accepted: a year. */
export const TOKEN_MAX_TTL_CEILING_SECONDS = 366 * 86_400;

/** What a token must satisfy besides its signature. */
export interface TokenPolicy {
  secret: string;
  /** This deployment's audience (TOKEN_AUDIENCE); a token for another is refused. */
  audience: string;
  /** TOKEN_MAX_TTL: a token whose lifetime (exp − iat) is longer is refused. */
  maxTtlSeconds: number;
}

export interface IssuedToken {
  token: string;
  id: string;
  expiresAt: Date;
}

/** Mints an HS256 token for the operator API with a fresh `jti`. */
export function issueAccessToken(
  secret: string,
  claims: { sub: string; role: Role },
  ttlSeconds: number,
  audience = DEFAULT_TOKEN_AUDIENCE,
): IssuedToken {
  const id = randomUUID();
  const issuedAt = Math.floor(Date.now() / 1000);
  const token = sign({ role: claims.role, iat: issuedAt }, secret, {
    algorithm: 'HS256',
    subject: claims.sub,
    issuer: ISSUER,
    audience,
    jwtid: id,
    expiresIn: ttlSeconds,
  });
  return { token, id, expiresAt: new Date((issuedAt + ttlSeconds) * 1000) };
}

/** {@link issueAccessToken}, the token only. */
export function mintAccessToken(
  secret: string,
  claims: { sub: string; role: Role },
  ttlSeconds: number,
  audience = DEFAULT_TOKEN_AUDIENCE,
): string {
  return issueAccessToken(secret, claims, ttlSeconds, audience).token;
}

/** Why a token was refused; `subject` only when the signature proved it genuine. */
export type TokenCheck =
  | { ok: true; claims: AccessClaims }
  | {
      ok: false;
      reason: 'invalid' | 'expired' | 'invalid_claims' | 'wrong_audience' | 'ttl_over_cap';
      subject?: string;
    };

/** A jti we mint is a uuid; anything else (or nothing) is refused. */
const TOKEN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Verifies a token: HS256 only (never `none` or another algorithm chosen by the token), our
 * issuer, this deployment's audience, not expired, a lifetime within TOKEN_MAX_TTL, a `jti` and
 * a known role. Returns null for anything else. Revocation is checked by the guard.
 */
export function verifyAccessToken(policy: TokenPolicy, token: string): AccessClaims | null {
  const check = inspectAccessToken(policy, token);
  return check.ok ? check.claims : null;
}

/**
 * {@link verifyAccessToken} with the reason of a refusal, for the audit trail. The subject of a
 * refused token is reported only when its signature and issuer were verified (an expired token,
 * a foreign audience, or unusable claims); a forged token's claims are never repeated.
 */
export function inspectAccessToken(policy: TokenPolicy, token: string): TokenCheck {
  // The audience is checked below, after the signature, so a foreign one can be named as such.
  const options = { algorithms: ['HS256' as const], issuer: ISSUER };
  let payload: unknown;
  let expired = false;
  try {
    payload = verify(token, policy.secret, options);
  } catch (error) {
    if (!(error instanceof TokenExpiredError)) return { ok: false, reason: 'invalid' };
    try {
      // jsonwebtoken checks expiry before the issuer: verify again without it to check the rest.
      payload = verify(token, policy.secret, { ...options, ignoreExpiration: true });
      expired = true;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
  }
  if (typeof payload !== 'object' || payload === null) return { ok: false, reason: 'invalid' };
  const { sub, role, exp, iat, aud, jti } = payload as Record<string, unknown>;
  const subject = typeof sub === 'string' && sub.length > 0 && sub.length <= 200 ? sub : undefined;
  if (expired) return { ok: false, reason: 'expired', subject };
  // One audience, ours; a list (even one naming us) is not what we mint.
  if (aud !== policy.audience) return { ok: false, reason: 'wrong_audience', subject };
  if (
    subject === undefined ||
    !isRole(role) ||
    typeof exp !== 'number' ||
    typeof iat !== 'number' ||
    typeof jti !== 'string' ||
    !TOKEN_ID.test(jti)
  ) {
    return { ok: false, reason: 'invalid_claims', subject };
  }
  // Tokens minted before TOKEN_MAX_TTL was lowered, or by hand with a longer life.
  if (exp - iat > policy.maxTtlSeconds) return { ok: false, reason: 'ttl_over_cap', subject };
  return { ok: true, claims: { sub: subject, role, jti, exp } };
}

/** Parses `90s`, `15m`, `12h`, `7d` or plain seconds, up to `maxSeconds`. */
export function parseTtl(text: string, maxSeconds = TOKEN_MAX_TTL_CEILING_SECONDS): number | null {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!match) return null;
  const factor = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * factor;
  return seconds > 0 && seconds <= maxSeconds ? seconds : null;
}
