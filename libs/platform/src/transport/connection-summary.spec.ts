import { Writable } from 'node:stream';
import { transports } from 'winston';
import { createJsonLogger } from '../logging/json-logger';
import { logConnectionSecurity } from './connection-summary';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createJsonLogger('worker', 'info');
  logger.clear();
  logger.add(
    new transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    }),
  );
  return { logger, lines };
}

describe('logConnectionSecurity', () => {
  it('writes one line saying whether each connection is encrypted, without credentials', () => {
    const { logger, lines } = capture();
    logConnectionSecurity(logger, {
      databaseUrl: 'postgres://app:pg-pass@db.internal/orch?sslmode=verify-full',
      queueRedisUrl: 'rediss://:redis-pass@cache.internal:6380/0',
      isProduction: true,
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      message: 'connection security',
      database: { host: 'db.internal', encrypted: true, verified: 'full', ca: 'system' },
      redis: { host: 'cache.internal', encrypted: true, verified: 'full' },
    });
    expect(JSON.stringify(lines)).not.toMatch(/pg-pass|redis-pass|app:/);
  });

  it('warns in production about a plain-text connection to another host, not to localhost', () => {
    const { logger, lines } = capture();
    logConnectionSecurity(logger, {
      databaseUrl: 'postgres://app:pw@db.internal/orch',
      queueRedisUrl: 'redis://127.0.0.1:6379/0',
      isProduction: true,
    });
    expect(lines[0]).toMatchObject({ level: 'warn', unverified: ['database'] });
    const dev = capture();
    logConnectionSecurity(dev.logger, {
      databaseUrl: 'postgres://app:pw@db.internal/orch',
      queueRedisUrl: 'redis://cache:6379/0',
      isProduction: false,
    });
    expect(dev.lines[0]).toMatchObject({ level: 'info', database: { encrypted: false } });
  });
});
