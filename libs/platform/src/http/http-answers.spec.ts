import {
  asArray,
  errorBodyDetail,
  integerHeader,
  isFetchFailure,
  readInteger,
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
