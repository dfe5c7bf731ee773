import { Writable } from 'node:stream';
import { transports } from 'winston';
import { annotateLogContext, runWithLogContext } from './log-context';
import { createJsonLogger, NestJsonLogger, registerLogSecrets } from './json-logger';

function capture(level: 'debug' | 'info' | 'error' = 'info') {
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

  it('cuts registered secret values out of any message or field', () => {
    const { logger, lines } = capture();
    registerLogSecrets(['ghp_secretTokenValue123', 'short']);
    logger.warn('GitHub answered 502: bad credentials ghp_secretTokenValue123', {
      error: { detail: 'Bearer ghp_secretTokenValue123' },
      note: 'short words stay',
    });
    expect(lines[0]).not.toContain('ghp_secretTokenValue123');
    expect(JSON.parse(lines[0])).toMatchObject({
      message: 'GitHub answered 502: bad credentials [redacted]',
      error: { detail: 'Bearer [redacted]' },
      note: 'short words stay',
    });
  });

  it('adds the ids of the current request or job to every line', () => {
    const { logger, lines } = capture();
    runWithLogContext({ correlation_id: 'c-1', delivery_id: 'd-1' }, () => {
      annotateLogContext({ task_id: 't-1', execution_id: 7 });
      logger.info('inside');
      logger.info('explicit wins', { task_id: 't-2' });
    });
    logger.info('outside');
    const [inside, explicit, outside] = lines.map((l) => JSON.parse(l));
    expect(inside).toMatchObject({
      correlation_id: 'c-1',
      delivery_id: 'd-1',
      task_id: 't-1',
      execution_id: 7,
    });
    expect(explicit.task_id).toBe('t-2');
    expect(outside.correlation_id).toBeUndefined();
  });

  it('respects the level', () => {
    const { logger, lines } = capture('error');
    logger.info('quiet');
    logger.error('loud');
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['loud']);
  });
});

describe('NestJsonLogger', () => {
  // What Nest logs while an app starts: one line per module and per route, then one "started".
  const startup = (nest: NestJsonLogger): void => {
    nest.log('OrchestratorModule dependencies initialized', 'InstanceLoader');
    nest.log('TasksController {/api/v1/tasks}:', 'RoutesResolver');
    nest.log('Mapped {/api/v1/tasks, GET} route', 'RouterExplorer');
    nest.log('Nest application successfully started', 'NestApplication');
    nest.warn('something odd', 'RouterExplorer');
  };

  it('keeps module and route mapping lines out of the info log', () => {
    const { logger, lines } = capture('info');
    startup(new NestJsonLogger(logger));
    expect(lines.map((l) => JSON.parse(l).message)).toEqual([
      'Nest application successfully started',
      'something odd',
    ]);
  });

  it('shows them at debug', () => {
    const { logger, lines } = capture('debug');
    startup(new NestJsonLogger(logger));
    expect(lines.map((l) => JSON.parse(l))).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'debug',
          context: 'RouterExplorer',
          message: 'Mapped {/api/v1/tasks, GET} route',
        }),
      ]),
    );
    expect(lines).toHaveLength(5);
  });
});
