import { randomBytes } from 'node:crypto';
import { EnvReader } from './env-reader';
import { DEVELOPMENT_MARKERS, requireStrongSecret, weakSecretReason } from './secret-strength';

describe('weakSecretReason', () => {
  it('accepts random values of 32 bytes or more (hex, as npm run up writes, and base64url)', () => {
    for (let i = 0; i < 200; i++) {
      expect(weakSecretReason(randomBytes(32).toString('hex'))).toBeNull();
    }
    // base64url can spell a marker by chance; that is refused, so only count the others.
    const b64 = Array.from({ length: 200 }, () => randomBytes(32).toString('base64url'));
    const clean = b64.filter((v) => !DEVELOPMENT_MARKERS.some((m) => v.toLowerCase().includes(m)));
    for (const value of clean) expect(weakSecretReason(value)).toBeNull();
  });

  it.each([
    ['a 31-byte value', 'x'.repeat(15) + '0123456789abcdef', 'shorter than 32 bytes (31)'],
    ['a short multi-byte value counted in bytes', 'é'.repeat(15), 'shorter than 32 bytes (30)'],
    ['a dev marker', 'dev-0123456789abcdef0123456789abcdef', 'contains "dev"'],
    ['the test harness secret', 'test-webhook-secret-0123456789abcdef', 'contains "test"'],
    ['changeme in capitals', 'CHANGEME-CHANGEME-CHANGEME-CHANGEME-1', 'contains "changeme"'],
    [
      'the k8s example placeholder',
      'REPLACE_ME_with_a_real_value_0123456789',
      'contains "replace"',
    ],
    ['a word secret', 'my-super-secret-value-for-prod-12345', 'contains "secret"'],
    ['a repeated character', 'k'.repeat(64), 'fewer than 8 distinct characters'],
    ['a two-character pattern', 'ab'.repeat(32), 'fewer than 8 distinct characters'],
  ])('refuses %s', (_what, value, reason) => {
    expect(weakSecretReason(value)).toContain(reason);
  });
});

describe('requireStrongSecret', () => {
  it('names the setting and never the value', () => {
    const env = new EnvReader({});
    requireStrongSecret(env, 'SECRET_KEY', 'dev-key-do-not-use-in-production-please');
    expect(() => env.done()).toThrow(/SECRET_KEY is too weak for production: contains "dev"/);
    try {
      env.done();
    } catch (error) {
      expect(String(error)).not.toContain('do-not-use');
    }
  });
});
