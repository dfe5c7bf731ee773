import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { describeRedisConnection, parseRedisUrl, redisConnectionOptions } from './redis-connection';

const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CA = join(dir, 'ca.pem');
writeFileSync(CA, 'REDISCA');

describe('redisConnectionOptions', () => {
  it('redis:// → plain connection with the URL parts', () => {
    expect(redisConnectionOptions('redis://:p%40ss@cache.internal:6380/2')).toEqual({
      host: 'cache.internal',
      port: 6380,
      db: 2,
      password: 'p@ss',
    });
    expect(redisConnectionOptions('redis://localhost')).toEqual({
      host: 'localhost',
      port: 6379,
      db: 0,
    });
  });

  it('rediss:// → TLS, certificate and host name verified, optional CA file', () => {
    expect(redisConnectionOptions('rediss://default:pw@cache.internal:6380/0', CA)).toEqual({
      host: 'cache.internal',
      port: 6380,
      db: 0,
      username: 'default',
      password: 'pw',
      tls: { rejectUnauthorized: true, servername: 'cache.internal', ca: ['REDISCA'] },
    });
    // No SNI for an IP address (RFC 6066); the certificate is still checked against it.
    expect(redisConnectionOptions('rediss://10.1.2.3:6380').tls).toEqual({
      rejectUnauthorized: true,
    });
    expect(redisConnectionOptions('rediss://[::1]:6380').host).toBe('::1');
  });

  it('is what an ioredis client (the API limiter) ends up with', () => {
    const client = new Redis({
      ...redisConnectionOptions('rediss://cache.internal:6380', CA),
      lazyConnect: true,
    });
    try {
      expect(client.options.tls).toMatchObject({ ca: ['REDISCA'], rejectUnauthorized: true });
    } finally {
      client.disconnect();
    }
  });

  it.each([
    ['http://cache:6379', 'must use redis: or rediss:'],
    ['redis://cache:6379/db', 'database must be a number'],
    ['redis://cache:6379/0?tls=true', 'query parameters'],
    ['rediss://:pw@', 'not a valid URL'],
  ])('refuses %s without echoing it', (url, message) => {
    const { problems } = parseRedisUrl(url);
    expect(problems.join(' ')).toContain(message);
    expect(problems.join(' ')).not.toContain('pw');
    expect(() => redisConnectionOptions(url)).toThrow();
  });
});

describe('describeRedisConnection', () => {
  it('says whether the connection is encrypted, never the password', () => {
    expect(describeRedisConnection('rediss://:hunter2@cache:6380/0', CA)).toEqual({
      host: 'cache',
      port: 6380,
      encrypted: true,
      verified: 'full',
      ca: 'file',
    });
    expect(describeRedisConnection('redis://:hunter2@cache:6379/0')).toEqual({
      host: 'cache',
      port: 6379,
      encrypted: false,
      verified: 'none',
    });
  });
});
