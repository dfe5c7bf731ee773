import { request as httpRequest } from 'node:http';
import { signGithubPayload } from '@app/github';
import {
  closeDb,
  db,
  deliver,
  example,
  RunningOrchestrator,
  startOrchestrator,
  truncateAll,
  WEBHOOK_SECRET,
} from './support/harness';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_hookurl`;
/** Every answer here is prompt; a route left waiting for a body would hit this instead. */
const CLIENT_TIMEOUT_MS = 5000;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One signed delivery over a fresh connection to `path`, given up after CLIENT_TIMEOUT_MS. */
function post(
  url: string,
  method: string,
  path: string,
  event = 'ping',
  payload: unknown = example('ping'),
): Promise<Answer> {
  const raw = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}${path}`,
      {
        method,
        agent: false,
        timeout: CLIENT_TIMEOUT_MS,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(raw),
          'x-github-delivery': `d-${Math.random().toString(36).slice(2)}`,
          'x-github-event': event,
          'x-hub-signature-256': signGithubPayload(raw, WEBHOOK_SECRET),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer to ${method} ${path} within ${CLIENT_TIMEOUT_MS} ms`)),
    );
    req.on('error', reject);
    req.end(method === 'GET' || method === 'HEAD' ? undefined : raw);
  });
}

describe('the webhook URL and its variants', () => {
  let orch: RunningOrchestrator;

  beforeAll(async () => {
    orch = await startOrchestrator({ QUEUE_PREFIX: PREFIX });
  });
  afterAll(async () => {
    await orch.close();
    await closeDb();
  });
  beforeEach(truncateAll);

  async function events(): Promise<number> {
    const { rows } = await db().query('SELECT count(*)::int AS n FROM webhook_events');
    return rows[0].n;
  }

  it('serves the trailing-slash form exactly like the canonical path', async () => {
    const payload = example('pull_request', (p) => p.action === 'opened');
    const slash = await post(orch.url, 'POST', '/api/v1/webhooks/github/', 'pull_request', payload);
    expect(slash.status).toBe(200);
    expect(JSON.parse(slash.body)).toMatchObject({
      status: 'accepted',
      event_type: 'pull_request',
      result: { status: 'queued', task_type: 'pull_request_analysis' },
    });
    expect(slash.headers['x-correlation-id']).toBeDefined();
    expect(slash.headers['x-content-type-options']).toBe('nosniff');
    const withQuery = await post(orch.url, 'POST', '/api/v1/webhooks/github/?source=hook');
    expect(withQuery.status).toBe(200);
    expect(await events()).toBe(2);
  });

  it.each(['/API/v1/webhooks/github', '/api/v1/webhooks/GitHub/', '/Api/V1/Webhooks/Github'])(
    'answers %s with a prompt 404 in the error format, storing nothing',
    async (path) => {
      const res = await post(orch.url, 'POST', path);
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toEqual({
        error: `no route for POST ${path}`,
        status_code: 404,
        path,
        correlation_id: expect.any(String),
      });
      expect(await events()).toBe(0);
    },
  );

  it('answers other path variants promptly too', async () => {
    for (const path of [
      '/api/v1/webhooks/github//',
      '/api/v1/webhooks/github/x',
      '/api/v1/webhooks//github',
    ]) {
      const res = await post(orch.url, 'POST', path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    expect(await events()).toBe(0);
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH'])(
    'answers %s on the webhook URL with 405 and Allow: POST, in the error format',
    async (method) => {
      for (const path of ['/api/v1/webhooks/github', '/api/v1/webhooks/github/']) {
        const res = await post(orch.url, method, path);
        expect(res.status).toBe(405);
        expect(res.headers.allow).toBe('POST');
        expect(JSON.parse(res.body)).toMatchObject({ status_code: 405, path });
      }
      expect(await events()).toBe(0);
    },
  );

  it('answers HEAD with 405 and no body', async () => {
    const res = await post(orch.url, 'HEAD', '/api/v1/webhooks/github');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body).toBe('');
  });

  it('keeps serving the canonical path as before', async () => {
    const res = await deliver(orch.url, 'ping', example('ping'));
    expect(res.status).toBe(200);
  });
});

describe('case variants of the webhook URL and the failure limiter', () => {
  let orch: RunningOrchestrator;

  beforeAll(async () => {
    orch = await startOrchestrator({
      QUEUE_PREFIX: `${PREFIX}_limit`,
      WEBHOOK_RATE_LIMIT_PER_SECOND: '1',
      WEBHOOK_RATE_LIMIT_BURST: '3',
    });
  });
  afterAll(async () => {
    await orch.close();
    await closeDb();
  });

  it('counts each 404 variant as a failed delivery: past the burst the client gets 429', async () => {
    // Refill is one per second; a loaded machine may refill a token or two meanwhile.
    const statuses: number[] = [];
    while (statuses.length < 10 && !statuses.includes(429)) {
      statuses.push((await post(orch.url, 'POST', '/API/v1/webhooks/github')).status);
    }
    expect(statuses.slice(0, 3)).toEqual([404, 404, 404]);
    expect(statuses).toContain(429);
    const limited = await post(orch.url, 'POST', '/api/v1/webhooks/GitHub/');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(limited.body)).toEqual({
      error: 'too many unverified webhook requests from this address',
      status_code: 429,
      path: '/api/v1/webhooks/GitHub/',
      correlation_id: expect.any(String),
    });
    // The budget is shared with the canonical URL's failures, as for any unverified request.
    const unsigned = await deliver(orch.url, 'ping', example('ping'), { signature: null });
    expect(unsigned.status).toBe(429);
  });
});
