import type { ServiceRequestEvent } from '@app/platform';
import { CodegenFake } from '../../../test/fakes';
import { CodegenClient } from './codegen-client';

const TOKEN = 'codegen-test-token';

describe('CodegenClient request events (metrics and health read these)', () => {
  let fake: CodegenFake;
  let client: CodegenClient;
  let events: ServiceRequestEvent[];

  beforeAll(async () => {
    fake = await CodegenFake.start({ token: TOKEN });
  });
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.reset();
    client = new CodegenClient({
      baseUrl: fake.url,
      token: TOKEN,
      orgId: '42',
      timeoutMs: 1_000,
      retryBaseMs: 1,
    });
    events = [];
    client.onRequest((event) => events.push(event));
  });

  it('reports the agent run creation and each read of it', async () => {
    const run = await client.createAgentRun({ prompt: 'fix the build' });
    await client.getAgentRun(run.id);

    expect(events.map((e) => [e.service, e.operation, e.status, e.httpStatus])).toEqual([
      ['codegen', 'create_agent_run', '2xx', 200],
      ['codegen', 'get_agent_run', '2xx', 200],
    ]);
  });

  it('reports a 429 as rate_limited and a 5xx as 5xx', async () => {
    fake.failNext(1, { status: 429, retryAfterSeconds: 0 });
    await client.createAgentRun({ prompt: 'p' });
    fake.failNext(1, { status: 503 });
    await expect(client.createAgentRun({ prompt: 'p' })).rejects.toMatchObject({ status: 503 });

    expect(events.map((e) => e.status)).toEqual(['rate_limited', '2xx', '5xx']);
  });
});
