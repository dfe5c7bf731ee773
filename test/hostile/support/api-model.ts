import fc from 'fast-check';
import { example } from '../../support/harness';
import { RawHeader, RawResponse, sendRaw } from './http';
import {
  assertNoPollution,
  hostileJson,
  hostileKey,
  isWellFormed,
  jsonDepth,
  jsonObject,
  MAX_DEPTH,
  nastyString,
  POLLUTION_MARKER,
  setOwn,
} from './hostile-values';
import type { LeakWatch } from './leak-watch';
import type { ApiOperation, Parameter, ResponseSchemas, Schema } from './openapi';

/*
 * Requests generated from the OpenAPI document: for each operation, values for its path and
 * query parameters and its body, drawn from the parameter schemas (valid ones) and from hostile
 * pools (SQL, prototype keys, escapes, unicode, edge numbers); then the answer is checked against
 * the document: a documented status, never a 5xx, the response schema or the error format.
 */

/** How the request authenticates. Only operator and viewer tokens are genuine. */
export type AuthKind =
  | 'operator'
  | 'viewer'
  | 'none'
  | 'expired'
  | 'forged'
  | 'alg-none'
  | 'tampered'
  | 'unknown-role'
  | 'basic'
  | 'no-scheme'
  | 'garbage';

export const AUTH_KINDS: readonly AuthKind[] = [
  'operator',
  'viewer',
  'none',
  'expired',
  'forged',
  'alg-none',
  'tampered',
  'unknown-role',
  'basic',
  'no-scheme',
  'garbage',
];

/** One value of a parameter. `valid`: certainly accepted (drawn from the schema); `raw`: not escaped. */
export interface Value {
  text: string;
  raw: boolean;
  valid: boolean;
}

export interface PathValue extends Value {
  /** Names a stored row. */
  exists: boolean;
}

export type ApiBody =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown; valid: boolean }
  | { kind: 'text'; text: string; contentType: string }
  | { kind: 'deep'; depth: number };

export interface ApiCase {
  op: string;
  auth: AuthKind;
  path: Record<string, PathValue>;
  query: Array<{ name: string; value: Value; extra: boolean }>;
  body: ApiBody;
}

/** Ids that exist, so some requests reach the rows and the 2xx schemas. */
export interface IdPools {
  eventIds: number[];
  taskIds: string[];
}

const wellFormed = nastyString.filter(isWellFormed);

const hostileText: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: wellFormed.map((text) => ({ text, raw: false, valid: false })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '%zz',
        '%',
        '%00',
        '%2F',
        '%E0%A4%A',
        '%C0%AF',
        '%FF',
        '..',
        '.',
        '+',
        '%2B',
        '%u0041',
      )
      .map((text) => ({ text, raw: true, valid: false })),
  },
);

function numericId(existing: number[]): fc.Arbitrary<PathValue> {
  const arbs: Array<fc.WeightedArbitrary<PathValue>> = [
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: 100_000_000, max: 2 ** 31 - 1 })
        .map((n) => ({ text: String(n), raw: false, valid: true, exists: false })),
    },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            '0',
            '-1',
            '1.5',
            '1e3',
            '01',
            ' 1',
            '0x1',
            '9007199254740993',
            '9'.repeat(30),
            '١',
          ),
          wellFormed,
        )
        .map((text) => ({ text, raw: false, valid: false, exists: false })),
    },
    { weight: 1, arbitrary: hostileText.map((v) => ({ ...v, exists: false })) },
  ];
  if (existing.length > 0) {
    arbs.push({
      weight: 4,
      arbitrary: fc
        .constantFrom(...existing)
        .map((n) => ({ text: String(n), raw: false, valid: true, exists: true })),
    });
  }
  return fc.oneof(...arbs).filter((v) => v.text !== '');
}

function uuidId(existing: string[]): fc.Arbitrary<PathValue> {
  const arbs: Array<fc.WeightedArbitrary<PathValue>> = [
    {
      weight: 2,
      arbitrary: fc.uuid().map((text) => ({ text, raw: false, valid: true, exists: false })),
    },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.uuid().map((u) => `${u}x`),
          fc.uuid().map((u) => u.replace(/-/g, '')),
          fc.uuid().map((u) => `{${u}}`),
          wellFormed,
        )
        .map((text) => ({ text, raw: false, valid: false, exists: false })),
    },
    { weight: 1, arbitrary: hostileText.map((v) => ({ ...v, exists: false })) },
  ];
  if (existing.length > 0) {
    arbs.push({
      weight: 4,
      arbitrary: fc.tuple(fc.constantFrom(...existing), fc.boolean()).map(([id, upper]) => ({
        text: upper ? id.toUpperCase() : id,
        raw: false,
        valid: true,
        exists: true,
      })),
    });
  }
  return fc.oneof(...arbs).filter((v) => v.text !== '');
}

/** Values the schema itself vouches for: enum members, booleans, integers in range, the example. */
function validQueryValue(schema: Schema): fc.Arbitrary<Value> | undefined {
  const valid = (text: string): Value => ({ text, raw: false, valid: true });
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum.map(String)).map(valid);
  if (schema.type === 'boolean') return fc.constantFrom('true', 'false').map(valid);
  if (schema.type === 'number' || schema.type === 'integer') {
    const min = typeof schema.minimum === 'number' ? schema.minimum : 0;
    const max = Math.min(typeof schema.maximum === 'number' ? schema.maximum : 1000, 1000);
    return fc.integer({ min, max }).map((n) => valid(String(n)));
  }
  if (typeof schema.example === 'string') return fc.constant(valid(schema.example));
  return undefined;
}

function hostileQueryValue(schema: Schema): fc.Arbitrary<Value> {
  const edges: string[] = [
    '',
    '-1',
    '0',
    '1.5',
    '1e3',
    'abc',
    'TRUE',
    '1',
    'yes',
    'null',
    '2147483648',
    '1e309',
  ];
  if (typeof schema.minimum === 'number') edges.push(String(schema.minimum - 1));
  if (typeof schema.maximum === 'number') edges.push(String(schema.maximum + 1));
  if (Array.isArray(schema.enum)) edges.push(...schema.enum.map((v) => String(v).toUpperCase()));
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc.constantFrom(...edges).map((text) => ({ text, raw: false, valid: false })),
    },
    { weight: 3, arbitrary: hostileText },
  );
}

function queryParamArb(
  param: Parameter,
): fc.Arbitrary<Array<{ name: string; value: Value; extra: boolean }>> {
  const schema = param.schema ?? {};
  const valid = validQueryValue(schema);
  const value = valid
    ? fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: hostileQueryValue(schema) })
    : hostileQueryValue(schema);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant([]) },
    { weight: 4, arbitrary: value.map((v) => [{ name: param.name, value: v, extra: false }]) },
    // The same parameter twice: arrays where the code expects one value.
    {
      weight: 1,
      arbitrary: fc.tuple(value, value).map(([a, b]) => [
        { name: param.name, value: a, extra: true },
        { name: param.name, value: b, extra: true },
      ]),
    },
  );
}

const EXTRA_NAMES = [
  '__proto__',
  'constructor',
  'status',
  'prototype',
  `__proto__[${POLLUTION_MARKER}]`,
  `constructor[prototype][${POLLUTION_MARKER}]`,
  'toString',
  'hasOwnProperty',
  'limit[]',
  'a[b][c]',
  'sort',
  'order',
  'where',
];

const extraQueryArb = fc.record({
  name: fc.oneof(fc.constantFrom(...EXTRA_NAMES), fc.stringMatching(/^[a-z_]{1,12}$/)),
  value: fc.oneof(hostileText, fc.constant({ text: 'true', raw: false, valid: false })),
  extra: fc.constant(true),
});

/** A body drawn from the request schema: the example's shape, then broken in every way. */
function schemaBodyArb(schema: Schema): fc.Arbitrary<ApiBody> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const payloads = ['pull_request', 'push', 'check_run', 'ping'].map((e) => example(e));
  const propertyValue = (
    name: string,
    prop: Schema,
  ): fc.Arbitrary<{ value: unknown; valid: boolean }> => {
    if (prop.type === 'object') {
      return fc.oneof(
        fc.constantFrom(...payloads).map((value) => ({ value, valid: true })),
        jsonObject(hostileKey, hostileJson, 6).map((value) => ({ value, valid: true })),
        hostileJson.map((value) => ({ value, valid: false })),
      );
    }
    const exampleValue = prop.example ?? (name === 'event_type' ? 'pull_request' : undefined);
    return fc.oneof(
      ...(exampleValue === undefined ? [] : [fc.constant({ value: exampleValue, valid: true })]),
      fc
        .constantFrom('push', 'check_suite', 'ping')
        .map((value) => ({ value, valid: prop.type === 'string' })),
      hostileJson.map((value) => ({ value, valid: false })),
    );
  };
  const shaped = fc
    .tuple(
      ...Object.entries(properties).map(([name, prop]) =>
        fc.tuple(
          fc.constant(name),
          fc.option(propertyValue(name, prop), { freq: 6, nil: undefined }),
        ),
      ),
    )
    .chain((entries) =>
      fc
        .array(
          fc.tuple(
            fc.constantFrom(
              '__proto__',
              'constructor',
              'status',
              'prototype',
              'isAdmin',
              'payload',
            ),
            hostileJson,
          ),
          { maxLength: 2 },
        )
        .map((extras) => {
          const required = new Set((schema.required ?? []) as string[]);
          const value: Record<string, unknown> = {};
          let valid = true;
          for (const [name, v] of entries) {
            if (v === undefined) {
              if (required.has(name)) valid = false;
              continue;
            }
            setOwn(value, name, v.value);
            valid &&= v.valid;
          }
          for (const [name, v] of extras) {
            setOwn(
              value,
              name,
              name === '__proto__' || name === 'constructor'
                ? { [POLLUTION_MARKER]: v, prototype: { [POLLUTION_MARKER]: v } }
                : v,
            );
            valid = false;
          }
          return { kind: 'json' as const, value, valid };
        }),
    );
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 3, arbitrary: junkBodyArb });
}

const junkBodyArb: fc.Arbitrary<ApiBody> = fc.oneof(
  hostileJson.map((value) => ({ kind: 'json' as const, value, valid: false })),
  fc
    .tuple(
      fc.constantFrom(
        '{',
        '{"a":',
        'nul',
        '[1,]',
        '{"a":1}{',
        "{'a':1}",
        '\u0000',
        '',
        '{"__proto__":{"hostile_polluted":1}}',
      ),
      fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        'application/merge-patch+json',
      ),
    )
    .map(([text, contentType]) => ({ kind: 'text' as const, text, contentType })),
  fc.integer({ min: 100, max: 30_000 }).map((depth) => ({ kind: 'deep' as const, depth })),
);

/** Every request shape for one operation. */
export function apiCaseArb(op: ApiOperation, pools: IdPools): fc.Arbitrary<ApiCase> {
  const pathArbs: Record<string, fc.Arbitrary<PathValue>> = {};
  for (const p of op.pathParams) {
    pathArbs[p.name] =
      p.schema?.type === 'number' || p.schema?.type === 'integer'
        ? numericId(pools.eventIds)
        : uuidId(pools.taskIds);
  }
  const body: fc.Arbitrary<ApiBody> = op.bodySchema
    ? schemaBodyArb(op.bodySchema)
    : fc.oneof(
        { weight: 8, arbitrary: fc.constant({ kind: 'none' as const }) },
        { weight: 1, arbitrary: junkBodyArb },
      );
  return fc.record({
    op: fc.constant(op.id),
    auth: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom<AuthKind>('operator', 'viewer') },
      { weight: 3, arbitrary: fc.constantFrom(...AUTH_KINDS) },
    ),
    path: fc.record(pathArbs),
    query: fc
      .tuple(
        fc.tuple(...op.queryParams.map(queryParamArb)),
        fc.oneof(
          { weight: 4, arbitrary: fc.constant([]) },
          { weight: 1, arbitrary: fc.array(extraQueryArb, { minLength: 1, maxLength: 2 }) },
        ),
      )
      .map(([documented, extras]) => [...documented.flat(), ...extras]),
    body,
  });
}

// ---------------------------------------------------------------------------------------------

export interface ApiContext {
  url: string;
  operations: Map<string, ApiOperation>;
  schemas: ResponseSchemas;
  /** The Authorization header of each kind (undefined: none sent). */
  authorization: Record<AuthKind, string | undefined>;
  leaks: LeakWatch;
  /** Statuses seen per operation, for the summary. */
  seen?: Map<string, Map<number, number>>;
}

/** `Events_get 200×12 400×30 ...`: which answers the generated requests reached. */
export function describeCoverage(ctx: ApiContext): string {
  return [...(ctx.seen ?? new Map<string, Map<number, number>>())]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, statuses]) => {
      const parts = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
      return `  ${op}: ${parts.join(' ')}`;
    })
    .join('\n');
}

function encode(v: Value): string {
  return v.raw ? v.text : encodeURIComponent(v.text);
}

export function requestOf(
  op: ApiOperation,
  c: ApiCase,
): { path: string; query: string; headers: RawHeader[]; body?: Buffer } {
  const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => encode(c.path[name]));
  const query = c.query.map((q) => `${q.name}=${encode(q.value)}`).join('&');
  const headers: RawHeader[] = [];
  let body: Buffer | undefined;
  switch (c.body.kind) {
    case 'none':
      break;
    case 'json':
      headers.push(['Content-Type', 'application/json']);
      body = Buffer.from(JSON.stringify(c.body.value) ?? 'null');
      break;
    case 'text':
      headers.push(['Content-Type', c.body.contentType]);
      body = Buffer.from(c.body.text);
      break;
    case 'deep':
      headers.push(['Content-Type', 'application/json']);
      body = Buffer.from(
        `{"event_type":"ping","payload":{"a":${'['.repeat(c.body.depth)}${']'.repeat(c.body.depth)}}}`,
      );
      break;
  }
  return { path, query, headers, body };
}

/** True when every part of the request is one the schema vouches for. */
function allValid(op: ApiOperation, c: ApiCase): boolean {
  const bodyValid = op.bodySchema ? c.body.kind === 'json' && c.body.valid : c.body.kind === 'none';
  return (
    bodyValid &&
    Object.values(c.path).every((v) => v.valid) &&
    c.query.every((q) => q.value.valid && !q.extra)
  );
}

/** Sends one generated request and checks its answer against the document. */
export async function checkApiCase(ctx: ApiContext, c: ApiCase): Promise<RawResponse> {
  const op = ctx.operations.get(c.op);
  if (!op) throw new Error(`no operation ${c.op}`);
  const req = requestOf(op, c);
  const authorization = ctx.authorization[c.auth];
  if (authorization !== undefined) req.headers.push(['Authorization', authorization]);
  const target = req.query ? `${req.path}?${req.query}` : req.path;
  const res = await sendRaw(ctx.url, {
    method: op.method,
    path: target,
    headers: req.headers,
    body: req.body,
  });
  ctx.leaks.check(`response to ${op.method} ${op.path}`, res.text);
  assertNoPollution();
  if (ctx.seen) {
    const statuses = ctx.seen.get(op.id) ?? new Map<number, number>();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    ctx.seen.set(op.id, statuses);
  }

  const what = `${op.method} ${target} (${c.auth}) → ${res.status} ${res.text.slice(0, 400)}`;
  if (res.status >= 500) throw new Error(`5xx: ${what}`);
  const refusal = bodyParserRefusal(req.headers, req.body) ?? routerRefusal(c);
  if (refusal !== null) {
    // The JSON parser and the router's parameter decoding run before authentication, on every
    // route (a gap in the document: routes without a body or a 400 do not list these).
    if (res.status !== refusal)
      throw new Error(`expected ${refusal} from the JSON body parser: ${what}`);
    checkErrorBody(ctx, res, req.path, what);
    return res;
  }
  if (!op.statuses.has(res.status)) {
    throw new Error(
      `status ${res.status} is not documented for ${op.id} (${[...op.statuses].join(', ')}): ${what}`,
    );
  }
  const authenticated = c.auth === 'operator' || c.auth === 'viewer';
  if (op.bearer && !authenticated && res.status !== 401)
    throw new Error(`expected 401 without a genuine token: ${what}`);
  if (op.bearer && c.auth === 'viewer' && op.operatorOnly && res.status !== 403) {
    throw new Error(`expected 403 for a viewer: ${what}`);
  }
  if (
    authenticated &&
    (res.status === 401 || res.status === 403) &&
    !(c.auth === 'viewer' && op.operatorOnly)
  ) {
    throw new Error(`a genuine ${c.auth} token was refused: ${what}`);
  }
  const entitled = !op.bearer || c.auth === 'operator' || (c.auth === 'viewer' && !op.operatorOnly);
  if (entitled && op.method === 'GET' && allValid(op, c)) {
    const missing = Object.values(c.path).some((v) => !v.exists);
    const expected = missing ? 404 : 200;
    if (res.status !== expected) throw new Error(`a valid request should get ${expected}: ${what}`);
  }

  if (res.status < 300) {
    const validate = ctx.schemas.forResponse(op, res.status);
    if (validate && !validate(res.json)) {
      throw new Error(
        `2xx body does not match the documented schema (${ctx.schemas.errorsText(validate)}): ${what}`,
      );
    }
  } else checkErrorBody(ctx, res, req.path, what);
  return res;
}

/** The documented error format, naming this request's path and correlation id. */
function checkErrorBody(ctx: ApiContext, res: RawResponse, path: string, what: string): void {
  const validate = ctx.schemas.errorBody();
  if (!validate(res.json)) {
    throw new Error(
      `error body does not match the error format (${ctx.schemas.errorsText(validate)}): ${what}`,
    );
  }
  const body = res.json as { status_code: number; path: string; correlation_id: string };
  if (body.status_code !== res.status)
    throw new Error(`status_code differs from the status: ${what}`);
  if (body.path !== path.slice(0, 512))
    throw new Error(`path ${body.path} is not the request path: ${what}`);
  if (body.correlation_id !== res.headers['x-correlation-id']) {
    throw new Error(`correlation_id differs from X-Correlation-ID: ${what}`);
  }
}

/** The router answers 400 for a path parameter that is not valid percent-encoding. */
function routerRefusal(c: ApiCase): 400 | null {
  for (const v of Object.values(c.path)) {
    try {
      decodeURIComponent(encode(v));
    } catch {
      return 400;
    }
  }
  return null;
}

/**
 * What express.json answers before any route sees the request: 415 for a JSON body in a charset
 * other than UTF-8, 400 for one that is not a JSON object or array (strict mode) or nests deeper
 * than the limit; null when it lets the request through.
 */
export function bodyParserRefusal(
  headers: RawHeader[],
  body: Buffer | undefined,
): 400 | 415 | null {
  const contentType = headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1];
  if (contentType === undefined || body === undefined) return null;
  if (contentType.split(';')[0].trim().toLowerCase() !== 'application/json') return null;
  // The charset is checked first, even for an empty body (Content-Length: 0 counts as a body).
  const charset = /;\s*charset=([^;]+)/i.exec(contentType)?.[1].trim().toLowerCase();
  if (charset !== undefined && !charset.startsWith('utf-')) return 415;
  if (body.length === 0) return null;
  const text = body.toString('utf8');
  if (!/^[ \t\n\r]*[[{]/.test(text)) return 400;
  try {
    return jsonDepth(JSON.parse(text)) > MAX_DEPTH ? 400 : null;
  } catch {
    return 400;
  }
}

/** Requests the schema vouches for, by an operator: they must get 200, or 404 for a missing id. */
export function validReadArb(op: ApiOperation, pools: IdPools): fc.Arbitrary<ApiCase> {
  const pathArbs: Record<string, fc.Arbitrary<PathValue>> = {};
  for (const p of op.pathParams) {
    const numeric = p.schema?.type === 'number' || p.schema?.type === 'integer';
    pathArbs[p.name] = (numeric ? numericId(pools.eventIds) : uuidId(pools.taskIds)).filter(
      (v) => v.valid,
    );
  }
  const query = op.queryParams.map((param) => {
    const valid = validQueryValue(param.schema ?? {});
    return valid
      ? fc.option(
          valid.map((value) => ({ name: param.name, value, extra: false })),
          { nil: undefined },
        )
      : fc.constant(undefined);
  });
  return fc.record({
    op: fc.constant(op.id),
    auth: fc.constant<AuthKind>('operator'),
    path: fc.record(pathArbs),
    query: fc.tuple(...query).map((entries) => entries.filter((e) => e !== undefined)),
    body: fc.constant<ApiBody>({ kind: 'none' }),
  });
}
