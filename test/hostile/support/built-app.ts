import { ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { waitFor } from '../../support/harness';
import type { RawHeader } from './http';

const ROOT = join(__dirname, '../../..');
/** The build to start: `dist/` (what `npm run build` writes) unless HOSTILE_DIST names another. */
const DIST = process.env.HOSTILE_DIST ?? join(ROOT, 'dist');
export const ORCHESTRATOR_MAIN = join(DIST, 'apps/orchestrator/src/main.js');

export interface BuiltOrchestrator {
  url: string;
  pid: number;
  /** Every line the process wrote to stdout and stderr so far. */
  lines(): string[];
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the built orchestrator (`npm run start:orchestrator`) as a child process with `env`,
 * collecting its stdout and stderr, and waits for its "listening" line.
 */
export async function startBuiltOrchestrator(
  env: Record<string, string | undefined>,
): Promise<BuiltOrchestrator> {
  if (!existsSync(ORCHESTRATOR_MAIN)) {
    throw new Error(`${ORCHESTRATOR_MAIN} is missing: run \`npm run build\` first (npm test does)`);
  }
  const child: ChildProcess = spawn(process.execPath, [ORCHESTRATOR_MAIN], {
    // NODE_PATH lets a build outside the repository (HOSTILE_DIST) find node_modules.
    env: { PATH: process.env.PATH, NODE_PATH: join(ROOT, 'node_modules'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = partial[stream] + chunk.toString('utf8');
    const parts = text.split('\n');
    partial[stream] = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l.length > 0));
  };
  child.stdout?.on('data', collect('stdout'));
  child.stderr?.on('data', collect('stderr'));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let port: number;
  try {
    port = await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`orchestrator exited: ${lines.join('\n')}`);
        const line = lines.find((l) => l.includes('"orchestrator listening"'));
        return line ? (JSON.parse(line) as { port: number }).port : null;
      },
      { what: 'the built orchestrator to listen', timeoutMs: 30_000 },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    lines: () => [...lines, partial.stdout, partial.stderr].filter((l) => l.length > 0),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Resident set size now and its peak since the last {@link resetPeak}, in KiB (Linux /proc). */
export function memoryOf(pid: number): { rssKb: number; peakKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
}

/** Resets VmHWM to the current RSS (writing 5 to clear_refs), so the next peak is this phase's. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

export interface UploadResult {
  status: number;
  body: string;
  /** Bytes written before the server answered (or all of them). */
  sent: number;
}

/**
 * Streams a body of `total` bytes (`{"zen":"big"}` then blanks) in 64 KiB chunks, chunked or
 * with its Content-Length declared, signed correctly, and stops sending once the server answers
 * (unless `keepSending`).
 */
export function upload(
  url: string,
  options: {
    total: number;
    declareLength: boolean;
    secret: string;
    headers: RawHeader[];
    /** Sends every byte even after the answer, as a client that does not read early answers. */
    keepSending?: boolean;
  },
): Promise<UploadResult> {
  const head = Buffer.from('{"zen":"big","hook_id":1}');
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const hmac = createHmac('sha256', options.secret).update(head);
  for (let left = options.total - head.length; left > 0; left -= chunk.length) {
    hmac.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  }
  const target = new URL('/api/v1/webhooks/github', url);
  const headers: string[] = ['Host', target.host, 'Content-Type', 'application/json'];
  headers.push('X-Hub-Signature-256', `sha256=${hmac.digest('hex')}`);
  if (options.declareLength) headers.push('Content-Length', String(options.total));
  else headers.push('Transfer-Encoding', 'chunked');
  for (const [name, value] of options.headers) headers.push(name, value);

  return new Promise<UploadResult>((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest({
      host: target.hostname,
      port: target.port,
      method: 'POST',
      path: target.pathname,
      headers: headers as unknown as Record<string, string>,
    });
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        if (!options.keepSending) {
          resolve({ status: res.statusCode ?? 0, body, sent });
          req.destroy();
          return;
        }
        const done = (): void => resolve({ status: res.statusCode ?? 0, body, sent });
        if (req.writableFinished) done();
        else req.once('finish', done).once('close', done);
      });
    });
    // The server closes a refused upload; a write error just before or after its answer is
    // expected, so an error fails the upload only if no answer follows it.
    req.on('error', (error) => {
      if (!answered) setTimeout(() => (answered ? undefined : reject(error)), 500);
    });
    const pump = (): void => {
      if (sent === 0) {
        sent += head.length;
        req.write(head);
        // A declared length can be judged from the headers: give the server a moment to answer
        // before streaming the rest, as a client reading early responses would.
        if (options.declareLength) {
          setTimeout(pump, 300);
          return;
        }
      }
      const stop = (): boolean => answered && !options.keepSending;
      while (!stop() && sent < options.total) {
        const piece = Math.min(chunk.length, options.total - sent);
        sent += piece;
        if (!req.write(piece === chunk.length ? chunk : chunk.subarray(0, piece))) {
          req.once('drain', pump);
          return;
        }
      }
      if (!stop()) req.end();
    };
    pump();
  });
}
