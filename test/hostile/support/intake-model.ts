import { createHash, createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Pool } from 'pg';
import { example } from '../../support/harness';
import { RawHeader, RawResponse, sendRaw } from './http';
import {
  assertNoPollution,
  edgeNumber,
  headerValue,
  hostileJson,
  jsonDepth,
  MAX_DEPTH,
  nastyString,
  setOwn,
} from './hostile-values';
import type { LeakWatch } from './leak-watch';

export const WEBHOOK_PATH = '/api/v1/webhooks/github';

/*
 * A model of the intake contract (README, "The webhook endpoint"): requests are described by
 * plain, printable specs so fast-check can shrink and report them, and `expectedVerdict` says
 * what the orchestrator must answer for the exact bytes and headers that go on the wire.
 */

// ---------------------------------------------------------------------------------------------
// Signatures

export type SignatureSpec =
  | { kind: 'valid'; secret: number }
  | { kind: 'uppercase'; secret: number }
  | { kind: 'padded'; pad: string }
  | { kind: 'absent' }
  | { kind: 'empty' }
  | { kind: 'prefix-only' }
  | { kind: 'no-prefix' }
  | { kind: 'non-hex'; at: number; char: string }
  | { kind: 'wrong-length'; length: number }
  | { kind: 'flipped'; at: number }
  | { kind: 'sha1-only' }
  | { kind: 'sha1-in-256' }
  | { kind: 'duplicated'; second: 'same' | 'garbage' }
  | { kind: 'other-body'; suffix: string }
  | { kind: 'other-secret'; secret: string }
  | { kind: 'garbage'; value: string };

/** Only a correct HMAC-SHA256 in hex (either case, surrounding blanks trimmed) is accepted. */
export function signatureAccepted(spec: SignatureSpec): boolean {
  return spec.kind === 'valid' || spec.kind === 'uppercase' || spec.kind === 'padded';
}

export function signatureArb(
  secretCount: number,
  configured: readonly string[],
): fc.Arbitrary<SignatureSpec> {
  const secret = fc.integer({ min: 0, max: secretCount - 1 });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('valid' as const), secret }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('uppercase' as const), secret }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('padded' as const),
        pad: fc.constantFrom(' ', '\t', '  '),
      }),
    },
    fc.constant({ kind: 'absent' as const }),
    fc.constant({ kind: 'empty' as const }),
    fc.constant({ kind: 'prefix-only' as const }),
    fc.constant({ kind: 'no-prefix' as const }),
    fc.record({
      kind: fc.constant('non-hex' as const),
      at: fc.nat(63),
      char: fc.constantFrom('g', 'z', 'G', 'x', '-', ' ', '+', '/', '=', '\u00e9'),
    }),
    fc.record({
      kind: fc.constant('wrong-length' as const),
      length: fc.integer({ min: 0, max: 130 }).filter((n) => n !== 64),
    }),
    fc.record({ kind: fc.constant('flipped' as const), at: fc.nat(63) }),
    fc.constant({ kind: 'sha1-only' as const }),
    fc.constant({ kind: 'sha1-in-256' as const }),
    fc.record({
      kind: fc.constant('duplicated' as const),
      second: fc.constantFrom('same' as const, 'garbage' as const),
    }),
    fc.record({
      kind: fc.constant('other-body' as const),
      suffix: fc.string({ minLength: 1, maxLength: 8 }),
    }),
    fc.record({
      kind: fc.constant('other-secret' as const),
      secret: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !configured.includes(s)),
    }),
    fc.record({ kind: fc.constant('garbage' as const), value: headerValue(100) }),
  );
}

function hmac(algorithm: 'sha1' | 'sha256', secret: string, body: Buffer): string {
  return createHmac(algorithm, secret).update(body).digest('hex');
}

export function signatureHeaders(
  spec: SignatureSpec,
  body: Buffer,
  secrets: readonly string[],
): RawHeader[] {
  const name = 'X-Hub-Signature-256';
  const hex = hmac('sha256', secrets[0], body);
  switch (spec.kind) {
    case 'valid':
      return [[name, `sha256=${hmac('sha256', secrets[spec.secret], body)}`]];
    case 'uppercase':
      return [[name, `sha256=${hmac('sha256', secrets[spec.secret], body).toUpperCase()}`]];
    case 'padded':
      return [[name, `${spec.pad}sha256=${hex}${spec.pad}`]];
    case 'absent':
      return [];
    case 'empty':
      return [[name, '']];
    case 'prefix-only':
      return [[name, 'sha256=']];
    case 'no-prefix':
      return [[name, hex]];
    case 'non-hex':
      return [[name, `sha256=${hex.slice(0, spec.at)}${spec.char}${hex.slice(spec.at + 1)}`]];
    case 'wrong-length':
      return [[name, `sha256=${(hex + hex + hex).slice(0, spec.length)}`]];
    case 'flipped': {
      const digit = ((parseInt(hex[spec.at], 16) + 1) % 16).toString(16);
      return [[name, `sha256=${hex.slice(0, spec.at)}${digit}${hex.slice(spec.at + 1)}`]];
    }
    case 'sha1-only':
      return [['X-Hub-Signature', `sha1=${hmac('sha1', secrets[0], body)}`]];
    case 'sha1-in-256':
      return [[name, `sha1=${hmac('sha1', secrets[0], body)}`]];
    case 'duplicated':
      return [
        [name, `sha256=${hex}`],
        [name, spec.second === 'same' ? `sha256=${hex}` : 'sha256=' + '0'.repeat(64)],
      ];
    case 'other-body':
      return [
        [
          name,
          `sha256=${hmac('sha256', secrets[0], Buffer.concat([body, Buffer.from(spec.suffix)]))}`,
        ],
      ];
    case 'other-secret':
      return [[name, `sha256=${hmac('sha256', spec.secret, body)}`]];
    case 'garbage':
      return [[name, spec.value]];
  }
}

// ---------------------------------------------------------------------------------------------
// Headers

/** `fresh`: a new UUID at send time, so a replayed (shrinking) case never collides with itself. */
export type IdSpec =
  | { kind: 'fresh' }
  | { kind: 'literal'; value: string }
  | { kind: 'absent' }
  | { kind: 'duplicated' };
export type EventSpec =
  | { kind: 'body' }
  | { kind: 'literal'; value: string }
  | { kind: 'absent' }
  | { kind: 'duplicated' };

export const GITHUB_EVENTS = [
  'pull_request',
  'push',
  'check_run',
  'check_suite',
  'ping',
  'installation',
  'installation_repositories',
  'issues',
] as const;
export type GithubEvent = (typeof GITHUB_EVENTS)[number];

/** GitHub's delivery GUIDs and event names; anything else is "malformed" (400). */
const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,64}$/;
// Event names are lower case letters, digits and underscores (GitHub sends `projects_v2`).
const EVENT_NAME = /^[a-z0-9_]{1,64}$/;

export const idSpecArb: fc.Arbitrary<IdSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'fresh' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'absent' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'duplicated' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('literal' as const),
      value: fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9._:-]{1,70}$/),
        headerValue(80),
        nastyString.filter(isLatin1),
      ),
    }),
  },
);

export const eventSpecArb: fc.Arbitrary<EventSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'body' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'absent' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'duplicated' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('literal' as const),
      value: fc.oneof(
        fc.constantFrom(
          ...GITHUB_EVENTS,
          'star',
          'workflow_run',
          'github_app_authorization',
          'Push',
          'pull-request',
          'ping ',
        ),
        fc.stringMatching(/^[a-z_]{1,70}$/),
        headerValue(40),
      ),
    }),
  },
);

export const contentTypeArb: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      ' application/json ;charset=latin1',
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-8',
      'text/plain',
      'application/jsonx',
      'application/vnd.github+json',
      'multipart/form-data; boundary=x',
      'application/json, text/plain',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: headerValue(40) },
);

/** Extra headers a client may add; the transport-level ones (Host, lengths) are left alone. */
const EXTRA_HEADER_NAMES = [
  'Authorization',
  'Cookie',
  'Proxy-Authorization',
  'X-Forwarded-For',
  'X-Real-IP',
  'X-Request-ID',
  'X-Correlation-ID',
  'X-GitHub-Hook-ID',
  'X-GitHub-Hook-Installation-Target-ID',
  'X-GitHub-Hook-Installation-Target-Type',
  'X-GitHub-Enterprise-Host',
  'X-GitHub-Enterprise-Version',
  'User-Agent',
  'Content-Encoding',
  'Accept',
  'Origin',
  'X-HTTP-Method-Override',
  'X-Hub-Signature',
];
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'content-type',
  'x-github-delivery',
  'x-github-event',
  'x-hub-signature-256',
]);

export const extraHeadersArb: fc.Arbitrary<RawHeader[]> = fc.array(
  fc.tuple(
    fc.oneof(
      fc.constantFrom(...EXTRA_HEADER_NAMES),
      fc
        .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,30}$/)
        .filter((n) => !RESERVED_HEADERS.has(n.toLowerCase())),
    ),
    headerValue(120),
  ),
  { maxLength: 4 },
);

function isLatin1(text: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(text);
}

// ---------------------------------------------------------------------------------------------
// Bodies

export interface Edit {
  path: string[];
  value: unknown;
}

export type BodySpec =
  | { kind: 'github'; event: GithubEvent; variant: number; edits: Edit[] }
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: number[] }
  | { kind: 'deep'; depth: number; open: 'array' | 'object' }
  | { kind: 'edge'; text: string };

/**
 * Real example payloads, by event, set up so the routing gets as far as creating tasks (a failing
 * check with a linked PR, a push to the default branch): mutations then reach the task columns.
 */
const BASES: Record<GithubEvent, Array<Record<string, unknown>>> = {
  pull_request: ['opened', 'synchronize', 'reopened', 'ready_for_review', 'closed'].map((a) =>
    example('pull_request', (p) => p.action === a),
  ),
  push: [example('push', (p) => p.ref === 'refs/heads/master' && p.deleted === false)],
  check_run: [
    example('check_run', (p) => p.action === 'completed' && p.check_run.conclusion === 'failure'),
  ],
  check_suite: [
    {
      ...example(
        'check_suite',
        (p) => p.action === 'completed' && p.check_suite.pull_requests.length > 0,
      ),
    },
  ].map((p) => ({ ...p, check_suite: { ...p.check_suite, conclusion: 'failure' } })),
  ping: [example('ping')],
  installation: [example('installation', (p) => p.action === 'created')],
  installation_repositories: [example('installation_repositories')],
  issues: [example('issues', (p) => p.action === 'opened')],
};

/** Paths every event's facts read (the filterable columns). */
const COMMON_PATHS: string[][] = [
  ['action'],
  ['repository'],
  ['repository', 'full_name'],
  ['repository', 'id'],
  ['installation', 'id'],
  ['sender', 'login'],
  ['sender', 'type'],
  ['__proto__'],
  ['constructor', 'prototype'],
];

/** Paths the routing of each event reads: where hostile values hurt most. */
const ROUTED_PATHS: Record<GithubEvent, string[][]> = {
  pull_request: [
    ['number'],
    ['pull_request'],
    ['pull_request', 'number'],
    ['pull_request', 'draft'],
    ['pull_request', 'title'],
    ['pull_request', 'html_url'],
    ['pull_request', 'labels'],
    ['pull_request', 'head', 'ref'],
    ['pull_request', 'head', 'sha'],
    ['pull_request', 'head', 'repo', 'full_name'],
    ['pull_request', 'base', 'ref'],
    ['pull_request', 'base', 'repo', 'full_name'],
    ['before'],
    ['after'],
  ],
  push: [
    ['ref'],
    ['before'],
    ['after'],
    ['deleted'],
    ['forced'],
    ['commits'],
    ['compare'],
    ['pusher', 'name'],
    ['head_commit', 'id'],
    ['head_commit', 'message'],
    ['repository', 'default_branch'],
  ],
  check_run: [
    ['check_run', 'conclusion'],
    ['check_run', 'id'],
    ['check_run', 'name'],
    ['check_run', 'head_sha'],
    ['check_run', 'details_url'],
    ['check_run', 'pull_requests'],
    ['check_run', 'check_suite', 'id'],
    ['check_run', 'check_suite', 'head_branch'],
    ['check_run', 'app', 'slug'],
  ],
  check_suite: [
    ['check_suite', 'conclusion'],
    ['check_suite', 'id'],
    ['check_suite', 'head_sha'],
    ['check_suite', 'head_branch'],
    ['check_suite', 'pull_requests'],
    ['check_suite', 'app', 'slug'],
  ],
  ping: [['zen'], ['hook_id'], ['hook']],
  installation: [
    ['installation'],
    ['installation', 'account', 'login'],
    ['installation', 'account', 'type'],
    ['installation', 'repository_selection'],
    ['repositories'],
  ],
  installation_repositories: [
    ['repositories_added'],
    ['repositories_removed'],
    ['installation', 'account', 'login'],
    ['repository_selection'],
  ],
  issues: [['issue'], ['issue', 'number'], ['issue', 'title']],
};

/** Values shaped like what the routing expects, but wrong: a linked PR, a sha, a list of them. */
const routedValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileJson },
  { weight: 3, arbitrary: edgeNumber },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'opened',
      'synchronize',
      'completed',
      'failure',
      'timed_out',
      'cancelled',
      'deleted',
      'suspend',
      'refs/heads/main',
      'refs/heads/master',
      'refs/heads/' + 'b'.repeat(300),
      'a'.repeat(40),
      'F'.repeat(64),
      '0'.repeat(40),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.array(
      fc.record(
        {
          number: edgeNumber,
          head: fc.record({
            ref: nastyString,
            sha: fc.oneof(fc.hexaString({ minLength: 40, maxLength: 40 }), nastyString),
          }),
          base: fc.record({ repo: fc.record({ id: edgeNumber }) }),
        },
        { requiredKeys: ['number'] },
      ),
      { maxLength: 60 },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.array(fc.record({ full_name: nastyString, id: edgeNumber, name: nastyString }), {
      maxLength: 5,
    }),
  },
);

const editArb = (event: GithubEvent): fc.Arbitrary<Edit> =>
  fc.record({
    path: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...ROUTED_PATHS[event]) },
      { weight: 2, arbitrary: fc.constantFrom(...COMMON_PATHS) },
      {
        weight: 1,
        arbitrary: fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 3 }),
      },
    ),
    value: routedValue,
  });

export const githubBodyArb = (event?: GithubEvent): fc.Arbitrary<BodySpec> =>
  (event ? fc.constant(event) : fc.constantFrom(...GITHUB_EVENTS)).chain((e) =>
    fc.record({
      kind: fc.constant('github' as const),
      event: fc.constant(e),
      variant: fc.nat(4),
      edits: fc.array(editArb(e), { maxLength: 3 }),
    }),
  );

/** Raw texts at the edges of JSON, jsonb and the parsers: numbers, escapes, BOMs, shapes. */
const EDGE_TEXTS: readonly string[] = [
  '{}',
  '[]',
  'null',
  '""',
  '0',
  ' {} ',
  '{}\n',
  '\ufeff{}',
  '{"a":1,"a":2}',
  '{"n":1e1000000}',
  '{"n":-1e131072}',
  '{"n":1e-16384}',
  '{"n":123456789012345678901234567890.123456789}',
  '{"pull_request":{"number":1e400},"action":"opened","repository":{"full_name":"o/r"}}',
  '{"a":"\\u0000"}',
  '{"a\\u0000b":1}',
  '{"a":"\\ud800"}',
  '{"\\udc00":1}',
  '{"a":"\\ud83d\\ude00"}',
  '{"__proto__":{"hostile_polluted":true}}',
  '{"constructor":{"prototype":{"hostile_polluted":true}}}',
  '{"a":' + '9'.repeat(5000) + '}',
  '{"a":tru}',
  '{"a":1,}',
  "{'a':1}",
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":0x10}',
  '{"a":"\t"}',
  '{"a":"\\x41"}',
  '{"a":1}{"b":2}',
  '{"zen":"' + 'z'.repeat(60_000) + '","hook_id":1}',
];

export const bodyArb: fc.Arbitrary<BodySpec> = fc.oneof(
  { weight: 5, arbitrary: githubBodyArb() },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('json' as const), value: hostileJson }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      text: fc.fullUnicodeString({ maxLength: 60 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      bytes: fc.array(fc.nat(255), { maxLength: 80 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      depth: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 200, max: 60_000 })),
      open: fc.constantFrom('array' as const, 'object' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('edge' as const),
      text: fc.constantFrom(...EDGE_TEXTS),
    }),
  },
);

/** The body bytes a spec stands for (before form encoding). */
export function bodyBytes(spec: BodySpec): Buffer {
  switch (spec.kind) {
    case 'github': {
      const payload = structuredClone(BASES[spec.event][spec.variant % BASES[spec.event].length]);
      for (const edit of spec.edits) applyEdit(payload, edit);
      return Buffer.from(JSON.stringify(payload));
    }
    case 'json':
      return Buffer.from(JSON.stringify(spec.value) ?? 'null');
    case 'text':
      return Buffer.from(spec.text);
    case 'bytes':
      return Buffer.from(spec.bytes);
    case 'deep':
      return Buffer.from(
        spec.open === 'array'
          ? `{"a":${'['.repeat(spec.depth)}${']'.repeat(spec.depth)}}`
          : `${'{"a":'.repeat(spec.depth)}1${'}'.repeat(spec.depth)}`,
      );
    case 'edge':
      return Buffer.from(spec.text);
  }
}

function applyEdit(payload: Record<string, unknown>, edit: Edit): void {
  let target = payload;
  for (const key of edit.path.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(target, key) ? target[key] : undefined;
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      const fresh: Record<string, unknown> = {};
      setOwn(target, key, fresh);
      target = fresh;
    } else target = next as Record<string, unknown>;
  }
  setOwn(target, edit.path[edit.path.length - 1], edit.value);
}

/** Form deliveries carry the JSON in a `payload` field, every byte percent-encoded. */
export function formEncode(json: Buffer): Buffer {
  let out = 'payload=';
  for (const byte of json) out += `%${byte.toString(16).padStart(2, '0')}`;
  return Buffer.from(out);
}

// ---------------------------------------------------------------------------------------------
// A whole delivery

export interface DeliverySpec {
  signature: SignatureSpec;
  deliveryId: IdSpec;
  event: EventSpec;
  contentType: string | null;
  extraHeaders: RawHeader[];
  body: BodySpec;
  padding: Padding;
}

/**
 * Blanks appended to the body (valid JSON whitespace, also inside a form's payload field): they
 * move a body across the size limit without changing what it means.
 */
export type Padding =
  { kind: 'none' } | { kind: 'blanks'; count: number } | { kind: 'limit'; delta: number };

export interface BuiltDelivery {
  headers: RawHeader[];
  body: Buffer;
  /** The delivery id the server sees (duplicates joined, blanks trimmed), if any. */
  deliveryId: string | undefined;
  eventType: string | undefined;
}

/** What Node hands the app for a header listed several times: one value, or the first. */
const FIRST_WINS = new Set([
  'content-type',
  'content-length',
  'user-agent',
  'authorization',
  'host',
]);

export function serverView(headers: RawHeader[]): Map<string, string> {
  const view = new Map<string, string>();
  for (const [name, raw] of headers) {
    const key = name.toLowerCase();
    const value = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    const seen = view.get(key);
    if (seen === undefined) view.set(key, value);
    else if (!FIRST_WINS.has(key)) view.set(key, `${seen}, ${value}`);
  }
  return view;
}

export function mediaFormat(contentType: string | undefined): 'json' | 'form' | null {
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (media === 'application/json') return 'json';
  if (media === 'application/x-www-form-urlencoded') return 'form';
  return null;
}

function pad(body: Buffer, padding: Padding, limit: number): Buffer {
  const target =
    padding.kind === 'none'
      ? 0
      : padding.kind === 'blanks'
        ? body.length + padding.count
        : limit + padding.delta;
  return target > body.length
    ? Buffer.concat([body, Buffer.alloc(target - body.length, 0x20)])
    : body;
}

export function buildDelivery(
  spec: DeliverySpec,
  secrets: readonly string[],
  limit: number,
): BuiltDelivery {
  const headers: RawHeader[] = [];
  const eventName =
    spec.event.kind === 'literal'
      ? spec.event.value
      : spec.body.kind === 'github'
        ? spec.body.event
        : 'ping';
  const id = spec.deliveryId.kind === 'literal' ? spec.deliveryId.value : randomUUID();
  if (spec.deliveryId.kind !== 'absent') headers.push(['X-GitHub-Delivery', id]);
  if (spec.deliveryId.kind === 'duplicated') headers.push(['X-GitHub-Delivery', randomUUID()]);
  if (spec.event.kind !== 'absent') headers.push(['X-GitHub-Event', eventName]);
  if (spec.event.kind === 'duplicated') headers.push(['X-GitHub-Event', eventName]);
  if (spec.contentType !== null) headers.push(['Content-Type', spec.contentType]);
  let body = bodyBytes(spec.body);
  if (mediaFormat(spec.contentType ?? undefined) === 'form') body = formEncode(body);
  body = pad(body, spec.padding, limit);
  headers.push(...signatureHeaders(spec.signature, body, secrets), ...spec.extraHeaders);
  const view = serverView(headers);
  return {
    headers,
    body,
    deliveryId: view.get('x-github-delivery'),
    eventType: view.get('x-github-event'),
  };
}

// ---------------------------------------------------------------------------------------------
// The verdict

export type Verdict =
  | { status: 413 | 400 | 401; why: string }
  | { status: 409 | 200; why: string; deliveryId: string; eventType: string; storedJson: string };

/** The payload exactly as the app must read it: UTF-8 text, or the form's `payload` field. */
export function readPayload(
  body: Buffer,
  format: 'json' | 'form',
): { json: string; value: unknown } | null {
  let json = body.toString('utf8');
  if (format === 'form') {
    const field = new URLSearchParams(json).get('payload');
    if (field === null) return null;
    json = field;
  }
  try {
    return { json, value: JSON.parse(json) as unknown };
  } catch {
    return null;
  }
}

// eslint-disable-next-line no-control-regex -- NUL is exactly what jsonb refuses
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when some string value holds NUL or an unpaired surrogate (iterative: payloads nest deep). */
function hasUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return true;
    } else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (typeof v === 'object' && v !== null) stack.push(...Object.values(v));
  }
  return false;
}

/**
 * The text whose jsonb the row must hold: the payload as sent, or, when a string value holds
 * NUL or an unpaired surrogate (which jsonb refuses), with each of those replaced by U+FFFD.
 */
export function storedForm(json: string, value: unknown): string {
  if (!hasUnstorableText(value)) return json;
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'string' ? v.replace(new RegExp(UNSTORABLE.source, 'g'), '\ufffd') : v,
  );
}

export interface VerdictContext {
  secrets: readonly string[];
  limit: number;
  db: Pool;
}

/** What the README's intake table says the answer to these exact bytes must be. */
export async function expectedVerdict(
  spec: DeliverySpec,
  built: BuiltDelivery,
  ctx: VerdictContext,
): Promise<Verdict> {
  if (built.body.length > ctx.limit) return { status: 413, why: 'body over the limit' };
  const view = serverView(built.headers);
  const format = mediaFormat(view.get('content-type'));
  const deliveryId = built.deliveryId;
  const eventType = built.eventType;
  if (!deliveryId || !DELIVERY_ID.test(deliveryId))
    return { status: 400, why: 'missing or malformed X-GitHub-Delivery' };
  if (!eventType || !EVENT_NAME.test(eventType))
    return { status: 400, why: 'missing or malformed X-GitHub-Event' };
  if (format === null) return { status: 400, why: 'content type' };
  if (!signatureAccepted(spec.signature))
    return { status: 401, why: `signature ${spec.signature.kind}` };
  const payload = readPayload(built.body, format);
  if (payload === null) return { status: 400, why: 'not JSON' };
  const { value } = payload;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { status: 400, why: 'not a JSON object' };
  }
  if (jsonDepth(value) > MAX_DEPTH) return { status: 400, why: `nested deeper than ${MAX_DEPTH}` };
  const storedJson = storedForm(payload.json, value);
  // PostgreSQL itself decides what jsonb can hold (numeric range, nesting, escapes in keys).
  try {
    await ctx.db.query('SELECT $1::jsonb IS NOT NULL', [storedJson]);
  } catch (error) {
    return { status: 400, why: `jsonb refuses it: ${(error as Error).message}` };
  }
  const { rows } = await ctx.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_events WHERE delivery_id = $1',
    [deliveryId],
  );
  if (rows[0].n > 0)
    return { status: 409, why: 'delivery id already stored', deliveryId, eventType, storedJson };
  // The payload replay guard: the same bytes stored under another delivery id within the
  // window (72 h by default) are refused; a ping creates no task and is exempt.
  if (eventType !== 'ping') {
    const replayed = await ctx.db.query(
      `SELECT 1 FROM webhook_payload_digests
        WHERE digest = $1 AND delivery_id <> $2 AND stored_at >= now() - interval '72 hours'`,
      [createHash('sha256').update(built.body).digest(), deliveryId],
    );
    if (replayed.rows.length > 0)
      return { status: 409, why: 'duplicate payload', deliveryId, eventType, storedJson };
  }
  return { status: 200, why: 'verified JSON object', deliveryId, eventType, storedJson };
}

// ---------------------------------------------------------------------------------------------
// Sending one case and checking everything a user would notice

export interface IntakeTarget extends VerdictContext {
  url: string;
  leaks: LeakWatch;
}

const CREDENTIAL_HEADERS = [
  'authorization',
  'cookie',
  'proxy-authorization',
  'x-hub-signature',
  'x-hub-signature-256',
];

/** Rows in the tables a delivery writes, and rows holding this delivery id. */
async function counts(
  db: Pool,
  deliveryId: string | undefined,
): Promise<{ events: number; tasks: number; sameId: number }> {
  const { rows } = await db.query<{ events: number; tasks: number; sameId: number }>(
    `SELECT (SELECT count(*)::int FROM webhook_events) AS events,
            (SELECT count(*)::int FROM workflow_tasks) AS tasks,
            (SELECT count(*)::int FROM webhook_events WHERE delivery_id = $1) AS "sameId"`,
    [deliveryId ?? ''],
  );
  return rows[0];
}

/** Sends one delivery and checks its answer and what was (or was not) stored. */
export async function checkDelivery(
  target: IntakeTarget,
  spec: DeliverySpec,
): Promise<RawResponse> {
  const built = buildDelivery(spec, target.secrets, target.limit);
  for (const [name, value] of built.headers) {
    if (CREDENTIAL_HEADERS.includes(name.toLowerCase()))
      target.leaks.secret(`${name} sent to the webhook`, value);
  }
  const verdict = await expectedVerdict(spec, built, target);
  const before = await counts(target.db, built.deliveryId);
  const res = await sendRaw(target.url, {
    method: 'POST',
    path: WEBHOOK_PATH,
    headers: built.headers,
    body: built.body,
  });
  target.leaks.check(`response to POST ${WEBHOOK_PATH}`, res.text);
  assertNoPollution();
  const context = `expected ${verdict.status} (${verdict.why}), got ${res.status}: ${res.text.slice(0, 300)}`;
  if (res.status !== verdict.status) throw new Error(context);
  expect(res.headers['x-correlation-id']).toEqual(expect.any(String));

  if (verdict.status === 200) {
    expect(res.json).toMatchObject({
      status: 'accepted',
      delivery_id: verdict.deliveryId,
      event_type: verdict.eventType,
    });
    const result = (
      res.json as { result: { status: string; task_id?: string; tasks_created?: number } }
    ).result;
    expect(['queued', 'ignored', 'pong', 'processed']).toContain(result.status);
    const { rows } = await target.db.query<{
      id: string;
      same: boolean;
      headers: Record<string, string>;
      event_type: string;
      tasks: number;
    }>(
      `SELECT id, payload = $2::jsonb AS same, headers, event_type,
              (SELECT count(*)::int FROM workflow_tasks t WHERE t.webhook_event_id = e.id) AS tasks
         FROM webhook_events e WHERE delivery_id = $1`,
      [verdict.deliveryId, verdict.storedJson],
    );
    expect(rows).toHaveLength(1);
    if (!rows[0].same)
      throw new Error(
        `stored payload differs from the one sent: ${verdict.storedJson.slice(0, 300)}`,
      );
    expect(rows[0].event_type).toBe(verdict.eventType);
    for (const key of Object.keys(rows[0].headers)) expect(CREDENTIAL_HEADERS).not.toContain(key);
    const expectedTasks =
      result.status === 'queued' ? (result.task_id ? 1 : result.tasks_created) : 0;
    expect(rows[0].tasks).toBe(expectedTasks);
    return res;
  }

  expect(res.json).toEqual({
    error: expect.any(String),
    status_code: verdict.status,
    path: WEBHOOK_PATH,
    correlation_id: res.headers['x-correlation-id'],
    ...(typeof (res.json as { details?: unknown }).details === 'undefined'
      ? {}
      : { details: expect.any(Array) }),
  });
  // Nothing stored for a rejected request: no event, no task, this delivery id untouched.
  const after = await counts(target.db, built.deliveryId);
  expect(after).toEqual(before);
  if (verdict.status === 409 && verdict.why === 'delivery id already stored')
    expect(after.sameId).toBe(1);
  if (verdict.status === 409 && verdict.why === 'duplicate payload') {
    expect(after.sameId).toBe(0);
    expect(res.json).toMatchObject({ error: 'duplicate payload' });
  }
  return res;
}

export const deliveryArb = (
  secretCount: number,
  secrets: readonly string[],
): fc.Arbitrary<DeliverySpec> =>
  fc.record({
    signature: signatureArb(secretCount, secrets),
    deliveryId: idSpecArb,
    event: eventSpecArb,
    contentType: contentTypeArb,
    extraHeaders: extraHeadersArb,
    body: bodyArb,
    padding: paddingArb,
  });

export const paddingArb: fc.Arbitrary<Padding> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('blanks' as const),
      count: fc.integer({ min: 1, max: 2000 }),
    }),
  },
  // Just under, at, and just over the limit.
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('limit' as const),
      delta: fc.integer({ min: -2, max: 2 }),
    }),
  },
);

/** A well-formed, correctly signed delivery with `body`: only the body decides the verdict. */
export function signedDelivery(body: BodySpec, contentType = 'application/json'): DeliverySpec {
  return {
    signature: { kind: 'valid', secret: 0 },
    deliveryId: { kind: 'fresh' },
    event: { kind: 'body' },
    contentType,
    extraHeaders: [],
    body,
    padding: { kind: 'none' },
  };
}
