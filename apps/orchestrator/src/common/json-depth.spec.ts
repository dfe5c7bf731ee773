import { MAX_JSON_DEPTH, nestsTooDeep } from './json-depth';

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('nestsTooDeep', () => {
  it('accepts nesting up to the limit and refuses one level more', () => {
    expect(nestsTooDeep(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(nestsTooDeep(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(nestsTooDeep(`{"a":${nested(MAX_JSON_DEPTH)}}`)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = `{"a":"${'['.repeat(2000)}\\"${'{'.repeat(2000)}"}`;
    expect(nestsTooDeep(text)).toBe(false);
  });

  it('counts depth, not the number of brackets', () => {
    expect(nestsTooDeep(`[${'[],'.repeat(5000)}[]]`)).toBe(false);
  });
});
