import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Client } from 'pg';
import { closeDb, db, testEnv, WEBHOOK_SECRET } from '../support/harness';
import { authorizations, seed } from './support/api-fixtures';
import { ApiContext, apiCaseArb, checkApiCase } from './support/api-model';
import { AppProcess, ORCHESTRATOR_MAIN } from '../support/app-process';
import { closeHttpAgent, sendRaw } from './support/http';
import { checkDelivery, deliveryArb, IntakeTarget } from './support/intake-model';
import { LeakWatch } from './support/leak-watch';
import { OpenApiDocument, operationsOf, ResponseSchemas } from './support/openapi';
import { checkProperty, printTally, timeoutFor } from './support/settings';

const SECRETS = [WEBHOOK_SECRET, 'rotated-webhook-secret-for-the-leak-check-4c1d'];
const SECRET_KEY = testEnv().SECRET_KEY as string;

/**
 * The run's database URL with a password in it, when the server lets it in (trust
 * authentication ignores it), so the leak check covers the connection string's secret too.
 */
async function databaseUrlWithPassword(): Promise<{ url: string; password?: string }> {
  const url = new URL(process.env.TEST_DATABASE_URL as string);
  if (url.password) return { url: url.toString(), password: decodeURIComponent(url.password) };
  const password = `hostile-db-password-${randomUUID()}`;
  url.password = password;
  const probe = new Client({ connectionString: url.toString() });
  try {
    await probe.connect();
    return { url: url.toString(), password };
  } catch {
    return { url: process.env.TEST_DATABASE_URL as string };
  } finally {
    await probe.end().catch(() => undefined);
  }
}

// The built app as a process at LOG_LEVEL=debug: every line it writes, start to exit, is read.
describe('hostile input: no secret in any response or log line of the built orchestrator', () => {
  let orch: AppProcess;
  let intake: IntakeTarget;
  let api: ApiContext;
  const leaks = new LeakWatch();
  const canary = new LeakWatch();

  beforeAll(async () => {
    const database = await databaseUrlWithPassword();
    orch = await AppProcess.start(
      ORCHESTRATOR_MAIN,
      {
        ...testEnv({
          QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_hostile_secrets`,
          LOG_LEVEL: 'debug',
          DATABASE_URL: database.url,
          GITHUB_WEBHOOK_SECRET: SECRETS.join(','),
        }),
        WEBHOOK_RATE_LIMIT_BURST: '100000',
        WEBHOOK_RATE_LIMIT_PER_SECOND: '100000',
        API_RATE_LIMIT_BURST: '1000000',
        API_RATE_LIMIT_PER_MINUTE: '1000000',
      },
      { ready: 'orchestrator listening' },
    );
    // A control that must be found: a client's own X-Request-ID is echoed as the correlation id
    // (in the 401 and in the audit log line), which proves the check reads real answers and logs.
    const canaryRes = await sendRaw(orch.url, {
      method: 'GET',
      path: '/api/v1/tasks',
      headers: [['X-Request-ID', canary.secret('canary', `canary-${randomUUID()}`)]],
    });
    canary.check('response', canaryRes.text);
    SECRETS.forEach((s, i) => leaks.secret(`webhook secret ${i + 1}`, s));
    leaks.secret('SECRET_KEY', SECRET_KEY);
    if (database.password) leaks.secret('database password', database.password);
    intake = { url: orch.url, secrets: SECRETS, limit: 1_048_576, db: db(), leaks };

    const docRes = await sendRaw(orch.url, { method: 'GET', path: '/docs-json' });
    const doc = docRes.json as OpenApiDocument;
    const operations = operationsOf(
      doc,
      (p) => p.startsWith('/api/v1/') && p !== '/api/v1/webhooks/github',
    );
    api = {
      url: orch.url,
      operations: new Map(operations.map((op) => [op.id, op])),
      schemas: new ResponseSchemas(doc),
      authorization: authorizations(leaks),
      leaks,
    };
  });
  afterAll(async () => {
    await orch?.stop();
    await closeDb();
    closeHttpAgent();
    printTally('secrets (built app)');
  });

  it(
    'keeps credentials sent with hostile deliveries out of answers, logs and stored headers',
    async () => {
      await checkProperty(
        'deliveries with credentials',
        deliveryArb(SECRETS.length, SECRETS),
        async (spec) => {
          // Fresh high-entropy credentials each run, so any echo of them is unmistakable.
          await checkDelivery(intake, {
            ...spec,
            extraHeaders: [
              ...spec.extraHeaders,
              ['Authorization', `Bearer ghp_${randomUUID().replace(/-/g, '')}`],
              ['Cookie', `session=${randomUUID()}`],
            ],
          });
        },
        1,
      );
    },
    timeoutFor(1),
  );

  it(
    'keeps every kind of token out of the operator API answers and logs',
    async () => {
      const pools = await seed(orch.url);
      const operations = [...api.operations.values()];
      await checkProperty(
        'operator API tokens',
        fc.constantFrom(...operations).chain((op) => apiCaseArb(op, pools)),
        async (c) => {
          await checkApiCase(api, c);
        },
        1,
      );
    },
    timeoutFor(1),
  );

  it('wrote no secret, token or Authorization value in any line from start to exit', async () => {
    expect(await orch.stop()).toBe(0);
    const lines = orch.rawLines();
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      leaks.check('orchestrator output', line);
      canary.check('orchestrator output', line);
    }
    expect(canary.found().map((l) => l.where)).toEqual(
      expect.arrayContaining(['response', 'orchestrator output']),
    );
    const { rows } = await db().query<{ row: string }>(
      'SELECT row_to_json(a)::text AS row FROM audit_log a',
    );
    for (const r of rows) leaks.check('audit_log row', r.row);
    expect(leaks.found()).toEqual([]);
    process.stdout.write(
      `\n[hostile] secrets: ${leaks.secretCount} secret values looked for in ${leaks.textsChecked} texts ` +
        `(${lines.length} log lines), none found\n`,
    );
  });
});
