import { EventEmitter } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lifecycle } from './lifecycle';
import { closeConnectionsWhileDraining, closeOnSignals } from './shutdown';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function harness(close: () => Promise<void>, graceMs: number, drainDelayMs = 0) {
  const signals = new EventEmitter();
  const exits: number[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const remove = closeOnSignals(close, {
    graceMs,
    drainDelayMs,
    service: 'test',
    signals,
    exit: (code) => exits.push(code),
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { signals, exits, lines, remove };
}

describe('closeOnSignals', () => {
  afterEach(() => lifecycle.reset());

  it('turns readiness off at once, serves through the drain delay, then closes and exits 0', async () => {
    let closedAt = 0;
    const h = harness(
      async () => {
        closedAt = Date.now();
      },
      5000,
      150,
    );
    const signalledAt = Date.now();
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(lifecycle.draining).toBe(true);
    expect(closedAt).toBe(0);
    await sleep(400);
    expect(closedAt - signalledAt).toBeGreaterThanOrEqual(140);
    expect(h.exits).toEqual([0]);
    expect(h.lines.map((l) => l.message)).toEqual([
      'received SIGTERM, shutting down',
      'drain delay over, closing',
      'shutdown complete',
    ]);
    expect(h.lines[0]).toMatchObject({ service: 'test', grace_ms: 5000, drain_delay_ms: 150 });
    h.remove();
  });

  it('waits for a slow close that ends within the grace period', async () => {
    const h = harness(() => sleep(200), 2000);
    h.signals.emit('SIGINT', 'SIGINT');
    await sleep(100);
    expect(h.exits).toEqual([]);
    await sleep(250);
    expect(h.exits).toEqual([0]);
    h.remove();
  });

  it('exits 1 when closing outlasts the grace period, and only once', async () => {
    const h = harness(() => sleep(600), 150);
    h.signals.emit('SIGTERM', 'SIGTERM');
    await sleep(800);
    expect(h.exits).toEqual([1]);
    expect(h.lines.map((l) => l.level)).toContain('error');
    h.remove();
  });

  it('exits 1 at once on a second signal or when closing fails', async () => {
    const slow = harness(() => sleep(500), 5000);
    slow.signals.emit('SIGTERM', 'SIGTERM');
    slow.signals.emit('SIGINT', 'SIGINT');
    expect(slow.exits).toEqual([1]);
    slow.remove();

    const failing = harness(() => Promise.reject(new Error('pool stuck')), 5000);
    failing.signals.emit('SIGTERM', 'SIGTERM');
    await sleep(50);
    expect(failing.exits).toEqual([1]);
    expect(failing.lines.at(-1)).toMatchObject({ message: 'shutdown failed' });
    failing.remove();
  });
});

describe('closeConnectionsWhileDraining', () => {
  let server: Server;
  let port: number;
  const agent = new Agent({ keepAlive: true });

  beforeAll(async () => {
    server = createServer((req, res) =>
      closeConnectionsWhileDraining(req, res, () => {
        // A request that arrived before the signal and answers after it.
        setTimeout(() => res.end('ok'), Number(req.url?.slice(1) ?? 0));
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    agent.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  afterEach(() => lifecycle.reset());

  function get(path: string): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers.connection));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('keeps connections alive normally and tells clients to reconnect once draining', async () => {
    expect(await get('/0')).toBe('keep-alive');
    const inFlight = get('/150');
    await sleep(50);
    lifecycle.startDraining();
    expect(await inFlight).toBe('close');
    expect(await get('/0')).toBe('close');
  });
});
