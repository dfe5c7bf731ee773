import { ExternalServiceError } from '../errors/domain-error';
import { CircuitOpenError, CircuitStateName, createServicePolicy } from './http-policy';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const transient = (retryAfterMs?: number, status = 503) =>
  new ExternalServiceError('svc', 'unavailable', true, status, retryAfterMs);
const notFound = () => new ExternalServiceError('svc', 'not found', false, 404);

/** A call that fails with the given errors in order, then answers 'ok'. */
function scripted(...failures: Error[]) {
  const calls: number[] = [];
  const fn = async (_signal: AbortSignal): Promise<string> => {
    calls.push(Date.now());
    const failure = failures.shift();
    if (failure !== undefined) throw failure;
    return 'ok';
  };
  return { fn, calls };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const fast = { service: 'svc', timeoutMs: 1_000, retryBaseMs: 1 };

describe('createServicePolicy', () => {
  it('retries transient failures in-call and returns the eventual answer', async () => {
    const policy = createServicePolicy({ ...fast, retries: 2 });
    const call = scripted(transient(), transient());

    await expect(policy.execute(call.fn)).resolves.toBe('ok');
    expect(call.calls).toHaveLength(3);
  });

  it('gives up after the configured retries with the last transient error', async () => {
    const policy = createServicePolicy({ ...fast, retries: 1 });
    const call = scripted(transient(), transient(), transient());

    const error = await rejection(policy.execute(call.fn));
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as ExternalServiceError).transient).toBe(true);
    expect(call.calls).toHaveLength(2);
  });

  it('does not retry a permanent failure and rethrows it unchanged', async () => {
    const policy = createServicePolicy({ ...fast, retries: 3 });
    const failure = notFound();
    const call = scripted(failure);

    await expect(policy.execute(call.fn)).rejects.toBe(failure);
    expect(call.calls).toHaveLength(1);
  });

  it('passes unknown errors (bugs) through without retrying them', async () => {
    const policy = createServicePolicy({ ...fast, retries: 3 });
    const bug = new RangeError('bug');
    const call = scripted(bug);

    await expect(policy.execute(call.fn)).rejects.toBe(bug);
    expect(call.calls).toHaveLength(1);
  });

  it('converts network errors into transient ExternalServiceErrors and retries them', async () => {
    const policy = createServicePolicy({ ...fast, retries: 1 });
    const refused = () =>
      new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      });
    const call = scripted(refused(), refused());

    const error = await rejection(policy.execute(call.fn));
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect(error).toMatchObject({
      service: 'svc',
      transient: true,
      message: 'network error (ECONNREFUSED)',
    });
    expect(call.calls).toHaveLength(2);
  });

  it('opens the circuit after 5 consecutive transient failures and then fails fast', async () => {
    const policy = createServicePolicy({
      ...fast,
      retries: 0,
      breakerThreshold: 5,
      halfOpenAfterMs: 10_000,
    });
    const states: CircuitStateName[] = [];
    policy.onStateChange((state) => states.push(state));
    const call = scripted(...Array.from({ length: 10 }, () => transient()));

    for (let i = 0; i < 5; i++) {
      expect(policy.state).toBe('closed');
      await expect(policy.execute(call.fn)).rejects.toMatchObject({ status: 503 });
    }
    const error = await rejection(policy.execute(call.fn));

    expect(policy.state).toBe('open');
    expect(states).toEqual(['open']);
    expect(call.calls).toHaveLength(5);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toBeInstanceOf(ExternalServiceError);
    const open = error as ExternalServiceError;
    // The circuit names the failure that opened it, not just its state.
    expect(open).toMatchObject({
      service: 'svc',
      message: 'circuit open; last error: unavailable (HTTP 503)',
      transient: true,
    });
    expect(open.retryAfterMs).toBeGreaterThan(9_000);
    expect(open.retryAfterMs).toBeLessThanOrEqual(10_000);
  });

  it('names the last network failure, with its code and host, when the circuit is open', async () => {
    const policy = createServicePolicy({
      ...fast,
      host: 'api.github.com',
      retries: 0,
      breakerThreshold: 2,
      halfOpenAfterMs: 10_000,
    });
    // What fetch throws when the name does not resolve (no network, a typo in the URL).
    const unresolved = () =>
      new TypeError('fetch failed', {
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND api.github.com'), {
          code: 'ENOTFOUND',
          hostname: 'api.github.com',
        }),
      });
    const call = scripted(unresolved(), unresolved());

    const first = await rejection(policy.execute(call.fn));
    expect(first).toMatchObject({ message: 'network error (ENOTFOUND api.github.com)' });
    await rejection(policy.execute(call.fn));
    const open = await rejection(policy.execute(call.fn));

    expect(open).toBeInstanceOf(CircuitOpenError);
    expect(open).toMatchObject({
      message: 'circuit open; last error: network error (ENOTFOUND api.github.com)',
      lastFailure: 'network error (ENOTFOUND api.github.com)',
    });
    expect(call.calls).toHaveLength(2);
  });

  it('names the last timeout and its host when the circuit is open', async () => {
    const policy = createServicePolicy({
      ...fast,
      host: 'codegen.example:8443',
      timeoutMs: 20,
      retries: 0,
      breakerThreshold: 1,
      halfOpenAfterMs: 10_000,
    });
    const hanging = () => new Promise<string>(() => undefined);

    expect(await rejection(policy.execute(hanging))).toMatchObject({
      message: 'request to codegen.example:8443 timed out after 20 ms',
    });
    expect(await rejection(policy.execute(hanging))).toMatchObject({
      message: 'circuit open; last error: request to codegen.example:8443 timed out after 20 ms',
    });
  });

  it('names the refused address and port of a network error', async () => {
    const policy = createServicePolicy({ ...fast, host: 'ignored.example', retries: 0 });
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
        code: 'ECONNREFUSED',
        address: '127.0.0.1',
        port: 9,
      }),
    });

    const error = await rejection(policy.execute(scripted(refused).fn));
    expect(error).toMatchObject({ message: 'network error (ECONNREFUSED 127.0.0.1:9)' });
    // The original error stays reachable for logs and debuggers.
    expect((error as Error).cause).toBe(refused);
  });

  it('counts in-call retries toward the breaker and stops retrying once it opens', async () => {
    const policy = createServicePolicy({
      ...fast,
      retries: 5,
      breakerThreshold: 3,
      halfOpenAfterMs: 10_000,
    });
    const call = scripted(transient(), transient(), transient(), transient());

    await expect(policy.execute(call.fn)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(call.calls).toHaveLength(3);
    expect(policy.state).toBe('open');
  });

  it('does not open the circuit on permanent failures such as 404', async () => {
    const policy = createServicePolicy({ ...fast, retries: 0, breakerThreshold: 5 });
    const call = scripted(...Array.from({ length: 10 }, notFound));

    for (let i = 0; i < 10; i++) {
      await expect(policy.execute(call.fn)).rejects.toMatchObject({ status: 404 });
    }
    expect(policy.state).toBe('closed');
    expect(call.calls).toHaveLength(10);
  });

  it('lets one trial call through after halfOpenAfterMs and closes on success', async () => {
    const policy = createServicePolicy({
      ...fast,
      retries: 0,
      breakerThreshold: 2,
      halfOpenAfterMs: 50,
    });
    const states: CircuitStateName[] = [];
    policy.onStateChange((state) => states.push(state));
    const call = scripted(transient(), transient());

    await expect(policy.execute(call.fn)).rejects.toMatchObject({ status: 503 });
    await expect(policy.execute(call.fn)).rejects.toMatchObject({ status: 503 });
    await expect(policy.execute(call.fn)).rejects.toBeInstanceOf(CircuitOpenError);
    await sleep(60);

    await expect(policy.execute(call.fn)).resolves.toBe('ok');
    expect(policy.state).toBe('closed');
    expect(states).toEqual(['open', 'half_open', 'closed']);
  });

  it('reopens the circuit when the trial call fails', async () => {
    const policy = createServicePolicy({
      ...fast,
      retries: 0,
      breakerThreshold: 1,
      halfOpenAfterMs: 50,
    });
    const call = scripted(transient(), transient());

    await expect(policy.execute(call.fn)).rejects.toMatchObject({ status: 503 });
    await sleep(60);
    await expect(policy.execute(call.fn)).rejects.toMatchObject({ status: 503 });

    expect(policy.state).toBe('open');
    await expect(policy.execute(call.fn)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(call.calls).toHaveLength(2);
  });

  it('stops notifying a listener after it unsubscribes', async () => {
    const policy = createServicePolicy({ ...fast, retries: 0, breakerThreshold: 1 });
    const states: CircuitStateName[] = [];
    const unsubscribe = policy.onStateChange((state) => states.push(state));
    unsubscribe();

    await expect(policy.execute(scripted(transient()).fn)).rejects.toMatchObject({ status: 503 });
    expect(policy.state).toBe('open');
    expect(states).toEqual([]);
  });

  it('waits the Retry-After the service asked for before retrying', async () => {
    const policy = createServicePolicy({ ...fast, retries: 1, maxInCallRetryAfterMs: 1_000 });
    const call = scripted(transient(150, 429));

    await expect(policy.execute(call.fn)).resolves.toBe('ok');
    expect(call.calls).toHaveLength(2);
    expect(call.calls[1] - call.calls[0]).toBeGreaterThanOrEqual(140);
  });

  it('hands a Retry-After longer than maxInCallRetryAfterMs back to the caller at once', async () => {
    const policy = createServicePolicy({ ...fast, retries: 3, maxInCallRetryAfterMs: 1_000 });
    const call = scripted(transient(60_000, 429));

    const error = await rejection(policy.execute(call.fn));
    expect(error).toMatchObject({ status: 429, transient: true, retryAfterMs: 60_000 });
    expect(call.calls).toHaveLength(1);
  });

  it('aborts a hanging call when the timeout passes and reports a transient timeout', async () => {
    const policy = createServicePolicy({ ...fast, timeoutMs: 50, retries: 0 });
    let seenSignal: AbortSignal | undefined;
    const hanging = (signal: AbortSignal) => {
      seenSignal = signal;
      return new Promise<string>(() => undefined);
    };

    const started = Date.now();
    const error = await rejection(policy.execute(hanging));

    expect(Date.now() - started).toBeLessThan(500);
    expect(seenSignal?.aborted).toBe(true);
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect(error).toMatchObject({ transient: true, message: 'request timed out after 50 ms' });
  });

  it('retries a timed-out attempt', async () => {
    const policy = createServicePolicy({ ...fast, timeoutMs: 30, retries: 1 });
    let attempts = 0;
    const slowThenFast = async (signal: AbortSignal) => {
      attempts++;
      if (attempts === 1) await sleep(200);
      return signal.aborted ? 'aborted' : 'ok';
    };

    await expect(policy.execute(slowThenFast)).resolves.toBe('ok');
    expect(attempts).toBe(2);
  });

  describe('non-idempotent calls', () => {
    it('are not retried after a failure the service may have processed', async () => {
      const policy = createServicePolicy({ ...fast, retries: 2 });
      const call = scripted(transient(undefined, 502));

      await expect(policy.execute(call.fn, { idempotent: false })).rejects.toMatchObject({
        status: 502,
      });
      expect(call.calls).toHaveLength(1);
    });

    it('are retried after a 429 or a refused connection', async () => {
      const policy = createServicePolicy({ ...fast, retries: 2 });
      const refused = new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      });
      const call = scripted(transient(0, 429), refused);

      await expect(policy.execute(call.fn, { idempotent: false })).resolves.toBe('ok');
      expect(call.calls).toHaveLength(3);
    });
  });

  it('rejects nonsensical tuning', () => {
    expect(() => createServicePolicy({ service: 'svc', breakerThreshold: 0 })).toThrow(RangeError);
    expect(() => createServicePolicy({ service: 'svc', timeoutMs: -1 })).toThrow(RangeError);
  });
});
