import { ExternalServiceError } from '../errors/domain-error';
import {
  asArray,
  asRecord,
  errorBodyDetail,
  failedAnswerError,
  integerHeader,
  isFetchFailure,
  readInteger,
  readJsonAnswer,
  readNullableString,
  serviceBaseUrl,
  ShapeError,
} from './http-answers';

describe('errorBodyDetail', () => {
  it('reads GitHub and Codegen messages, string details and FastAPI problems, bounded', () => {
    expect(errorBodyDetail('{"message":"Not Found","documentation_url":"x"}')).toBe('Not Found');
    expect(errorBodyDetail('{"detail":"Invalid token"}')).toBe('Invalid token');
    expect(
      errorBodyDetail('{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"x"}]}'),
    ).toBe('body.prompt: field required');
    expect(errorBodyDetail(JSON.stringify({ message: 'x'.repeat(5000) }))).toHaveLength(200);
  });

  it('says nothing about a body that is not a JSON object with a message', () => {
    expect(errorBodyDetail('<html>502 Bad Gateway</html>')).toBeUndefined();
    expect(errorBodyDetail('["message"]')).toBeUndefined();
    expect(errorBodyDetail('{"message":42}')).toBeUndefined();
    expect(errorBodyDetail('')).toBeUndefined();
  });
});

describe('shape readers', () => {
  it('name the field that has the wrong shape', () => {
    expect(() => readInteger({ id: 1.5 }, 'id', 'body')).toThrow(
      new ShapeError('body.id is not an integer'),
    );
    expect(() => asArray({}, 'body.items')).toThrow('body.items is not an array');
    expect(readNullableString({}, 'name', 'body')).toBeNull();
    expect(() => readNullableString({ name: 1 }, 'name', 'body')).toThrow(
      'body.name is not a string',
    );
  });
});

describe('integerHeader', () => {
  it('reads only non-negative integers', () => {
    const headers = new Headers({ a: ' 42 ', b: '-1', c: '1e3', d: '' });
    expect(integerHeader(headers, 'a')).toBe(42);
    for (const name of ['b', 'c', 'd', 'missing'])
      expect(integerHeader(headers, name)).toBeUndefined();
  });
});

describe('isFetchFailure', () => {
  it("is fetch's own failure, not any error", () => {
    expect(isFetchFailure(new TypeError('fetch failed'))).toBe(true);
    expect(isFetchFailure(new TypeError('terminated'))).toBe(true);
    expect(isFetchFailure(new Error('fetch failed'))).toBe(false);
    expect(isFetchFailure(new TypeError('x is not a function'))).toBe(false);
  });
});

describe('serviceBaseUrl', () => {
  it('keeps an http(s) URL without trailing slashes', () => {
    expect(serviceBaseUrl('C', 'url', 'https://api.example.com/v3///')).toBe(
      'https://api.example.com/v3',
    );
  });

  it('refuses what can never work, naming the setting', () => {
    expect(() => serviceBaseUrl('GithubClient', 'apiUrl', 'api.github.com')).toThrow(
      'GithubClient: apiUrl must be an absolute URL',
    );
    expect(() => serviceBaseUrl('C', 'baseUrl', 'file:///etc/passwd')).toThrow(
      'C: baseUrl must be an http(s) URL',
    );
    expect(() => serviceBaseUrl('C', 'baseUrl', 'https://x.example/?a=1')).toThrow(
      'must not carry a query or fragment',
    );
  });
});

describe('readJsonAnswer', () => {
  const id = (body: unknown) => readInteger(asRecord(body, 'body'), 'id', 'body');

  it('maps a JSON body, or names the field a mapper refused', () => {
    expect(readJsonAnswer('{"id":7}', id)).toEqual({ ok: true, value: 7 });
    expect(readJsonAnswer('{"id":"7"}', id)).toEqual({
      ok: false,
      problem: 'body.id is not an integer',
    });
  });

  it("says only 'body is not JSON', never the parser's message quoting the body", () => {
    for (const text of ['<html>secret-token-123</html>', '{"id":', ''])
      expect(readJsonAnswer(text, id)).toEqual({ ok: false, problem: 'body is not JSON' });
  });

  it('maps an empty body as null only when asked to', () => {
    expect(readJsonAnswer('', (body) => body, { emptyIsNull: true })).toEqual({
      ok: true,
      value: null,
    });
  });

  it("lets a mapper's own bug through rather than calling it a bad answer", () => {
    expect(() =>
      readJsonAnswer('{}', () => {
        throw new RangeError('bug');
      }),
    ).toThrow(RangeError);
  });
});

describe('failedAnswerError', () => {
  const answer = (status: number, transient: boolean, detail?: string) =>
    failedAnswerError({
      service: 'codegen',
      serviceName: 'Codegen',
      label: 'GET /v1/x',
      status,
      headers: new Headers({ 'retry-after': '4' }),
      detail,
      transient,
    });

  it("names the service, request, status and detail; a transient one keeps Retry-After's wait", () => {
    const error = answer(503, true, 'overloaded');
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect(error).toMatchObject({
      service: 'codegen',
      message: 'Codegen GET /v1/x answered 503: overloaded',
      transient: true,
      status: 503,
      retryAfterMs: 4000,
    });
  });

  it('gives a permanent one no wait, and no colon without a detail', () => {
    expect(answer(404, false)).toMatchObject({
      message: 'Codegen GET /v1/x answered 404',
      transient: false,
      retryAfterMs: undefined,
    });
  });
});
