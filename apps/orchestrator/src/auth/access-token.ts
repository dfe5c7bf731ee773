import { sign, verify } from 'jsonwebtoken';
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

/**
 * Verifies a token: HS256 only (never `none` or another algorithm chosen by the token), our
 * issuer, not expired, a known role. Returns null for anything else.
 */
export function verifyAccessToken(secret: string, token: string): AccessClaims | null {
  try {
    const payload = verify(token, secret, { algorithms: ['HS256'], issuer: ISSUER });
    if (typeof payload !== 'object' || payload === null) return null;
    const { sub, role } = payload as { sub?: unknown; role?: unknown };
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 200 || !isRole(role))
      return null;
    if (typeof (payload as { exp?: unknown }).exp !== 'number') return null;
    return { sub, role };
  } catch {
    return null;
  }
}

/** Parses `90s`, `15m`, `12h`, `7d` or plain seconds. */
export function parseTtl(text: string): number | null {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) return null;
  const factor = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * factor;
  return seconds > 0 && seconds <= 366 * 86400 ? seconds : null;
}
