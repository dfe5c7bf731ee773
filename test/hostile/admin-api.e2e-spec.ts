import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  closeDb,
  db,
  RunningOrchestrator,
  startOrchestrator,
  testEnv,
  truncateAll,
  waitFor,
  WEBHOOK_SECRET,
} from '../support/harness';
import { authorizations, seed } from './support/api-fixtures';
import {
  ApiContext,
  apiCaseArb,
  checkApiCase,
  describeCoverage,
  IdPools,
  validReadArb,
} from './support/api-model';
import { closeHttpAgent, sendRaw } from './support/http';
import { captureConsoleLogs, LeakWatch, LogCapture } from './support/leak-watch';
import { ApiOperation, OpenApiDocument, operationsOf, ResponseSchemas } from './support/openapi';
import { checkProperty, printTally, timeoutFor } from './support/settings';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_hostile_api`;
const SECRET_KEY = testEnv().SECRET_KEY as string;

// Every log line of the app, from start-up on.
let logs: LogCapture;
beforeAll(() => {
  logs = captureConsoleLogs();
});

describe('hostile input: operator API generated from the OpenAPI document', () => {
  let orch: RunningOrchestrator;
  let ctx: ApiContext;
  let operations: ApiOperation[];
  let pools: IdPools;
  const leaks = new LeakWatch();
  /** A control that must be found (see the last test). */
  const canary = new LeakWatch();

  beforeAll(async () => {
    await truncateAll();
    orch = await startOrchestrator({
      QUEUE_PREFIX: PREFIX,
      API_RATE_LIMIT_BURST: '1000000',
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      LOG_LEVEL: 'debug',
    });
    // The client's own X-Request-ID comes back as the correlation id, in the 401 and in the audit
    // log line: finding it proves the leak check reads the real answers and the captured logs.
    const canaryRes = await sendRaw(orch.url, {
      method: 'GET',
      path: '/api/v1/tasks',
      headers: [['X-Request-ID', canary.secret('canary', `canary-${randomUUID()}`)]],
    });
    canary.check('response', canaryRes.text);
    leaks.secret('webhook secret', WEBHOOK_SECRET);
    leaks.secret('SECRET_KEY', SECRET_KEY);
    const docRes = await sendRaw(orch.url, { method: 'GET', path: '/docs-json' });
    expect(docRes.status).toBe(200);
    const doc = docRes.json as OpenApiDocument;
    // The webhook has its own suite; /metrics is Prometheus text and /health* depend on workers.
    operations = operationsOf(
      doc,
      (path) => path === '/' || (path.startsWith('/api/v1/') && path !== '/api/v1/webhooks/github'),
    );
    pools = await seed(orch.url);
    ctx = {
      url: orch.url,
      operations: new Map(operations.map((op) => [op.id, op])),
      schemas: new ResponseSchemas(doc),
      authorization: authorizations(leaks),
      leaks,
      seen: new Map(),
    };
  });
  afterAll(async () => {
    await orch.close();
    await closeDb();
    closeHttpAgent();
    printTally('operator API');
    process.stdout.write(
      `[hostile] operator API answers by operation:\n${describeCoverage(ctx)}\n`,
    );
    logs.stop();
  });

  it('finds the operations it is meant to exercise in the document', () => {
    const ids = operations.map((op) => op.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'Events_list',
        'Events_get',
        'Events_reprocess',
        'Tasks_list',
        'Tasks_get',
        'Tasks_retry',
        'Admin_cleanup',
      ]),
    );
    expect(pools.eventIds.length).toBeGreaterThan(5);
    expect(pools.taskIds.length).toBeGreaterThan(3);
  });

  it(
    'answers every generated request with a documented status and body, never a 5xx',
    async () => {
      await checkProperty(
        `all operations (${operations.length})`,
        fc.constantFrom(...operations).chain((op) => apiCaseArb(op, pools)),
        async (c) => {
          await checkApiCase(ctx, c);
        },
        6,
      );
    },
    timeoutFor(6),
  );

  it(
    'answers valid reads of existing rows with bodies that match the documented schemas',
    async () => {
      const reads = operations.filter((op) => op.method === 'GET');
      await checkProperty(
        'valid reads',
        fc.constantFrom(...reads).chain((op) => validReadArb(op, pools)),
        async (c) => {
          const res = await checkApiCase(ctx, c);
          expect([200, 404]).toContain(res.status);
        },
        2,
      );
    },
    timeoutFor(2),
  );

  it('leaks no token, Authorization value or secret into any response or log line', async () => {
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
    // Nor into the stored audit trail (it records subjects and reasons, never credentials).
    const { rows } = await db().query<{ row: string }>(
      'SELECT row_to_json(a)::text AS row FROM audit_log a',
    );
    for (const r of rows) leaks.check('audit_log row', r.row);
    expect(leaks.found()).toEqual([]);
  });
});
