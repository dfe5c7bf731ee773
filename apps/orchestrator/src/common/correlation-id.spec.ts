import type { NextFunction, Request, Response } from 'express';
import { correlationIdMiddleware } from './correlation-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function run(headers: Record<string, string | string[]>): {
  id: string;
  echoed: Record<string, string>;
} {
  const req = { headers } as unknown as Request;
  const echoed: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string) => (echoed[name] = value),
  } as unknown as Response;
  let called = false;
  correlationIdMiddleware(req, res, (() => (called = true)) as NextFunction);
  expect(called).toBe(true);
  return { id: req.correlationId as string, echoed };
}

describe('correlationIdMiddleware', () => {
  it('keeps a short printable id from X-Request-ID or X-Correlation-ID and echoes it', () => {
    expect(run({ 'x-request-id': 'abc-123_x.y:z' })).toEqual({
      id: 'abc-123_x.y:z',
      echoed: { 'X-Correlation-ID': 'abc-123_x.y:z', 'X-Request-ID': 'abc-123_x.y:z' },
    });
    expect(run({ 'x-correlation-id': 'c'.repeat(128) }).id).toBe('c'.repeat(128));
  });

  it.each([
    ['129 characters', 'a'.repeat(129)],
    ['10 KB', 'a'.repeat(10_000)],
    ['a CRLF header injection', 'abc\r\nSet-Cookie: x=1'],
    ['a log-line injection', 'abc"}\n{"level":"error"'],
    ['spaces', 'abc def'],
    ['markup', '<script>alert(1)</script>'],
    ['non-ASCII', 'ïd-ünïcödé'],
    ['NUL', 'abc\u0000'],
    ['an empty value', ''],
  ])('replaces %s with a generated id', (_what, value) => {
    const { id, echoed } = run({ 'x-request-id': value });
    expect(id).toMatch(UUID);
    expect(echoed['X-Request-ID']).toBe(id);
  });

  it('uses the first of repeated headers only when it is sane', () => {
    expect(run({ 'x-request-id': ['good-1', 'other'] }).id).toBe('good-1');
    expect(run({ 'x-request-id': ['bad id', 'good-2'] }).id).toMatch(UUID);
  });
});
