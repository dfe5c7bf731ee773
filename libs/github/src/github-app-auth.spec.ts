import { generateKeyPairSync, KeyObject, verify } from 'node:crypto';
import { inspect } from 'node:util';
import {
  createGithubAppJwt,
  GithubAppJwtSource,
  GithubPrivateKeyError,
  InstallationToken,
  InstallationTokenCache,
  parseGithubPrivateKey,
} from './github-app-auth';

// Generated per run: no private key is ever committed.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PKCS1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PKCS8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const KEY_BODY_LINES = PKCS1.split('\n').filter((line) => line && !line.startsWith('-----'));

type Json = Record<string, unknown> & { iat: number; exp: number };

function decode(jwt: string): { header: Json; claims: Json; valid: boolean } {
  const [h, c, s] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(c, 'base64url').toString()),
    valid: verify('sha256', Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, 'base64url')),
  };
}

function keyError(text: string): GithubPrivateKeyError {
  try {
    parseGithubPrivateKey(text);
  } catch (error) {
    if (error instanceof GithubPrivateKeyError) return error;
    throw error;
  }
  throw new Error('expected the key to be refused');
}

describe('parseGithubPrivateKey', () => {
  it('reads the PKCS#1 PEM GitHub hands out, and PKCS#8', () => {
    for (const pem of [PKCS1, PKCS8]) {
      const key = parseGithubPrivateKey(pem);
      expect(key).toBeInstanceOf(KeyObject);
      expect(key.asymmetricKeyType).toBe('rsa');
    }
  });

  it('reads a key squeezed onto one line with \\n escapes, and CRLF line ends', () => {
    const escaped = PKCS1.trim().replace(/\n/g, '\\n');
    expect(escaped).not.toContain('\n');
    expect(parseGithubPrivateKey(escaped).asymmetricKeyType).toBe('rsa');
    expect(parseGithubPrivateKey(PKCS1.replace(/\n/g, '\r\n')).asymmetricKeyType).toBe('rsa');
  });

  it('refuses empty text, non-PEM text, a damaged key and a non-RSA key', () => {
    expect(keyError('   ').message).toContain('empty');
    expect(keyError('ghp_notakey').message).toContain('expected PEM text');
    const truncated = PKCS1.replace(KEY_BODY_LINES.slice(2, 12).join('\n') + '\n', '');
    expect(keyError(truncated).message).toContain('could not be decoded');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(keyError(ec).message).toContain('expected an RSA key, got ec');
  });

  it('never puts key material in its error message', () => {
    const truncated = PKCS1.replace(KEY_BODY_LINES.slice(4, 9).join('\n') + '\n', '');
    const message = keyError(truncated).message;
    for (const line of KEY_BODY_LINES) expect(message).not.toContain(line.slice(0, 16));
  });
});

describe('createGithubAppJwt', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);

  it('signs RS256 with iat 60 s in the past, exp within 10 minutes and the App id as iss', () => {
    const jwt = createGithubAppJwt('12345', parseGithubPrivateKey(PKCS1), now);
    const { header, claims, valid } = decode(jwt);
    expect(valid).toBe(true);
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(claims.iss).toBe('12345');
    expect(claims.iat).toBe(now / 1000 - 60);
    expect(claims.exp).toBeGreaterThan(now / 1000);
    expect(claims.exp - now / 1000).toBeLessThanOrEqual(600);
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(660);
  });
});

describe('GithubAppJwtSource', () => {
  it('reuses a JWT until a minute before it expires, then mints a new one', () => {
    let clock = Date.UTC(2025, 0, 1);
    const source = new GithubAppJwtSource('Iv23liExample', PKCS1, () => clock);
    const first = source.jwt();
    clock += 7 * 60_000;
    expect(source.jwt()).toBe(first);
    clock += 60_000 + 1000;
    const second = source.jwt();
    expect(second).not.toBe(first);
    expect(decode(second).claims.iat).toBe(Math.floor(clock / 1000) - 60);
  });

  it('shows neither the key nor a JWT when logged or serialised', () => {
    const source = new GithubAppJwtSource('1', PKCS1, Date.now);
    const jwt = source.jwt();
    for (const text of [inspect(source, { depth: 5 }), JSON.stringify(source)]) {
      expect(text).not.toContain(jwt);
      expect(text).not.toContain(KEY_BODY_LINES[1]);
    }
  });

  it('refuses an App id that could not be one', () => {
    expect(() => new GithubAppJwtSource('1 OR 1', PKCS1, Date.now)).toThrow(TypeError);
  });
});

describe('InstallationTokenCache', () => {
  const HOUR = 3_600_000;
  let clock: number;
  let calls: number[];
  let answers: Array<() => Promise<InstallationToken>>;

  const cache = (): InstallationTokenCache =>
    new InstallationTokenCache(
      (id) => {
        calls.push(id);
        const next = answers.shift();
        return next
          ? next()
          : Promise.resolve({ token: `t${id}-${calls.length}`, expiresAtMs: clock + HOUR });
      },
      5 * 60_000,
      () => clock,
    );

  beforeEach(() => {
    clock = Date.UTC(2025, 0, 1);
    calls = [];
    answers = [];
  });

  it('fetches once per installation and serves the cached token until 5 minutes before expiry', async () => {
    const tokens = cache();
    expect(await tokens.get(7)).toBe('t7-1');
    clock += HOUR - 5 * 60_000 - 1;
    expect(await tokens.get(7)).toBe('t7-1');
    expect(calls).toEqual([7]);
    clock += 1;
    expect(await tokens.get(7)).toBe('t7-2');
    expect(await tokens.get(8)).toBe('t8-3');
    expect(calls).toEqual([7, 7, 8]);
  });

  it('lets concurrent callers for one installation share a single request', async () => {
    let release: (token: InstallationToken) => void = () => undefined;
    answers.push(() => new Promise((resolve) => (release = resolve)));
    const tokens = cache();
    const waiting = Promise.all([tokens.get(7), tokens.get(7), tokens.get(7)]);
    release({ token: 'shared', expiresAtMs: clock + HOUR });
    expect(await waiting).toEqual(['shared', 'shared', 'shared']);
    expect(calls).toEqual([7]);
  });

  it('does not cache a failure: every waiting caller sees it, the next call asks again', async () => {
    answers.push(() => Promise.reject(new Error('GitHub said no')));
    const tokens = cache();
    const results = await Promise.allSettled([tokens.get(7), tokens.get(7)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await tokens.get(7)).toBe('t7-2');
    expect(calls).toEqual([7, 7]);
  });

  it('forgets a token that was refused, but not a newer one', async () => {
    const tokens = cache();
    const first = await tokens.get(7);
    tokens.invalidate(7, 'some-older-token');
    expect(await tokens.get(7)).toBe(first);
    tokens.invalidate(7, first);
    expect(await tokens.get(7)).toBe('t7-2');
  });
});
