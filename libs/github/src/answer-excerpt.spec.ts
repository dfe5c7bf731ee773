import { answerExcerpt } from './answer-excerpt';

describe('answerExcerpt (a raw GitHub answer as it may be logged)', () => {
  it('cuts out tokens, JWTs and secret fields, keeping the rest readable', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMifQ.c2lnbmF0dXJlLXZhbHVl';
    const text = JSON.stringify({
      token: 'v1.abcdef0123456789',
      note: `saw ghs_16C7e42F292c6912E7710c838347Ae178B4a and Bearer ${jwt}`,
      title: 42,
    });

    const excerpt = answerExcerpt(text);

    expect(excerpt).not.toContain('v1.abcdef0123456789');
    expect(excerpt).not.toContain('16C7e42F292c6912E7710c838347Ae178B4a');
    expect(excerpt).not.toContain('c2lnbmF0dXJlLXZhbHVl');
    expect(excerpt).toContain('"token":"[redacted]"');
    expect(excerpt).toContain('ghs_[redacted]');
    expect(excerpt).toContain('"title":42');
  });

  it('keeps at most 1000 characters and says how much was left off', () => {
    const excerpt = answerExcerpt('x'.repeat(5000));

    expect(excerpt).toBe(`${'x'.repeat(1000)}… (4000 more characters)`);
  });
});
