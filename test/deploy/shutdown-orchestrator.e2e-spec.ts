import { randomUUID, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { signGithubPayload } from '@app/github';
import {
  closeDb,
  db,
  deliver,
  example,
  testEnv,
  truncateAll,
  WEBHOOK_SECRET,
} from '../support/harness';
import {
  AppProcess,
  assertBuilt,
  killAll,
  ORCHESTRATOR_MAIN,
  startApp,
} from '../support/app-process';

const DRAIN_DELAY_MS = 2000;
const GRACE_MS = 15_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function pushPayload() {
  const payload = example('push');
  payload.ref = `refs/heads/${payload.repository.default_branch}`;
  payload.deleted = false;
  // Each push is a commit of its own: the intake refuses a stored body under a new delivery id.
  payload.after = randomBytes(20).toString('hex');
  return payload;
}

interface SlowDelivery {
  deliveryId: string;
  /** Sends the rest of the body; the request has been in flight until then. */
  finish(): void;
  response: Promise<{ status: number; body: Record<string, unknown> }>;
}

/** A delivery whose body arrives in two parts: in flight for as long as the test wants. */
function slowDelivery(port: number): SlowDelivery {
  const deliveryId = randomUUID();
  const raw = Buffer.from(JSON.stringify(pushPayload()));
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/api/v1/webhooks/github',
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': raw.length,
      'x-github-delivery': deliveryId,
      'x-github-event': 'push',
      'x-hub-signature-256': signGithubPayload(raw, WEBHOOK_SECRET),
      'user-agent': 'GitHub-Hookshot/test',
    },
  });
  const response = new Promise<{ status: number; body: Record<string, unknown> }>(
    (resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(text) as Record<string, unknown>,
          }),
        );
      });
      req.on('error', reject);
    },
  );
  const half = Math.floor(raw.length / 2);
  req.write(raw.subarray(0, half));
  return { deliveryId, finish: () => req.end(raw.subarray(half)), response };
}

interface Attempt {
  deliveryId: string;
  sentAt: number;
  status: number | 'refused' | 'network error';
}

/** Sends deliveries one after another until the listener refuses twice (bounded in count and time). */
async function keepDelivering(baseUrl: string, attempts: Attempt[]): Promise<void> {
  const deadline = Date.now() + GRACE_MS + 5000;
  let refused = 0;
  for (let i = 0; i < 400 && refused < 2 && Date.now() < deadline; i++) {
    const deliveryId = randomUUID();
    const sentAt = Date.now();
    try {
      const res = await deliver(baseUrl, 'push', pushPayload(), { deliveryId });
      attempts.push({ deliveryId, sentAt, status: res.status });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (code === 'ECONNREFUSED') refused++;
      attempts.push({
        deliveryId,
        sentAt,
        status: code === 'ECONNREFUSED' ? 'refused' : 'network error',
      });
    }
    await sleep(40);
  }
}

describe('orchestrator graceful shutdown (the built app as a process)', () => {
  let app: AppProcess | undefined;

  beforeAll(assertBuilt);
  afterEach(() => killAll([app]));
  afterAll(closeDb);

  it('on SIGTERM: readiness 503 at once, serves through the drain, finishes in-flight requests, exits 0, loses no acknowledged delivery', async () => {
    await truncateAll();
    app = startApp(ORCHESTRATOR_MAIN, {
      ...testEnv({
        QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_shutdown_orch`,
        LOG_LEVEL: 'info',
        SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      }),
    });
    const port = Number((await app.waitForLog('orchestrator listening')).port);
    const baseUrl = `http://127.0.0.1:${port}`;
    const ready = () => fetch(`${baseUrl}/health/ready`).then((r) => r.status);
    // The readiness route comes with the observability work; assert it once it is there.
    const readinessBefore = await ready();
    const hasReadiness = readinessBefore !== 404;
    if (hasReadiness) expect(readinessBefore).toBe(200);

    const inFlight = slowDelivery(port);
    const attempts: Attempt[] = [];
    const stream = keepDelivering(baseUrl, attempts);
    await sleep(300);

    const signalledAt = app.terminate();
    // The signal is handled on the process's next turn; its first log line marks that moment.
    await app.waitForLog('received SIGTERM');
    if (hasReadiness) {
      // The load balancer sees "not ready" at once, while the process keeps serving.
      expect(await ready()).toBe(503);
      expect((await fetch(`${baseUrl}/health/live`)).status).toBe(200);
    }
    // A new delivery during the drain is still accepted.
    const during = await deliver(baseUrl, 'push', pushPayload());
    expect(during.status).toBe(200);
    // Past the drain delay the listener is closing; the request in flight still completes.
    await sleep(DRAIN_DELAY_MS + 500);
    inFlight.finish();
    const finished = await inFlight.response;
    expect(finished.status).toBe(200);
    expect(finished.body.delivery_id).toBe(inFlight.deliveryId);

    const exit = await app.exited;
    await stream;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
    expect(exit.at - signalledAt).toBeLessThan(GRACE_MS);
    expect(app.lines().map((l) => l.message)).toEqual(
      expect.arrayContaining(['received SIGTERM, shutting down', 'shutdown complete']),
    );

    // Every answer was a 200 or a refused connection: never a 5xx from a half-closed app.
    const statuses = new Set(attempts.map((a) => a.status));
    expect(
      [...statuses].filter((s) => s !== 200 && s !== 'refused' && s !== 'network error'),
    ).toEqual([]);
    const acknowledged = [
      ...attempts.filter((a) => a.status === 200).map((a) => a.deliveryId),
      during.deliveryId,
      inFlight.deliveryId,
    ];
    expect(attempts.some((a) => a.status === 200 && a.sentAt > signalledAt)).toBe(true);
    expect(attempts.some((a) => a.status === 'refused')).toBe(true);
    const { rows } = await db().query<{ delivery_id: string }>(
      'SELECT delivery_id FROM webhook_events WHERE delivery_id = ANY($1)',
      [acknowledged],
    );
    expect(rows.map((r) => r.delivery_id).sort()).toEqual([...new Set(acknowledged)].sort());
    // Each stored delivery has its task: nothing was half-written while closing.
    const { rows: orphans } = await db().query(
      `SELECT e.delivery_id FROM webhook_events e
        WHERE e.delivery_id = ANY($1)
          AND NOT EXISTS (SELECT 1 FROM workflow_tasks t WHERE t.webhook_event_id = e.id)`,
      [acknowledged],
    );
    expect(orphans).toEqual([]);
  });
});
