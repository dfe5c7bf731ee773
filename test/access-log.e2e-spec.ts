import { mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import {
  closeDb,
  deliver,
  example,
  RunningOrchestrator,
  startOrchestrator,
  testEnv,
  truncateAll,
  waitFor,
} from './support/harness';
import { captureLogs } from './support/observability';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_access`;
const operator = mintAccessToken(
  testEnv().SECRET_KEY as string,
  { sub: 'otto', role: Role.Operator },
  600,
);

type Line = Record<string, unknown>;

const accessLines = (lines: Line[]): Line[] => lines.filter((l) => l.message === 'http request');

describe('the access log', () => {
  let orch: RunningOrchestrator;
  let lines: Line[];

  beforeAll(async () => {
    orch = await startOrchestrator({ QUEUE_PREFIX: PREFIX });
    lines = captureLogs(orch.app, 'info');
  });
  afterAll(async () => {
    await orch.close();
    await closeDb();
  });
  beforeEach(async () => {
    await truncateAll();
    lines.length = 0;
  });

  it('writes one info line for an accepted delivery, with its ids, route, status and duration', async () => {
    const res = await deliver(
      orch.url,
      'pull_request',
      example('pull_request', (p) => p.action === 'opened'),
      { headers: { 'x-request-id': 'access-corr-1' } },
    );
    expect(res.status).toBe(200);
    const [line] = await waitFor(async () => {
      const found = accessLines(lines);
      return found.length > 0 ? found : null;
    });
    expect(accessLines(lines)).toHaveLength(1);
    expect(line).toEqual({
      level: 'info',
      message: 'http request',
      service: 'orchestrator',
      timestamp: expect.any(String),
      method: 'POST',
      route: '/api/v1/webhooks/github',
      path: '/api/v1/webhooks/github',
      status: 200,
      duration_ms: expect.any(Number),
      delivery_id: res.deliveryId,
      event: 'pull_request',
      correlation_id: 'access-corr-1',
    });
    expect(line.duration_ms as number).toBeGreaterThan(0);
  });

  it('logs refused deliveries and API routes by their pattern, never the query string', async () => {
    const forged = await deliver(orch.url, 'ping', example('ping'), { secret: 'not-the-secret' });
    expect(forged.status).toBe(401);
    const id = '00000000-0000-4000-8000-000000000000';
    const task = await fetch(`${orch.url}/api/v1/tasks/${id}?token=leak`, {
      headers: { authorization: `Bearer ${operator}` },
    });
    expect(task.status).toBe(404);
    const unknown = await fetch(`${orch.url}/no/such/route?secret=leak`);
    expect(unknown.status).toBe(404);
    const found = await waitFor(async () => {
      const l = accessLines(lines);
      return l.length >= 3 ? l : null;
    });
    expect(found).toHaveLength(3);
    expect(found[0]).toMatchObject({
      method: 'POST',
      status: 401,
      delivery_id: forged.deliveryId,
      event: 'ping',
    });
    expect(found[1]).toMatchObject({
      method: 'GET',
      route: '/api/v1/tasks/:task_id',
      path: `/api/v1/tasks/${id}`,
      status: 404,
    });
    expect(found[1]).not.toHaveProperty('delivery_id');
    expect(found[2]).toMatchObject({ route: null, path: '/no/such/route', status: 404 });
    expect(JSON.stringify(found)).not.toContain('leak');
    expect(JSON.stringify(found)).not.toContain(operator);
  });

  it('leaves out header values that are not a delivery id or event name', async () => {
    const res = await deliver(orch.url, 'ping', example('ping'), {
      headers: { 'x-github-event': 'Ping <script>\t{"level":"error"}' },
    });
    expect(res.status).toBe(400);
    const [line] = await waitFor(async () => {
      const l = accessLines(lines);
      return l.length > 0 ? l : null;
    });
    expect(line).toMatchObject({ status: 400, delivery_id: res.deliveryId });
    expect(line).not.toHaveProperty('event');
  });
});

describe('the access log turned off (ACCESS_LOG=false)', () => {
  let orch: RunningOrchestrator;

  beforeAll(async () => {
    orch = await startOrchestrator({ QUEUE_PREFIX: `${PREFIX}_off`, ACCESS_LOG: 'false' });
  });
  afterAll(async () => {
    await orch.close();
    await closeDb();
  });
  beforeEach(truncateAll);

  it('writes no access line for an accepted delivery', async () => {
    const lines = captureLogs(orch.app, 'info');
    const res = await deliver(orch.url, 'ping', example('ping'));
    expect(res.status).toBe(200);
    // The answer is written by now; give a stray listener a moment to log anyway.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(accessLines(lines)).toEqual([]);
  });
});
