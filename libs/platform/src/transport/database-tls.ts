import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/**
 * TLS modes of a PostgreSQL connection string, with libpq's meaning
 * (https://www.postgresql.org/docs/current/libpq-ssl.html):
 * - `disable` (also: no sslmode at all): plain text;
 * - `require`: encrypted, the server certificate is not checked — unless a CA file is given,
 *   then it is checked against that CA like `verify-ca`;
 * - `verify-ca`: encrypted, certificate chain checked against the CA file;
 * - `verify-full`: encrypted, chain (system CAs or the CA file) and host name checked.
 *
 * node-postgres reads `sslmode` from the URL itself, with its own meaning (today every mode but
 * `disable` is treated as `verify-full`, and a URL's SSL settings replace the `ssl` option, so a
 * CA given next to the URL would be dropped). To make the behaviour ours and explicit, the SSL
 * parameters are taken out of the URL here and handed to pg as one `ssl` option.
 */
export type PgSslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

const MODES: readonly PgSslMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];

/** URL parameters we interpret; all are removed before pg sees the URL. */
const HANDLED = ['sslmode', 'ssl', 'sslrootcert', 'sslcert', 'sslkey'];
/** SSL parameters pg or libpq know that we do not support: refused rather than half-applied. */
const REFUSED = [
  'sslpassword',
  'sslnegotiation',
  'uselibpqcompat',
  'sslcrl',
  'sslcrldir',
  'sslsni',
];

export interface DatabaseTlsSettings {
  mode: PgSslMode;
  /** CA bundle (PEM): DATABASE_SSL_CA_FILE, or `sslrootcert` in the URL. */
  caFile?: string;
  /** Client certificate and key (PEM) from `sslcert` / `sslkey`, for certificate login. */
  certFile?: string;
  keyFile?: string;
}

/**
 * Reads the TLS part of a PostgreSQL URL plus the CA file setting. Returns the problems instead of
 * throwing (config validation lists them all); never echoes the URL, which holds a password.
 */
export function parseDatabaseTls(
  url: string,
  caFileSetting?: string,
  name = 'DATABASE_URL',
): { settings: DatabaseTlsSettings; problems: string[] } {
  const problems: string[] = [];
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return { settings: { mode: 'disable' }, problems: [`${name} is not a valid URL`] };
  }
  for (const key of REFUSED) {
    if (params.has(key)) problems.push(`${name}: the ${key} parameter is not supported`);
  }
  const rawMode = params.get('sslmode');
  const rawSsl = params.get('ssl');
  let mode: PgSslMode = 'disable';
  if (rawMode !== null) {
    if ((MODES as readonly string[]).includes(rawMode)) mode = rawMode as PgSslMode;
    else if (rawMode === 'prefer' || rawMode === 'allow') {
      problems.push(
        `${name}: sslmode=${rawMode} may silently fall back to plain text; use sslmode=disable, require, verify-ca or verify-full`,
      );
    } else if (rawMode === 'no-verify') {
      problems.push(`${name}: sslmode=no-verify is pg-specific; use sslmode=require`);
    } else {
      problems.push(
        `${name}: sslmode must be one of ${MODES.join(', ')}, got "${rawMode.slice(0, 20)}"`,
      );
    }
  } else if (rawSsl !== null) {
    // pg's shorthand: ssl=true means TLS with full verification.
    if (rawSsl === 'true' || rawSsl === '1') mode = 'verify-full';
    else if (rawSsl !== 'false' && rawSsl !== '0') {
      problems.push(`${name}: ssl must be true or false; prefer sslmode=verify-full`);
    }
  }
  const rootCert = params.get('sslrootcert') ?? undefined;
  let caFile = caFileSetting;
  if (rootCert !== undefined && rootCert !== 'system') {
    if (caFile !== undefined && caFile !== rootCert) {
      problems.push(`${name}: sslrootcert and DATABASE_SSL_CA_FILE name different files; set one`);
    }
    caFile = rootCert;
  }
  const certFile = params.get('sslcert') ?? undefined;
  const keyFile = params.get('sslkey') ?? undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push(`${name}: sslcert and sslkey go together`);
  }
  if (mode === 'disable' && (caFile !== undefined || certFile !== undefined)) {
    problems.push(
      `${name} has no sslmode (or sslmode=disable), so the CA or certificate files would be ignored; add sslmode=verify-full`,
    );
  }
  if (mode === 'verify-ca' && caFile === undefined) {
    problems.push(
      `${name}: sslmode=verify-ca needs a CA file (DATABASE_SSL_CA_FILE); with a public CA use verify-full`,
    );
  }
  return { settings: { mode, caFile, certFile, keyFile }, problems };
}

/** pg's `ssl` option for these settings; reads the PEM files (at start-up). */
export function pgSslOption(settings: DatabaseTlsSettings): false | ConnectionOptions {
  if (settings.mode === 'disable') return false;
  const ssl: ConnectionOptions = {};
  if (settings.caFile !== undefined) ssl.ca = readFileSync(settings.caFile, 'utf8');
  if (settings.certFile !== undefined && settings.keyFile !== undefined) {
    ssl.cert = readFileSync(settings.certFile, 'utf8');
    ssl.key = readFileSync(settings.keyFile, 'utf8');
  }
  const verify = verificationOf(settings);
  ssl.rejectUnauthorized = verify !== 'none';
  // Chain checked, host name not (libpq's verify-ca); pg sets servername for the full check.
  if (verify === 'ca') ssl.checkServerIdentity = () => undefined;
  return ssl;
}

/** The URL without the SSL parameters, so pg cannot override the `ssl` option from it. */
export function stripSslParameters(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (![...HANDLED, ...REFUSED].some((key) => parsed.searchParams.has(key))) return url;
  for (const key of [...HANDLED, ...REFUSED]) parsed.searchParams.delete(key);
  return parsed.toString();
}

/** `connectionString` and `ssl` for a pg Client or Pool (and TypeORM's `url` and `ssl`). */
export function pgConnectionOptions(
  url: string,
  caFileSetting?: string,
): { connectionString: string; ssl: false | ConnectionOptions } {
  const { settings, problems } = parseDatabaseTls(url, caFileSetting);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return { connectionString: stripSslParameters(url), ssl: pgSslOption(settings) };
}

function verificationOf(settings: DatabaseTlsSettings): 'none' | 'ca' | 'full' {
  switch (settings.mode) {
    case 'disable':
      return 'none';
    case 'require':
      return settings.caFile !== undefined ? 'ca' : 'none';
    case 'verify-ca':
      return 'ca';
    case 'verify-full':
      return 'full';
  }
}

/** For the start-up line: where and how, never credentials. */
export function describeDatabaseConnection(
  url: string,
  caFileSetting?: string,
): {
  host: string;
  port: number;
  database: string;
  encrypted: boolean;
  verified: 'none' | 'ca' | 'full';
  ca?: 'file' | 'system';
} {
  let host = 'invalid';
  let port = 0;
  let database = '';
  try {
    const parsed = new URL(url);
    host = parsed.hostname.replace(/^\[|\]$/g, '') || (parsed.searchParams.get('host') ?? '');
    port = parsed.port === '' ? 5432 : Number(parsed.port);
    database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  } catch {
    // described as invalid
  }
  const { settings } = parseDatabaseTls(url, caFileSetting);
  const verified = verificationOf(settings);
  return {
    host,
    port,
    database,
    encrypted: settings.mode !== 'disable',
    verified,
    ...(verified === 'none' ? {} : { ca: settings.caFile !== undefined ? 'file' : 'system' }),
  };
}
