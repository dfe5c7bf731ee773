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

  it('pre-fills no optional query parameter of "Try it out" with a value that would filter', async () => {
    const doc = (await (await fetch(`${orch.url}/docs-json`)).json()) as {
      paths: Record<string, Record<string, { parameters?: Array<Record<string, any>> }>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- OpenAPI parameters are read field by field
    };
    const prefilled: string[] = [];
    let optional = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const p of op.parameters ?? []) {
          if (p.in !== 'query' || p.required) continue;
          optional++;
          const example = p.example ?? p.schema?.example ?? p.examples;
          // Paging defaults are harmless; a filter value is not.
          if (example !== undefined && !['limit', 'offset'].includes(p.name)) {
            prefilled.push(`${method.toUpperCase()} ${path} ?${p.name}=${JSON.stringify(example)}`);
          }
        }
      }
    }
    expect(optional).toBeGreaterThan(10);
    expect(prefilled).toEqual([]);
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
