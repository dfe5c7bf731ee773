import { closeDb, RunningOrchestrator, startOrchestrator } from './support/harness';

const PREFIX = `${process.env.TEST_QUEUE_PREFIX}_docshealth`;

describe('Swagger page settings and the /health cache', () => {
  let orch: RunningOrchestrator;

  beforeAll(async () => {
    orch = await startOrchestrator({ QUEUE_PREFIX: PREFIX });
  });
  afterAll(async () => {
    await orch.close();
    await closeDb();
  });

  it('does not keep the bearer token in the browser (persistAuthorization off)', async () => {
    const init = await fetch(`${orch.url}/docs/swagger-ui-init.js`);
    expect(init.status).toBe(200);
    const text = await init.text();
    expect(text).toMatch(/"persistAuthorization":\s*false/);
    expect(text).not.toMatch(/"persistAuthorization":\s*true/);
  });

  it('answers a burst of /health calls from one computation per second', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await fetch(`${orch.url}/health`);
        expect(res.headers.get('cache-control')).toBe('no-store');
        return ((await res.json()) as { timestamp: string }).timestamp;
      }),
    );
    expect(new Set(answers).size).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    const later = (await (await fetch(`${orch.url}/health`)).json()) as { timestamp: string };
    expect(Date.parse(later.timestamp)).toBeGreaterThan(Date.parse(answers[0]));
  });
});
