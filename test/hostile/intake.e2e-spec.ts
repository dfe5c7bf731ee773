import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { signGithubPayload } from '@app/github';
import {
  closeDb,
  db,
  RunningOrchestrator,
  startOrchestrator,
  testEnv,
  waitFor,
  WEBHOOK_SECRET,
} from '../support/harness';
import { closeHttpAgent, sendRaw } from './support/http';
import { fullUnicodeObject } from './support/hostile-values';
import {
  bodyArb,
  BodySpec,
  bodyBytes,
  checkDelivery,
  contentTypeArb,
  deliveryArb,
  eventSpecArb,
  extraHeadersArb,
  formEncode,
  GITHUB_EVENTS,
  githubBodyArb,
  idSpecArb,
  IntakeTarget,
  signatureArb,
  signedDelivery,
  WEBHOOK_PATH,
} from './support/intake-model';
import { captureConsoleLogs, LeakWatch, LogCapture } from './support/leak-watch';
import { checkProperty, printTally, timeoutFor } from './support/settings';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_hostile_intake`;
const SECRETS = [WEBHOOK_SECRET, 'second-secret-during-rotation-7f3a9c'];
const LIMIT = 256 * 1024;

const pingBody = fc.record({
  kind: fc.constant('json' as const),
  value: fc.record({ zen: fc.fullUnicodeString({ maxLength: 40 }), hook_id: fc.nat() }),
});

// Every log line of every app this file starts, from start-up on.
let logs: LogCapture;
beforeAll(() => {
  logs = captureConsoleLogs();
});

afterAll(async () => {
  await closeDb();
  closeHttpAgent();
  logs.stop();
});

describe('hostile input: webhook intake (property-based)', () => {
  let orch: RunningOrchestrator;
  let target: IntakeTarget;
  const leaks = new LeakWatch();
  /** A control that must be found (see the last test). */
  const canary = new LeakWatch();

  beforeAll(async () => {
    orch = await startOrchestrator({
      QUEUE_PREFIX: PREFIX,
      GITHUB_WEBHOOK_SECRET: SECRETS.join(','),
      WEBHOOK_MAX_PAYLOAD_SIZE: String(LIMIT),
      // The failure limiter would turn verdicts into 429s; its own test is below.
      WEBHOOK_RATE_LIMIT_BURST: '100000',
      WEBHOOK_RATE_LIMIT_PER_SECOND: '100000',
      LOG_LEVEL: 'debug',
    });
    // The client's own X-Request-ID comes back as the correlation id, in the 401 and in the audit
    // log line: finding it proves the leak check reads the real answers and the captured logs.
    const canaryRes = await sendRaw(orch.url, {
      method: 'POST',
      path: WEBHOOK_PATH,
      headers: [
        ['X-Request-ID', canary.secret('canary', `canary-${randomUUID()}`)],
        ['X-GitHub-Delivery', randomUUID()],
        ['X-GitHub-Event', 'ping'],
        ['Content-Type', 'application/json'],
        ['X-Hub-Signature-256', 'sha256=' + 'f'.repeat(64)],
      ],
      body: '{}',
    });
    canary.check('response', canaryRes.text);
    SECRETS.forEach((s, i) => leaks.secret(`webhook secret ${i + 1}`, s));
    leaks.secret('SECRET_KEY', testEnv().SECRET_KEY as string);
    target = { url: orch.url, secrets: SECRETS, limit: LIMIT, db: db(), leaks };
  });
  afterAll(async () => {
    await orch.close();
    printTally('intake');
  });

  it(
    'answers every signature mutation with 401 and stores nothing; accepts correct HMACs in either case',
    async () => {
      await checkProperty(
        'signatures',
        fc.record({
          signature: signatureArb(SECRETS.length, SECRETS),
          body: fc.oneof(pingBody, githubBodyArb()),
        }),
        async ({ signature, body }) => {
          await checkDelivery(target, { ...signedDelivery(body), signature });
        },
        2,
      );
    },
    timeoutFor(2),
  );

  it(
    'answers random and malformed headers with the documented 400 (or 200 when they are fine)',
    async () => {
      await checkProperty(
        'headers',
        fc.record({
          deliveryId: idSpecArb,
          event: eventSpecArb,
          contentType: contentTypeArb,
          extraHeaders: extraHeadersArb,
          body: githubBodyArb(),
        }),
        async (headers) => {
          await checkDelivery(target, { ...signedDelivery(headers.body), ...headers });
        },
        2,
      );
    },
    timeoutFor(2),
  );

  it(
    'answers random signed bodies with 400 unless they are a JSON object, which is stored as sent',
    async () => {
      await checkProperty(
        'bodies',
        fc.record({ body: bodyArb, form: fc.boolean() }),
        async ({ body, form }) => {
          const contentType = form ? 'application/x-www-form-urlencoded' : 'application/json';
          await checkDelivery(target, signedDelivery(body, contentType));
        },
        2,
      );
    },
    timeoutFor(2),
  );

  it(
    'stores real payloads with hostile values in the routed fields, with their tasks, never a 5xx',
    async () => {
      await checkProperty(
        'routed fields',
        githubBodyArb(),
        async (body) => {
          await checkDelivery(target, signedDelivery(body));
        },
        3,
      );
    },
    timeoutFor(3),
  );

  it(
    'accepts signed unicode payloads and stores them exactly (NUL and lone surrogates as U+FFFD)',
    async () => {
      await checkProperty(
        'unicode payloads',
        fc.record({
          event: fc.constantFrom(...GITHUB_EVENTS, 'star'),
          value: fullUnicodeObject,
          form: fc.boolean(),
        }),
        async ({ event, value, form }) => {
          // A distinct body per run: the same body under a new delivery id is a replay (409).
          const spec = signedDelivery(
            { kind: 'json', value: { ...value, hostile_run: randomUUID() } },
            form ? 'application/x-www-form-urlencoded' : 'application/json',
          );
          const res = await checkDelivery(target, {
            ...spec,
            event: { kind: 'literal', value: event },
          });
          expect(res.status).toBe(200);
        },
      );
    },
    timeoutFor(1),
  );

  it(
    'refuses every single-byte change, truncation or extension of a signed body with 401',
    async () => {
      await checkProperty(
        'single-byte mutations',
        fc.record({
          body: githubBodyArb(),
          form: fc.boolean(),
          change: fc.oneof(
            fc.record({
              kind: fc.constant('replace' as const),
              at: fc.nat(),
              byte: fc.integer({ min: 1, max: 255 }),
            }),
            fc.record({
              kind: fc.constant('truncate' as const),
              drop: fc.integer({ min: 1, max: 3 }),
            }),
            fc.record({ kind: fc.constant('append' as const), byte: fc.nat(255) }),
          ),
        }),
        async ({ body, form, change }) => {
          const json = bodyBytes(body);
          const original = form ? formEncode(json) : json;
          const signature = signGithubPayload(original, SECRETS[0]);
          const sent = Buffer.from(original);
          let mutated: Buffer = sent;
          if (change.kind === 'replace') {
            const at = change.at % sent.length;
            // Adding 1..255 modulo 256 always changes the byte.
            sent[at] = (sent[at] + change.byte) % 256;
          } else if (change.kind === 'truncate')
            mutated = sent.subarray(0, sent.length - change.drop);
          else mutated = Buffer.concat([sent, Buffer.from([change.byte])]);
          const deliveryId = randomUUID();
          const res = await sendRaw(orch.url, {
            method: 'POST',
            path: WEBHOOK_PATH,
            headers: [
              ['X-GitHub-Delivery', deliveryId],
              ['X-GitHub-Event', body.kind === 'github' ? body.event : 'ping'],
              ['Content-Type', form ? 'application/x-www-form-urlencoded' : 'application/json'],
              ['X-Hub-Signature-256', signature],
            ],
            body: mutated,
          });
          leaks.check('response to a mutated body', res.text);
          expect(res.status).toBe(401);
          expect(res.json).toMatchObject({ status_code: 401, path: WEBHOOK_PATH });
          const { rows } = await db().query(
            'SELECT count(*)::int AS n FROM webhook_events WHERE delivery_id = $1',
            [deliveryId],
          );
          expect(rows[0].n).toBe(0);
        },
        2,
      );
    },
    timeoutFor(2),
  );

  it(
    'gives every combination of headers, signatures and bodies its documented answer, never a 5xx',
    async () => {
      await checkProperty(
        'everything at once',
        deliveryArb(SECRETS.length, SECRETS),
        async (spec) => {
          await checkDelivery(target, spec);
        },
        4,
      );
    },
    timeoutFor(4),
  );

  it(
    'stores concurrent copies of one delivery once: one 200, the rest 409',
    async () => {
      await checkProperty(
        'concurrent replays',
        fc.record({ body: githubBodyArb(), copies: fc.integer({ min: 2, max: 6 }) }),
        async ({ body: generated, copies }) => {
          const deliveryId = randomUUID();
          // A distinct body per run: the same body under a new delivery id is a replay (409).
          const body: BodySpec =
            generated.kind === 'github'
              ? {
                  ...generated,
                  edits: [...generated.edits, { path: ['hostile_run'], value: deliveryId }],
                }
              : generated;
          const raw = bodyBytes(body);
          const headers: Array<[string, string]> = [
            ['X-GitHub-Delivery', deliveryId],
            ['X-GitHub-Event', body.kind === 'github' ? body.event : 'ping'],
            ['Content-Type', 'application/json'],
            ['X-Hub-Signature-256', signGithubPayload(raw, SECRETS[1])],
          ];
          const answers = await Promise.all(
            Array.from({ length: copies }, () =>
              sendRaw(orch.url, { method: 'POST', path: WEBHOOK_PATH, headers, body: raw }),
            ),
          );
          const statuses = answers.map((a) => a.status).sort();
          // A payload jsonb cannot hold is refused by every copy alike.
          if (statuses.every((s) => s === 400)) return;
          expect(statuses).toEqual([200, ...Array<number>(copies - 1).fill(409)]);
          const { rows } = await db().query(
            'SELECT count(*)::int AS n FROM webhook_events WHERE delivery_id = $1',
            [deliveryId],
          );
          expect(rows[0].n).toBe(1);
        },
        0.5,
      );
    },
    timeoutFor(0.5),
  );

  it('leaks no webhook secret or credential into any response or log line', async () => {
    // The audit trail is flushed to the log every 2 s.
    await waitFor(async () => logs.lines().some((l) => canary.check('orchestrator log', l) > 0), {
      what: 'the canary in the captured log',
      timeoutMs: 5000,
    });
    expect(canary.found().map((l) => l.where)).toEqual(
      expect.arrayContaining(['response', 'orchestrator log']),
    );
    for (const line of logs.lines()) leaks.check('orchestrator log', line);
    expect(leaks.found()).toEqual([]);
    expect(leaks.textsChecked).toBeGreaterThan(100);
  });
});

describe('hostile input: webhook intake under the default failure limit', () => {
  let orch: RunningOrchestrator;

  beforeAll(async () => {
    orch = await startOrchestrator({ QUEUE_PREFIX: `${PREFIX}_limit` });
  });
  afterAll(() => orch.close());

  it('answers 429 with Retry-After once unverified requests pass the burst, but still takes a signed delivery', async () => {
    const forged = [];
    for (let i = 0; i < 30; i++) {
      forged.push(
        await sendRaw(orch.url, {
          method: 'POST',
          path: WEBHOOK_PATH,
          headers: [
            ['X-GitHub-Delivery', randomUUID()],
            ['X-GitHub-Event', 'ping'],
            ['Content-Type', 'application/json'],
            ['X-Hub-Signature-256', 'sha256=' + '0'.repeat(64)],
          ],
          body: '{"zen":"forged"}',
        }),
      );
    }
    const limited = forged.filter((r) => r.status === 429);
    expect(forged.every((r) => r.status === 401 || r.status === 429)).toBe(true);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0].headers['retry-after']).toMatch(/^\d+$/);
    expect(limited[0].json).toMatchObject({ status_code: 429, path: WEBHOOK_PATH });

    const payload = JSON.stringify({ zen: 'still here', hook_id: 1 });
    const deliveryId = randomUUID();
    const genuine = await sendRaw(orch.url, {
      method: 'POST',
      path: WEBHOOK_PATH,
      headers: [
        ['X-GitHub-Delivery', deliveryId],
        ['X-GitHub-Event', 'ping'],
        ['Content-Type', 'application/json'],
        ['X-Hub-Signature-256', signGithubPayload(payload, WEBHOOK_SECRET)],
      ],
      body: payload,
    });
    expect(genuine.status).toBe(200);
    const { rows } = await db().query(
      'SELECT count(*)::int AS n FROM webhook_events WHERE delivery_id = $1',
      [deliveryId],
    );
    expect(rows[0].n).toBe(1);
  });
});
