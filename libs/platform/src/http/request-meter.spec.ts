import { ServiceRequestEvent, ServiceRequestListeners } from '../observability/request-events';
import { RequestMeter } from './request-meter';

describe('RequestMeter', () => {
  function meter(signal = new AbortController().signal) {
    const listeners = new ServiceRequestListeners();
    const events: ServiceRequestEvent[] = [];
    listeners.add((event) => events.push(event));
    return { meter: new RequestMeter(listeners, 'github', 'get_pull_request', signal), events };
  }

  it('reports an answer by its status class, with the time since the request was made', async () => {
    const { meter: m, events } = meter();
    await new Promise((resolve) => setTimeout(resolve, 30));
    m.answered(404);
    expect(events).toEqual([
      {
        service: 'github',
        operation: 'get_pull_request',
        status: '4xx',
        httpStatus: 404,
        durationSeconds: expect.any(Number),
      },
    ]);
    // Generous: a loaded machine may be slow, never early.
    expect(events[0].durationSeconds).toBeGreaterThanOrEqual(0.02);
    expect(events[0]).not.toHaveProperty('rateLimit');
  });

  it("counts a 403 the caller read as a rate limit as rate_limited, with the answer's budget", () => {
    const { meter: m, events } = meter();
    m.answered(403, { rateLimited: true, rateLimit: { remaining: 0, resource: 'core' } });
    expect(events[0]).toMatchObject({
      status: 'rate_limited',
      httpStatus: 403,
      rateLimit: { remaining: 0, resource: 'core' },
    });
  });

  it('reports no answer as a timeout when the call was aborted, else as a network error', () => {
    const controller = new AbortController();
    const aborted = meter(controller.signal);
    controller.abort();
    aborted.meter.failed();
    const refused = meter();
    refused.meter.failed();
    expect([aborted.events[0].status, refused.events[0].status]).toEqual([
      'timeout',
      'network_error',
    ]);
    expect(aborted.events[0]).not.toHaveProperty('httpStatus');
  });
});
