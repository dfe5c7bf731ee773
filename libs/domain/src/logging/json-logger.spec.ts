import { Writable } from 'node:stream';
import { transports } from 'winston';
import { createJsonLogger } from './json-logger';

function capture(level: 'info' | 'error' = 'info') {
  const lines: string[] = [];
  const logger = createJsonLogger('test', level);
  logger.clear();
  logger.add(
    new transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    }),
  );
  return { logger, lines };
}

describe('createJsonLogger', () => {
  it('writes one JSON object per line with level, message, timestamp and service', () => {
    const { logger, lines } = capture();
    logger.info('task completed', { task_id: 't-1' });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'info',
      message: 'task completed',
      service: 'test',
      task_id: 't-1',
      timestamp: expect.any(String),
    });
  });

  it('never writes secrets, even when a caller passes them', () => {
    const { logger, lines } = capture();
    logger.warn('request', {
      headers: {
        authorization: 'Bearer abc',
        'x-hub-signature-256': 'sha256=dead',
        'user-agent': 'ua',
      },
      token: 'tok',
    });
    const line = JSON.parse(lines[0]);
    expect(line.headers).toEqual({
      authorization: '[redacted]',
      'x-hub-signature-256': '[redacted]',
      'user-agent': 'ua',
    });
    expect(line.token).toBe('[redacted]');
    expect(lines[0]).not.toContain('abc');
  });

  it('respects the level', () => {
    const { logger, lines } = capture('error');
    logger.info('quiet');
    logger.error('loud');
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['loud']);
  });
});
