import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE_PATTERN = /^sha256=([0-9a-f]{64})$/i;

/** Why a delivery's signature was refused. Never includes the signature or body. */
export type SignatureFailure = 'missing' | 'malformed' | 'mismatch';

/**
 * Verifies GitHub's `X-Hub-Signature-256` header over the raw request bytes against each
 * configured secret (several during a rotation). Constant-time per comparison; a malformed header
 * is a refusal, never an exception.
 */
export function verifyGithubSignature(
  rawBody: Buffer,
  header: string | string[] | undefined,
  secrets: readonly string[],
): { ok: true } | { ok: false; reason: SignatureFailure } {
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  if (Array.isArray(header)) return { ok: false, reason: 'malformed' };
  const match = SIGNATURE_PATTERN.exec(header.trim());
  if (!match) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(match[1].toLowerCase(), 'hex');
  let matched = false;
  // Check every secret so the time taken does not reveal which one matched.
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    if (timingSafeEqual(expected, given)) matched = true;
  }
  return matched ? { ok: true } : { ok: false, reason: 'mismatch' };
}

/** Signs a body the way GitHub does; used by tests, benchmarks and replay tooling. */
export function signGithubPayload(rawBody: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}
