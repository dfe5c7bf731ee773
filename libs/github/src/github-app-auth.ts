import { createPrivateKey, KeyObject, sign } from 'node:crypto';

/** A GitHub App's identity: its id (or client id) and its RSA private key. */
export interface GithubAppCredentials {
  /** App id (`12345`) or client id (`Iv23li...`); becomes the JWT's `iss`. */
  appId: string;
  /** The App's private key: a KeyObject, or PEM text (see {@link parseGithubPrivateKey}). */
  privateKey: KeyObject | string;
}

/** Thrown for an unusable private key; its message never contains key material. */
export class GithubPrivateKeyError extends Error {
  constructor(reason: string) {
    super(`not a usable GitHub App private key: ${reason}`);
    this.name = 'GithubPrivateKeyError';
  }
}

const APP_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** GitHub refuses a JWT whose `exp` is more than 10 minutes ahead; keep a margin for skew. */
const JWT_LIFETIME_SECONDS = 9 * 60;
/** `iat` is back-dated so a server clock slightly ahead of GitHub's still passes. */
const JWT_BACKDATE_SECONDS = 60;
/** A JWT is reused until this close to its expiry. */
const JWT_REUSE_MARGIN_SECONDS = 60;

/** True for a value GitHub accepts as an App id or client id. */
export function isGithubAppId(value: string): boolean {
  return APP_ID.test(value);
}

/**
 * Reads a GitHub App private key: PEM text as GitHub hands it out (PKCS#1 `RSA PRIVATE KEY`) or
 * PKCS#8, also when squeezed onto one line with `\n` escapes (how many secret stores keep it).
 * Throws {@link GithubPrivateKeyError} for anything else, including a non-RSA key.
 */
export function parseGithubPrivateKey(text: string): KeyObject {
  if (typeof text !== 'string' || text.trim() === '') throw new GithubPrivateKeyError('empty');
  const pem = text
    .trim()
    .replace(/\\r\\n|\\n/g, '\n')
    .replace(/\r\n/g, '\n');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new GithubPrivateKeyError(
      'expected PEM text starting with -----BEGIN ... PRIVATE KEY-----',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // OpenSSL's message is not echoed: keep anything derived from the key out of logs.
    throw new GithubPrivateKeyError('the PEM text could not be decoded');
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new GithubPrivateKeyError(
      `expected an RSA key, got ${key.asymmetricKeyType ?? 'unknown'}`,
    );
  }
  return key;
}

/**
 * A GitHub App JWT (RS256): `iat` 60 s in the past, `exp` 9 minutes ahead (GitHub allows at most
 * 10), `iss` the App id.
 * @param nowMs current time in epoch milliseconds
 */
export function createGithubAppJwt(appId: string, key: KeyObject, nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT' };
  const payload = { iat: now - JWT_BACKDATE_SECONDS, exp: now + JWT_LIFETIME_SECONDS, iss: appId };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign('sha256', Buffer.from(signingInput), key);
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** Mints App JWTs, reusing one until a minute before it expires. */
export class GithubAppJwtSource {
  private readonly key: KeyObject;
  private current: { jwt: string; expiresAtMs: number } | null = null;

  constructor(
    private readonly appId: string,
    privateKey: KeyObject | string,
    private readonly now: () => number,
  ) {
    if (!isGithubAppId(appId))
      throw new TypeError('GitHub App id must be an id (letters, digits, . _ -)');
    this.key = typeof privateKey === 'string' ? parseGithubPrivateKey(privateKey) : privateKey;
  }

  jwt(): string {
    const nowMs = this.now();
    if (this.current && nowMs < this.current.expiresAtMs - JWT_REUSE_MARGIN_SECONDS * 1000) {
      return this.current.jwt;
    }
    const jwt = createGithubAppJwt(this.appId, this.key, nowMs);
    this.current = { jwt, expiresAtMs: (Math.floor(nowMs / 1000) + JWT_LIFETIME_SECONDS) * 1000 };
    return jwt;
  }

  /** Keeps key material out of `console.log` / `util.inspect` of the client. */
  toJSON(): Record<string, string> {
    return { appId: this.appId };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `GithubAppJwtSource { appId: ${this.appId} }`;
  }
}

/** An installation access token and when GitHub says it expires. */
export interface InstallationToken {
  token: string;
  expiresAtMs: number;
}

/**
 * Installation tokens per installation id, cached until `refreshMarginMs` before they expire.
 * Callers asking for the same installation while a request is in flight share that request.
 */
export class InstallationTokenCache {
  private readonly tokens = new Map<number, InstallationToken>();
  private readonly inFlight = new Map<number, Promise<InstallationToken>>();

  constructor(
    private readonly fetchToken: (installationId: number) => Promise<InstallationToken>,
    private readonly refreshMarginMs: number,
    private readonly now: () => number,
  ) {}

  /** A token for `installationId` valid for at least `refreshMarginMs` more. */
  async get(installationId: number): Promise<string> {
    const cached = this.tokens.get(installationId);
    if (cached && this.now() < cached.expiresAtMs - this.refreshMarginMs) return cached.token;
    let pending = this.inFlight.get(installationId);
    if (!pending) {
      pending = this.fetchToken(installationId)
        .then((fresh) => {
          this.tokens.set(installationId, fresh);
          return fresh;
        })
        .finally(() => this.inFlight.delete(installationId));
      this.inFlight.set(installationId, pending);
    }
    return (await pending).token;
  }

  /** True when a token for `installationId` is cached and good for `refreshMarginMs` more. */
  has(installationId: number): boolean {
    const cached = this.tokens.get(installationId);
    return cached !== undefined && this.now() < cached.expiresAtMs - this.refreshMarginMs;
  }

  /** Forgets a token GitHub refused (revoked early, installation gone). */
  invalidate(installationId: number, token?: string): void {
    const cached = this.tokens.get(installationId);
    if (cached && (token === undefined || cached.token === token))
      this.tokens.delete(installationId);
  }

  toJSON(): Record<string, number> {
    return { cachedInstallations: this.tokens.size };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `InstallationTokenCache { cached: ${this.tokens.size} }`;
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
