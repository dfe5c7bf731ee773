import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  describeDatabaseConnection,
  parseDatabaseTls,
  pgConnectionOptions,
  pgSslOption,
  stripSslParameters,
} from './database-tls';

const dir = mkdtempSync(join(tmpdir(), 'db-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CA = join(dir, 'ca.pem');
writeFileSync(CA, '-----BEGIN CERTIFICATE-----\nTESTCA\n-----END CERTIFICATE-----\n');
const BASE = 'postgres://app:s3cret@db.internal:5432/orchestrator';

describe('parseDatabaseTls', () => {
  it.each([
    ['', 'disable'],
    ['?sslmode=disable', 'disable'],
    ['?sslmode=require', 'require'],
    ['?sslmode=verify-full', 'verify-full'],
    ['?ssl=true', 'verify-full'],
    ['?ssl=1', 'verify-full'],
    ['?ssl=false', 'disable'],
  ])('"%s" → %s', (query, mode) => {
    expect(parseDatabaseTls(`${BASE}${query}`)).toEqual({
      settings: expect.objectContaining({ mode }),
      problems: [],
    });
  });

  it('takes the CA from DATABASE_SSL_CA_FILE or sslrootcert, not two different ones', () => {
    expect(parseDatabaseTls(`${BASE}?sslmode=verify-full`, CA).settings.caFile).toBe(CA);
    expect(parseDatabaseTls(`${BASE}?sslmode=verify-ca&sslrootcert=${CA}`).settings).toMatchObject({
      mode: 'verify-ca',
      caFile: CA,
    });
    expect(
      parseDatabaseTls(`${BASE}?sslmode=verify-full&sslrootcert=/other.pem`, CA).problems,
    ).toEqual([expect.stringContaining('name different files')]);
    // libpq's sslrootcert=system means the system CAs.
    expect(
      parseDatabaseTls(`${BASE}?sslmode=verify-full&sslrootcert=system`).settings.caFile,
    ).toBeUndefined();
  });

  it.each([
    ['?sslmode=prefer', 'fall back to plain text'],
    ['?sslmode=allow', 'fall back to plain text'],
    ['?sslmode=no-verify', 'use sslmode=require'],
    ['?sslmode=VERIFY-FULL', 'sslmode must be one of'],
    ['?sslmode=verify-ca', 'needs a CA file'],
    ['?ssl=maybe', 'ssl must be true or false'],
    ['?sslmode=require&sslcert=/c.pem', 'go together'],
    ['?sslmode=require&uselibpqcompat=true', 'uselibpqcompat parameter is not supported'],
    ['?sslmode=require&sslnegotiation=direct', 'sslnegotiation parameter is not supported'],
    ['?sslmode=require&sslpassword=x', 'sslpassword parameter is not supported'],
  ])('refuses %s', (query, message) => {
    expect(parseDatabaseTls(`${BASE}${query}`).problems).toEqual(
      expect.arrayContaining([expect.stringContaining(message)]),
    );
  });

  it('refuses a CA file for a connection that would not use TLS (it would be ignored)', () => {
    expect(parseDatabaseTls(BASE, CA).problems[0]).toMatch(/add sslmode=verify-full/);
  });

  it('never echoes the URL or its password', () => {
    const all = [
      ...parseDatabaseTls(`${BASE}?sslmode=prefer`).problems,
      ...parseDatabaseTls('postgres://app:s3cret@[bad').problems,
    ].join(' ');
    expect(all).not.toContain('s3cret');
  });
});

describe('pgSslOption', () => {
  it('disable → no TLS', () => {
    expect(pgSslOption({ mode: 'disable' })).toBe(false);
  });

  it('require → encrypted without verification (libpq), verify-ca with a CA file', () => {
    expect(pgSslOption({ mode: 'require' })).toEqual({ rejectUnauthorized: false });
    const withCa = pgSslOption({ mode: 'require', caFile: CA });
    expect(withCa).toMatchObject({
      rejectUnauthorized: true,
      ca: expect.stringContaining('TESTCA'),
    });
    expect(withCa && withCa.checkServerIdentity?.('db.internal', {} as never)).toBeUndefined();
  });

  it('verify-ca → chain checked, host name not', () => {
    const ssl = pgSslOption({ mode: 'verify-ca', caFile: CA });
    expect(ssl).toMatchObject({ rejectUnauthorized: true, ca: expect.stringContaining('TESTCA') });
    expect(ssl && typeof ssl.checkServerIdentity).toBe('function');
  });

  it('verify-full → chain and host name checked (Node default identity check)', () => {
    const ssl = pgSslOption({ mode: 'verify-full', caFile: CA });
    expect(ssl).toEqual({ rejectUnauthorized: true, ca: expect.stringContaining('TESTCA') });
    expect(pgSslOption({ mode: 'verify-full' })).toEqual({ rejectUnauthorized: true });
  });

  it('adds a client certificate when sslcert and sslkey are given', () => {
    const cert = join(dir, 'client.pem');
    const key = join(dir, 'client.key');
    writeFileSync(cert, 'CERT');
    writeFileSync(key, 'KEY');
    expect(pgSslOption({ mode: 'verify-full', certFile: cert, keyFile: key })).toMatchObject({
      cert: 'CERT',
      key: 'KEY',
    });
  });
});

describe('pgConnectionOptions as node-postgres applies them', () => {
  it('removes the SSL parameters from the URL and keeps everything else', () => {
    expect(
      stripSslParameters(`${BASE}?sslmode=verify-full&sslrootcert=${CA}&application_name=x`),
    ).toBe(`${BASE}?application_name=x`);
    expect(stripSslParameters(BASE)).toBe(BASE);
  });

  it('gives pg our ssl option, which the sslmode in the URL would otherwise replace', () => {
    const url = `${BASE}?sslmode=verify-full`;
    // What pg does by itself: the URL's sslmode wins and the CA next to it is dropped.
    const naive = new Client({ connectionString: url, ssl: { ca: 'CA' } });
    expect(
      (naive as unknown as { connectionParameters: { ssl: unknown } }).connectionParameters.ssl,
    ).toEqual({});
    const ours = new Client(pgConnectionOptions(url, CA));
    const params = (ours as unknown as { connectionParameters: Record<string, unknown> })
      .connectionParameters;
    expect(params.ssl).toEqual({ rejectUnauthorized: true, ca: expect.stringContaining('TESTCA') });
    expect(params).toMatchObject({
      host: 'db.internal',
      port: 5432,
      database: 'orchestrator',
      user: 'app',
    });
  });

  it('ignores PGSSLMODE: the connection string decides', () => {
    const saved = process.env.PGSSLMODE;
    process.env.PGSSLMODE = 'require';
    try {
      const client = new Client(pgConnectionOptions(BASE));
      expect(
        (client as unknown as { connectionParameters: { ssl: unknown } }).connectionParameters.ssl,
      ).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.PGSSLMODE;
      else process.env.PGSSLMODE = saved;
    }
  });

  it('throws on settings the config check would have refused', () => {
    expect(() => pgConnectionOptions(`${BASE}?sslmode=prefer`)).toThrow(/plain text/);
  });
});

describe('describeDatabaseConnection', () => {
  it('says where and how, never who', () => {
    expect(describeDatabaseConnection(`${BASE}?sslmode=verify-full`, CA)).toEqual({
      host: 'db.internal',
      port: 5432,
      database: 'orchestrator',
      encrypted: true,
      verified: 'full',
      ca: 'file',
    });
    expect(describeDatabaseConnection(`${BASE}?sslmode=require`)).toMatchObject({
      encrypted: true,
      verified: 'none',
    });
    expect(describeDatabaseConnection(BASE)).toMatchObject({ encrypted: false, verified: 'none' });
    expect(JSON.stringify(describeDatabaseConnection(`${BASE}?sslmode=require`))).not.toMatch(
      /s3cret|app:/,
    );
  });
});
