import { connect, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import {
  closeDb,
  db,
  deliver,
  example,
  RunningOrchestrator,
  startOrchestrator,
  truncateAll,
  waitFor,
} from './support/harness';
import { sample, scrape } from './support/observability';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_stalled`;
const MAX_PAYLOAD = 65_536;
/** Two nearly complete bodies per client address, four in all. */
const PER_CLIENT = 131_072;
const GLOBAL = 262_144;
const SENT = 60_000;

/** A raw HTTP client: the request line and headers, then as much body as a test wants to send. */
class StalledUpload {
  readonly socket: Socket;
  received = '';
  closed = false;
  readonly closedAt: Promise<number>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.received += chunk));
    socket.on('error', () => undefined);
    this.closedAt = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        resolve(Date.now());
      }),
    );
  }

  /** Declares a body of MAX_PAYLOAD bytes from `client` (X-Forwarded-For) and sends `bytes` of it. */
  static async start(url: string, client: string, bytes: number): Promise<StalledUpload> {
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const upload = new StalledUpload(socket);
    socket.write(
      [
        'POST /api/v1/webhooks/github HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        `Content-Length: ${MAX_PAYLOAD}`,
        `X-GitHub-Delivery: ${randomUUID()}`,
        'X-GitHub-Event: push',
        `X-Hub-Signature-256: sha256=${'0'.repeat(64)}`,
        `X-Forwarded-For: ${client}`,
        '',
        '',
      ].join('\r\n'),
    );
    if (bytes > 0) socket.write(`{"pad":"${'x'.repeat(bytes - 8)}`);
    return upload;
  }

  /** The status and JSON body of the answer, once it arrived. */
  async answer(): Promise<{ status: number; retryAfter: string | null; body: unknown }> {
    await waitFor(async () => this.received.includes('\r\n\r\n') && this.received.endsWith('}'), {
      what: 'an answer on the stalled connection',
      timeoutMs: 10_000,
    });
    const [head, body] = this.received.split('\r\n\r\n');
    const status = Number(head.split(' ')[1]);
    const retryAfter = /^retry-after: *(.+)$/im.exec(head)?.[1].trim() ?? null;
    return { status, retryAfter, body: JSON.parse(body.slice(body.indexOf('{'))) };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

async function heldBytes(url: string): Promise<number | undefined> {
  return sample(await scrape(`${url}/metrics`), 'webhook_unverified_bytes_in_flight');
}

/** The app under test, with the in-flight caps and timeouts given; stalled uploads are closed after each test. */
function suite(timeouts: { headers: number; request: number }): {
  orch: () => RunningOrchestrator;
  stall: (client: string, expectedHeld: number) => Promise<StalledUpload>;
  track: (upload: StalledUpload) => StalledUpload;
  dropAll: () => void;
} {
  let orch: RunningOrchestrator;
  const uploads: StalledUpload[] = [];
  const dropAll = (): void => {
    for (const upload of uploads.splice(0)) upload.destroy();
  };

  beforeAll(async () => {
    orch = await startOrchestrator({
      QUEUE_PREFIX: `${PREFIX}_${timeouts.request}`,
      TRUST_PROXY: 'loopback',
      WEBHOOK_MAX_PAYLOAD_SIZE: String(MAX_PAYLOAD),
      WEBHOOK_INFLIGHT_MAX_BYTES_PER_CLIENT: String(PER_CLIENT),
      WEBHOOK_INFLIGHT_MAX_BYTES: String(GLOBAL),
      HEADERS_TIMEOUT_SECONDS: String(timeouts.headers),
      REQUEST_TIMEOUT_SECONDS: String(timeouts.request),
      WEBHOOK_RATE_LIMIT_BURST: '100000',
    });
  });
  afterEach(dropAll);
  afterAll(async () => {
    await orch.close();
    await closeDb();
  });
  beforeEach(truncateAll);

  return {
    orch: () => orch,
    track: (upload) => {
      uploads.push(upload);
      return upload;
    },
    dropAll,
    /** Starts a stalled upload and waits until the server holds its bytes. */
    stall: async (client, expectedHeld) => {
      const upload = await StalledUpload.start(orch.url, client, SENT);
      uploads.push(upload);
      await waitFor(async () => (await heldBytes(orch.url)) === expectedHeld || null, {
        what: `${expectedHeld} bytes held`,
      });
      return upload;
    },
  };
}

describe('the caps on unverified bytes in flight', () => {
  // Long deadlines here: the stalled uploads must outlast a slow test.
  const { orch: app, stall, track, dropAll } = suite({ headers: 30, request: 120 });

  it('answers 429 past the per-address cap, and counts IPv6 clients by /64', async () => {
    await stall('198.51.100.7', SENT);
    await stall('198.51.100.7', 2 * SENT);
    const third = track(await StalledUpload.start(app().url, '198.51.100.7', SENT));
    expect(await third.answer()).toEqual({
      status: 429,
      retryAfter: '5',
      body: {
        error: 'too many unverified webhook bytes in flight from this address',
        status_code: 429,
        path: '/api/v1/webhooks/github',
        correlation_id: expect.any(String),
      },
    });
    expect(await heldBytes(app().url)).toBe(2 * SENT);
    dropAll();
    await waitFor(async () => (await heldBytes(app().url)) === 0 || null, {
      what: 'bytes given back',
    });

    // Two addresses of one /64 share a budget; the next /64 has its own.
    await stall('2001:db8:1:2::1', SENT);
    await stall('2001:db8:1:2::2', 2 * SENT);
    const sameNetwork = track(await StalledUpload.start(app().url, '2001:db8:1:2::3', SENT));
    expect((await sameNetwork.answer()).status).toBe(429);
    await stall('2001:db8:1:3::1', 3 * SENT);
  });

  it('answers 503 with Retry-After past the global cap, whoever asks', async () => {
    for (let i = 1; i <= 4; i++) await stall(`198.51.100.${i}`, i * SENT);
    const fifth = track(await StalledUpload.start(app().url, '198.51.100.5', SENT));
    expect(await fifth.answer()).toEqual({
      status: 503,
      retryAfter: '5',
      body: {
        error: 'too many unverified webhook bytes in flight; try again shortly',
        status_code: 503,
        path: '/api/v1/webhooks/github',
        correlation_id: expect.any(String),
      },
    });
    expect(await heldBytes(app().url)).toBe(4 * SENT);
    // Counted as the service being unavailable, not as a fault of ours.
    const metrics = await scrape(`${app().url}/metrics`);
    expect(sample(metrics, 'webhook_errors_total{error_type="unavailable"}')).toBe(1);
    expect(sample(metrics, 'webhook_errors_total{error_type="internal"}')).toBe(0);
  });
});

describe('the HTTP timeouts', () => {
  const { orch: app, stall } = suite({ headers: 2, request: 3 });

  it('closes stalled uploads at REQUEST_TIMEOUT_SECONDS and gives their bytes back', async () => {
    const started = Date.now();
    const stalled = [await stall('198.51.100.20', SENT), await stall('198.51.100.21', 2 * SENT)];
    const closedAt = await Promise.all(stalled.map((u) => u.closedAt));
    for (const at of closedAt) {
      // 3 s deadline, checked once a second; generous for a loaded machine, far below Node's 300 s.
      expect(at - started).toBeGreaterThanOrEqual(2500);
      expect(at - started).toBeLessThan(15_000);
    }
    expect(stalled[0].received).toMatch(/^HTTP\/1\.1 408 /);
    // In the error format, like every other refusal, naming the path it was sent to.
    expect(await stalled[0].answer()).toEqual({
      status: 408,
      retryAfter: null,
      body: {
        error: 'request timed out',
        status_code: 408,
        path: '/api/v1/webhooks/github',
        correlation_id: expect.any(String),
      },
    });
    // /metrics may answer from its one-second cache.
    await waitFor(async () => (await heldBytes(app().url)) === 0 || null, {
      what: 'bytes given back',
    });
    // Nothing was stored, and the server takes deliveries as before.
    expect((await db().query('SELECT count(*)::int AS n FROM webhook_events')).rows[0].n).toBe(0);
    expect((await deliver(app().url, 'ping', example('ping'))).status).toBe(200);
  });

  it('closes a connection whose headers never end at HEADERS_TIMEOUT_SECONDS', async () => {
    const { port } = new URL(app().url);
    const socket = connect(Number(port), '127.0.0.1');
    const started = Date.now();
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    socket.write('POST /api/v1/webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Eve');
    const closedAt = await new Promise<number>((resolve) =>
      socket.on('close', () => resolve(Date.now())),
    );
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    // The path is not known before the request line and headers are read.
    expect(JSON.parse(received.slice(received.indexOf('{')))).toEqual({
      error: 'request timed out',
      status_code: 408,
      path: '',
      correlation_id: expect.any(String),
    });
    expect(closedAt - started).toBeGreaterThanOrEqual(1500);
    expect(closedAt - started).toBeLessThan(15_000);
  });
});
