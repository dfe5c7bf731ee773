import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One sample of an instant query: its labels and value ("NaN", "+Inf" and numbers as text). */
export interface PromSample {
  metric: Record<string, string>;
  value: string;
}

/** A scrape target: a job name and the base URL of an app (`/metrics` is appended). */
export interface ScrapeTarget {
  job: string;
  url: string;
}

/** True when the `prometheus` server binary (Debian package `prometheus`) is on PATH. */
export function prometheusInstalled(): boolean {
  return !spawnSync('prometheus', ['--version']).error;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A real Prometheus on 127.0.0.1, scraping `targets` every second into a scratch directory,
 * evaluating `ruleFiles` every second. Stop it with {@link RunningPrometheus.stop}.
 */
export async function startPrometheus(
  targets: ScrapeTarget[],
  ruleFiles: string[] = [],
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  const config = [
    'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
    `rule_files: ${JSON.stringify(ruleFiles)}`,
    'scrape_configs:',
    ...targets.map(({ job, url }) => {
      const parsed = new URL(url);
      return [
        `  - job_name: ${JSON.stringify(job)}`,
        `    metrics_path: ${JSON.stringify(`${parsed.pathname.replace(/\/$/, '')}/metrics`)}`,
        `    static_configs: [{ targets: [${JSON.stringify(parsed.host)}] }]`,
      ].join('\n');
    }),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const prometheus = new RunningPrometheus(`http://127.0.0.1:${port}`, child, dir, () => errors);
  await prometheus.waitUntil(
    async () => (await fetch(`${prometheus.url}/-/ready`).catch(() => null))?.ok === true,
    'Prometheus to be ready',
  );
  return prometheus;
}

export class RunningPrometheus {
  private readonly exited: Promise<void>;

  constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly errors: () => string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** An instant query at the newest data; throws on a PromQL error. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== 'success' || !body.data) {
      throw new Error(`query failed: ${promql}: ${body.error ?? res.status}`);
    }
    if (body.data.resultType === 'scalar') {
      return [{ metric: {}, value: (body.data.result as [number, string])[1] }];
    }
    return (
      body.data.result as Array<{ metric: Record<string, string>; value: [number, string] }>
    ).map((s) => ({ metric: s.metric, value: s.value[1] }));
  }

  /** Waits until every target has been scraped at least `scrapes` times. */
  async waitForScrapes(jobs: string[], scrapes: number): Promise<void> {
    await this.waitUntil(
      async () => {
        const counts = await this.query('count_over_time(up[1h])');
        return jobs.every((job) =>
          counts.some((s) => s.metric.job === job && Number(s.value) >= scrapes),
        );
      },
      `${scrapes} scrapes of ${jobs.join(', ')}`,
    );
  }

  async waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        throw new Error(`Prometheus exited (${this.child.exitCode}): ${this.errors()}`);
      }
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}; Prometheus said: ${this.errors()}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await this.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
