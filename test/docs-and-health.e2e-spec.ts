import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

describe('the exported OpenAPI document', () => {
  type Example = { error: string; status_code: number; path: string; correlation_id: string };
  type Operation = {
    responses: Record<
      string,
      { content?: Record<string, { example?: Example; schema?: { $ref?: string } }> }
    >;
  };
  let doc: { paths: Record<string, Record<string, Operation>> };

  beforeAll(() => {
    // What `npm run openapi:export` writes, from the build (npm test builds first).
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      execFileSync(process.execPath, [
        resolve(__dirname, '../dist/apps/orchestrator/src/docs/export-openapi.js'),
        file,
      ]);
      doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives each error status of each operation an example body of its own status and path', () => {
    const problems: string[] = [];
    let errors = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const messages = new Map<string, string>();
        for (const [status, response] of Object.entries(op.responses)) {
          const json = response.content?.['application/json'];
          // Health probes answer 503 with their health body, not the error format.
          if (Number(status) < 400 || !json?.schema?.$ref?.endsWith('/ErrorBodyDto')) continue;
          errors++;
          const name = `${method.toUpperCase()} ${path} ${status}`;
          const example = json.example;
          if (!example) {
            problems.push(`${name}: no example`);
            continue;
          }
          if (example.status_code !== Number(status))
            problems.push(`${name}: status_code ${example.status_code}`);
          if (example.path !== path) problems.push(`${name}: path ${example.path}`);
          const twin = messages.get(example.error);
          if (twin) problems.push(`${name}: same message as ${twin}`);
          messages.set(example.error, status);
        }
      }
    }
    expect(errors).toBeGreaterThan(40);
    expect(problems).toEqual([]);
  });

  it("shows the webhook's own answers: a signature 401, the replay guard's 409, the caps' 429 and 503", () => {
    const responses = doc.paths['/api/v1/webhooks/github'].post.responses;
    const error = (status: number): string | undefined =>
      responses[String(status)].content?.['application/json']?.example?.error;
    expect(error(401)).toBe('invalid signature');
    expect(error(409)).toMatch(/was already received/);
    expect(error(413)).toMatch(/payload exceeds the limit/);
    expect(error(429)).toMatch(/unverified webhook requests/);
    expect(error(503)).toMatch(/storage unavailable/);
    expect(
      doc.paths['/api/v1/tasks'].get.responses['401'].content?.['application/json']?.example,
    ).toEqual({
      error: 'a bearer token is required',
      status_code: 401,
      path: '/api/v1/tasks',
      correlation_id: expect.any(String),
    });
  });
});
