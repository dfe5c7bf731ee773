import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from '@app/platform';
import { mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import { DeliveryRecoveryService } from '../apps/worker/src/recovery/delivery-recovery.service';
import { GithubFake } from './fakes';
import {
  closeDb,
  db,
  deliver,
  example,
  finished,
  RunningOrchestrator,
  RunningWorker,
  startOrchestrator,
  startWorker,
  taskRows,
  testEnv,
  truncateAll,
  waitFor,
} from './support/harness';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_recovery`;
const APP_ID = '90210';
const PAT = 'ghp_recovery_test_token_0123456789';
const HOUR = 3_600_000;
// Generated per run: no private key is ever committed.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const operator = mintAccessToken(
  testEnv().SECRET_KEY as string,
  { sub: 'otto', role: Role.Operator },
  600,
);
const viewer = mintAccessToken(
  testEnv().SECRET_KEY as string,
  { sub: 'vera', role: Role.Viewer },
  600,
);

function recover(orch: RunningOrchestrator, token = operator): Promise<Response> {
  return fetch(`${orch.url}/api/v1/admin/deliveries/recover`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
}

/** Stores delivery GUIDs as received, the way intake would have. */
async function storeEvents(guids: string[]): Promise<void> {
  await db().query(
    `WITH ev AS (
       INSERT INTO webhook_events (delivery_id, event_type, payload, processed)
       SELECT g, 'push', '{}'::jsonb, true FROM unnest($1::text[]) AS g
       RETURNING id, delivery_id, created_at)
     INSERT INTO webhook_deliveries (delivery_id, event_id, received_at)
     SELECT delivery_id, id, created_at FROM ev`,
    [guids],
  );
}

function requestedGuids(github: GithubFake): string[] {
  return github.deliveries.redeliveryRequests.map((r) => r.guid).sort();
}

describe('delivery recovery from the GitHub App hook', () => {
  let github: GithubFake;
  let orch: RunningOrchestrator;
  let worker: RunningWorker;

  beforeAll(async () => {
    github = await GithubFake.start({ app: { appId: APP_ID, publicKey } });
    orch = await startOrchestrator({ QUEUE_PREFIX: PREFIX });
    worker = await startWorker({
      QUEUE_PREFIX: PREFIX,
      GITHUB_API_URL: github.url,
      GITHUB_APP_ID: APP_ID,
      GITHUB_PRIVATE_KEY: PEM.replace(/\n/g, '\\n'),
      DELIVERY_RECOVERY_INTERVAL_MS: '0',
    });
  });
  afterAll(async () => {
    await worker.close();
    await orch.close();
    await github.stop();
    await closeDb();
  });
  beforeEach(async () => {
    await truncateAll();
    github.reset();
  });

  it('asks GitHub once to redeliver every delivery of the last 72 hours that never reached us', async () => {
    const now = Date.now();
    const failed = randomUUID(); // 503 from us
    const timedOut = randomUUID(); // no answer in time
    const lost = randomUUID(); // answered 200, yet not stored
    const twice = randomUUID(); // failed, and its redelivery failed too
    const redelivered = randomUUID(); // failed, then redelivered fine
    const tooOld = randomUUID(); // beyond GitHub's 3 days
    const fresh = randomUUID(); // may still be committing at intake
    // Logged in time order, as GitHub's ids grow with time.
    github.deliveries.add('app', { guid: tooOld, deliveredAt: now - 73 * HOUR });
    // 150 delivered and stored: the log spans two pages of 100.
    const stored = Array.from({ length: 150 }, () => randomUUID());
    await storeEvents(stored);
    stored.forEach((guid, i) =>
      github.deliveries.add('app', {
        guid,
        statusCode: 200,
        deliveredAt: now - 10 * HOUR + i * 1000,
      }),
    );
    github.deliveries.add('app', { guid: failed, statusCode: 503, deliveredAt: now - 5 * HOUR });
    github.deliveries.add('app', { guid: timedOut, statusCode: 0, deliveredAt: now - 4 * HOUR });
    github.deliveries.add('app', { guid: lost, statusCode: 200, deliveredAt: now - 3 * HOUR });
    github.deliveries.add('app', { guid: twice, deliveredAt: now - 2 * HOUR });
    github.deliveries.add('app', { guid: redelivered, deliveredAt: now - 2 * HOUR });
    const twiceRetry = github.deliveries.add('app', {
      guid: twice,
      redelivery: true,
      deliveredAt: now - HOUR,
    });
    github.deliveries.add('app', {
      guid: redelivered,
      redelivery: true,
      statusCode: 200,
      deliveredAt: now - HOUR,
    });
    await storeEvents([redelivered]);
    github.deliveries.add('app', { guid: fresh, deliveredAt: now - 5_000 });

    const res = await recover(orch);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { status: string; task_id: string };
    expect(body.status).toBe('delivery_recovery_triggered');
    const task = await finished(body.task_id);

    expect(task).toMatchObject({ task_type: 'delivery_recovery', status: 'completed' });
    expect(task.input_data).toMatchObject({ trigger: 'operator', requested_by: 'otto' });
    expect(task.output_data).toMatchObject({
      source: 'app',
      pages: 2,
      seen: 155,
      missing: 4,
      already_requested: 0,
      redelivery_requested: 4,
      failed: 0,
      complete: true,
      stopped_reason: null,
    });
    expect(requestedGuids(github)).toEqual([failed, lost, timedOut, twice].sort());
    // The newest attempt of a delivery is the one asked again.
    const askedFor = github.deliveries.redeliveryRequests.find((r) => r.guid === twice);
    expect(askedFor?.deliveryId).toBe(twiceRetry.id);
    // Every call to the App hook went with the App JWT.
    const hookCalls = github.requests.filter((r) => r.path.startsWith('/app/hook/'));
    expect(hookCalls.length).toBe(6);
    for (const call of hookCalls) {
      expect(github.app?.acceptedJwts).toContain(call.headers.authorization?.slice(7));
    }
    const { rows } = await db().query(
      'SELECT guid, status, source FROM delivery_redelivery_requests ORDER BY guid',
    );
    expect(rows.map((r) => r.guid)).toEqual([failed, lost, timedOut, twice].sort());
    expect(rows.every((r) => r.status === 'requested' && r.source === 'app')).toBe(true);

    // A second pass reads only what is new since the cursor and asks for nothing twice.
    await github.deliveries.settled();
    github.requests.length = 0;
    const again = await finished(
      ((await (await recover(orch)).json()) as { task_id: string }).task_id,
    );
    expect(again.output_data).toMatchObject({ pages: 1, redelivery_requested: 0, complete: true });
    expect(github.deliveries.redeliveryRequests).toHaveLength(4);

    const registry = worker.app.get<Registry>(METRICS_REGISTRY, { strict: false });
    const metrics = await registry.metrics();
    expect(metrics).toContain('deliveries_recovered_total{outcome="redelivery_requested"} 4');
    expect(metrics).toContain('deliveries_recovered_total{outcome="missing"} 4');
  });

  it('gets the missing events stored when GitHub redelivers them', async () => {
    const payload = example('push');
    payload.ref = 'refs/heads/feature';
    const guids = [randomUUID(), randomUUID()];
    for (const guid of guids) {
      github.deliveries.add('app', { guid, event: 'push', deliveredAt: Date.now() - HOUR });
    }
    // Each missed delivery was a push of its own (a body of its own: the same body under two
    // delivery ids is refused as a replay).
    github.deliveries.onRedeliver = async (delivery) =>
      (
        await deliver(
          orch.url,
          delivery.event,
          { ...payload, after: delivery.guid.replace(/-/g, '').padEnd(40, '0') },
          { deliveryId: delivery.guid },
        )
      ).status;

    const res = await recover(orch);
    await finished(((await res.json()) as { task_id: string }).task_id);
    await github.deliveries.settled();

    const { rows } = await db().query(
      'SELECT delivery_id FROM webhook_events WHERE delivery_id = ANY($1) ORDER BY delivery_id',
      [guids],
    );
    expect(rows.map((r) => r.delivery_id)).toEqual([...guids].sort());
    expect(
      github.deliveries.list('app').filter((d) => d.redelivery && d.statusCode === 200),
    ).toHaveLength(2);
  });

  it('runs one pass at a time across workers', async () => {
    for (let i = 0; i < 5; i++) {
      github.deliveries.add('app', { guid: randomUUID(), deliveredAt: Date.now() - HOUR });
    }
    github.setLatency(100);
    const service = worker.app.get(DeliveryRecoveryService, { strict: false });

    const outcomes = await Promise.all([service.run(null), service.run(null)]);

    expect(outcomes.map((o) => o.ran).sort()).toEqual([false, true]);
    expect(github.deliveries.redeliveryRequests).toHaveLength(5);
  });

  it('asks again later when GitHub could not take a request, and never after a refusal', async () => {
    const declined = github.deliveries.add('app', {
      guid: randomUUID(),
      deliveredAt: Date.now() - 2 * HOUR,
    });
    const refused = github.deliveries.add('app', {
      guid: randomUUID(),
      deliveredAt: Date.now() - HOUR,
    });
    github.deliveries.refuseRedelivery(declined.id, 502);
    github.deliveries.refuseRedelivery(refused.id, 422);
    const service = worker.app.get(DeliveryRecoveryService, { strict: false });

    const first = await service.run(null);
    // The 502 stops the pass before the page is done; the page is read again next time.
    expect(first).toMatchObject({
      ran: true,
      report: { failed: 1, redeliveryRequested: 0, complete: false, stoppedReason: 'github_error' },
    });
    const second = await service.run(null);
    expect(second).toMatchObject({
      ran: true,
      report: { failed: 1, redeliveryRequested: 1, complete: true },
    });
    const third = await service.run(null);
    expect(third).toMatchObject({ ran: true, report: { redeliveryRequested: 0, failed: 0 } });

    expect(requestedGuids(github)).toEqual([declined.guid]);
    const { rows } = await db().query(
      'SELECT guid, status, error_message FROM delivery_redelivery_requests',
    );
    expect(rows).toHaveLength(2);
    const refusedRow = rows.find((r) => r.guid === refused.guid);
    expect(refusedRow.status).toBe('failed');
    expect(refusedRow.error_message).toContain('422');
  });

  it('is refused to viewers', async () => {
    expect((await recover(orch, viewer)).status).toBe(403);
    expect(await taskRows("task_type = 'delivery_recovery'")).toEqual([]);
  });
});

describe('delivery recovery from a repository hook', () => {
  let github: GithubFake;
  let worker: RunningWorker;
  let service: DeliveryRecoveryService;
  const HOOK = 'repos/octo-org/hello.world/hooks/17';

  beforeAll(async () => {
    github = await GithubFake.start({ token: PAT });
    worker = await startWorker({
      QUEUE_PREFIX: `${PREFIX}_repo`,
      GITHUB_API_URL: `${github.url}/api/v3`,
      GITHUB_TOKEN: PAT,
      DELIVERY_RECOVERY_HOOK: HOOK,
      DELIVERY_RECOVERY_INTERVAL_MS: '0',
      DELIVERY_RECOVERY_MAX_PER_RUN: '2',
    });
    service = worker.app.get(DeliveryRecoveryService, { strict: false });
  });
  afterAll(async () => {
    await worker.close();
    await github.stop();
    await closeDb();
  });
  beforeEach(async () => {
    await truncateAll();
    github.reset();
  });

  it('reads the hook with GITHUB_TOKEN and resumes where a capped pass stopped', async () => {
    const missing = Array.from({ length: 5 }, (_, i) =>
      github.deliveries.add(HOOK, {
        guid: randomUUID(),
        deliveredAt: Date.now() - (10 - i) * HOUR,
      }),
    );

    const reports = [];
    for (let i = 0; i < 3; i++) {
      const outcome = await service.run(null);
      if (!outcome.ran) throw new Error('expected the pass to run');
      reports.push(outcome.report);
    }

    expect(reports.map((r) => [r.redeliveryRequested, r.complete, r.stoppedReason])).toEqual([
      [2, false, 'redelivery_cap'],
      [2, false, 'redelivery_cap'],
      [1, true, null],
    ]);
    expect(reports[2].source).toBe(HOOK);
    // Oldest first, each once.
    expect(github.deliveries.redeliveryRequests.map((r) => r.guid)).toEqual(
      missing.map((d) => d.guid),
    );
    const calls = github.requests.filter((r) => r.path.includes('/hooks/17/deliveries'));
    expect(calls.every((r) => r.headers.authorization === `Bearer ${PAT}`)).toBe(true);
    expect(calls.every((r) => r.path.startsWith('/api/v3/repos/octo-org/hello.world/'))).toBe(true);
  });

  it('resumes an unfinished walk at the page where it stopped', async () => {
    const missing = Array.from({ length: 3 }, (_, i) =>
      github.deliveries.add(HOOK, { guid: randomUUID(), deliveredAt: Date.now() - 30 * HOUR + i }),
    );
    const stored = Array.from({ length: 200 }, () => randomUUID());
    await storeEvents(stored);
    stored.forEach((guid, i) =>
      github.deliveries.add(HOOK, {
        guid,
        statusCode: 200,
        deliveredAt: Date.now() - 20 * HOUR + i,
      }),
    );

    const first = await service.run(null);
    expect(first).toMatchObject({
      ran: true,
      report: { pages: 3, redeliveryRequested: 2, stoppedReason: 'redelivery_cap' },
    });
    const { rows } = await db().query(
      'SELECT walk_page_cursor, last_delivery_id FROM delivery_recovery_state WHERE source = $1',
      [HOOK],
    );
    expect(rows[0].walk_page_cursor).toMatch(/^v1_\d+$/);
    expect(rows[0].last_delivery_id).toBeNull();

    github.requests.length = 0;
    const second = await service.run(null);

    // Straight to the third page: the two stored pages are not read again.
    const listed = github.requests.filter((r) => r.method === 'GET');
    expect(listed).toHaveLength(1);
    expect(listed[0].path).toContain(`cursor=${rows[0].walk_page_cursor as string}`);
    expect(second).toMatchObject({
      ran: true,
      report: { pages: 1, redeliveryRequested: 1, alreadyRequested: 2, complete: true },
    });
    expect(github.deliveries.redeliveryRequests.map((r) => r.guid)).toEqual(
      missing.map((d) => d.guid),
    );
  });

  it('walks from the newest again when GitHub refuses the saved page cursor', async () => {
    const lost = github.deliveries.add(HOOK, {
      guid: randomUUID(),
      deliveredAt: Date.now() - HOUR,
    });
    await db().query(
      `INSERT INTO delivery_recovery_state (source, walk_page_cursor, walk_max_id)
       VALUES ($1, 'expired-cursor', 1)`,
      [HOOK],
    );

    const outcome = await service.run(null);

    expect(outcome).toMatchObject({
      ran: true,
      report: { redeliveryRequested: 1, complete: true, cursor: lost.id },
    });
  });

  it('keeps its place between passes', async () => {
    const guids = Array.from({ length: 230 }, () => randomUUID());
    await storeEvents(guids);
    guids.forEach((guid, i) =>
      github.deliveries.add(HOOK, {
        guid,
        statusCode: 200,
        deliveredAt: Date.now() - 20 * HOUR + i,
      }),
    );

    const first = await service.run(null);
    expect(first).toMatchObject({ ran: true, report: { pages: 3, seen: 230, complete: true } });
    const newest = github.deliveries.list(HOOK)[0];
    const { rows } = await db().query(
      'SELECT last_delivery_id, walk_page_cursor FROM delivery_recovery_state WHERE source = $1',
      [HOOK],
    );
    expect(rows).toEqual([{ last_delivery_id: String(newest.id), walk_page_cursor: null }]);

    const late = github.deliveries.add(HOOK, {
      guid: randomUUID(),
      deliveredAt: Date.now() - HOUR,
    });
    github.requests.length = 0;
    const second = await service.run(null);

    expect(second).toMatchObject({
      ran: true,
      report: { pages: 1, seen: 1, missing: 1, redeliveryRequested: 1, cursor: late.id },
    });
  });
});

describe('periodic delivery recovery', () => {
  let github: GithubFake;
  let workers: RunningWorker[];

  beforeAll(async () => {
    github = await GithubFake.start({ app: { appId: APP_ID, publicKey } });
  });
  afterAll(async () => {
    await github.stop();
    await closeDb();
  });
  beforeEach(async () => {
    await truncateAll();
    github.reset();
  });

  it('creates one tracked task per interval across all workers', async () => {
    const env = {
      QUEUE_PREFIX: `${PREFIX}_periodic`,
      GITHUB_API_URL: github.url,
      GITHUB_APP_ID: APP_ID,
      GITHUB_PRIVATE_KEY: PEM,
      DELIVERY_RECOVERY_INTERVAL_MS: '500',
    };
    github.deliveries.add('app', { guid: randomUUID(), deliveredAt: Date.now() - HOUR });
    workers = [await startWorker(env), await startWorker(env)];
    try {
      await waitFor(
        async () =>
          (await taskRows("task_type = 'delivery_recovery' AND status = 'completed'")).length >= 3,
        { what: 'three periodic passes', timeoutMs: 20_000 },
      );
    } finally {
      for (const w of workers) await w.close();
    }

    const tasks = await taskRows("task_type = 'delivery_recovery'");
    expect(tasks.every((t) => t.input_data.trigger === 'schedule')).toBe(true);
    const times = tasks.map((t) => new Date(t.created_at).getTime());
    for (let i = 1; i < times.length; i++)
      expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(490);
    // Whichever worker ran each pass, the delivery was asked for once.
    expect(github.deliveries.redeliveryRequests).toHaveLength(1);
  });

  it('fails a task with a clear reason when no hook is configured', async () => {
    const orch = await startOrchestrator({ QUEUE_PREFIX: `${PREFIX}_none` });
    const worker = await startWorker({ QUEUE_PREFIX: `${PREFIX}_none` });
    try {
      const res = await recover(orch);
      const task = await finished(((await res.json()) as { task_id: string }).task_id);
      expect(task.status).toBe('failed');
      expect(task.error_message).toContain('delivery recovery is not configured');
    } finally {
      await worker.close();
      await orch.close();
    }
  });
});
