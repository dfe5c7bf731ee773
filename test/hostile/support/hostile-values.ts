import fc from 'fast-check';

/** Bytes a header value may carry on the wire: HTAB, visible ASCII, space and obs-text. */
const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constant('\t') },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)) },
);

/** Any value a client can put in a header (latin1, as Node sends it). */
export function headerValue(maxLength = 80): fc.Arbitrary<string> {
  return fc.stringOf(headerChar, { maxLength });
}

/** Strings that have broken string handling, SQL and URL parsing somewhere before. */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  '0',
  '-1',
  'null',
  'undefined',
  'true',
  'NaN',
  'Infinity',
  '1e309',
  '0x1F',
  '9007199254740993',
  "' OR '1'='1",
  "1' OR '1'='1' --",
  '1; DROP TABLE webhook_events; --',
  "'); DELETE FROM workflow_tasks; --",
  '1 UNION SELECT usename, passwd FROM pg_shadow',
  "%' OR 1=1 --",
  "'; SELECT pg_sleep(3); --",
  '$1',
  '\\',
  '"',
  '../../../../etc/passwd',
  '%00',
  '%zz',
  '%',
  '+',
  '&',
  '=',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '{"$gt":""}',
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '{{7*7}}',
  'ü',
  'İ',
  '💥',
  '\u202e',
  '\ufeff',
];

/** A nasty string, a random unicode string, or a long one. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.fullUnicodeString({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 200, maxLength: 3000 }) },
);

/** Numbers at the edges of int4, int8, safe integers and doubles. */
export const edgeNumber: fc.Arbitrary<number> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      0,
      -0,
      1,
      -1,
      1.5,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32,
      2 ** 53 - 1,
      2 ** 53,
      2 ** 63,
      2 ** 64,
      1e308,
      -1e308,
      5e-324,
    ),
  },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.maxSafeInteger() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

/** Object keys: ordinary, prototype-shaped, unicode, and the ones GitHub payloads use. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'status',
    'action',
    'id',
    '',
    '$where',
    'a.b',
    'a[b]',
  ),
  fc.fullUnicodeString({ maxLength: 12 }),
);

/** Strings PostgreSQL jsonb refuses as they are: NUL and unpaired surrogates. */
export const unstorableString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\udbff\u0000'),
  fc.string16bits({ maxLength: 12 }),
);

/** True when a string has no unpaired surrogate (so it can be UTF-8 and URI encoded). */
export function isWellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** Any JSON value a hostile payload might hold, nested a little. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString,
    unstorableString,
    edgeNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    jsonObject(hostileKey, tie('value'), 4),
  ),
})).value;

/**
 * A JSON object whose keys become own properties, `__proto__` included, exactly as `JSON.parse`
 * would build it (a plain assignment to `__proto__` would set the prototype instead).
 */
export function jsonObject(
  key: fc.Arbitrary<string>,
  value: fc.Arbitrary<unknown>,
  maxKeys: number,
): fc.Arbitrary<Record<string, unknown>> {
  return fc.array(fc.tuple(key, value), { maxLength: maxKeys }).map((entries) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) setOwn(out, k, v);
    return out;
  });
}

/** Sets an own, enumerable property, even one named `__proto__`. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Prototype-pollution probes: the keys an attacker would use, with a marker value. */
export const POLLUTION_MARKER = 'hostile_polluted';

/** Fails if any request managed to add a property to Object.prototype (or Array's). */
export function assertNoPollution(): void {
  const probe: Record<string, unknown> = {};
  if (POLLUTION_MARKER in probe || 'polluted' in probe || POLLUTION_MARKER in []) {
    throw new Error('Object.prototype was polluted by a request');
  }
}

const unicodeText = fc.fullUnicodeString({ maxLength: 40 });

/** A payload of unicode keys and values (emoji, astral planes, RTL marks, NUL, lone surrogates). */
export const fullUnicodeObject: fc.Arbitrary<Record<string, unknown>> = jsonObject(
  fc.oneof(unicodeText, fc.constantFrom('action', 'zen', '名前', '🔑', '\u202eevil')),
  fc.oneof(
    { weight: 4, arbitrary: unicodeText },
    { weight: 1, arbitrary: unstorableString },
    { weight: 1, arbitrary: fc.array(unicodeText, { maxLength: 4 }) },
    { weight: 1, arbitrary: jsonObject(unicodeText, unicodeText, 3) },
    { weight: 1, arbitrary: edgeNumber },
  ),
  8,
);

/** The nesting limit of JSON bodies (GitHub payloads nest about ten levels). */
export const MAX_DEPTH = 512;

/** Levels of objects and arrays, the outermost counting 1 (iterative: bodies nest deep). */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, level] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    deepest = Math.max(deepest, level);
    for (const child of Object.values(v)) stack.push([child, level + 1]);
  }
  return deepest;
}
