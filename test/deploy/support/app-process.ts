import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../support/harness';
import { DIST } from './paths';

export const ORCHESTRATOR_MAIN = join(DIST, 'apps/orchestrator/src/main.js');
export const WORKER_MAIN = join(DIST, 'apps/worker/src/main.js');

/** A built app running as a child process, exactly as `npm run start:*` runs it. */
export interface AppProcess {
  child: ChildProcess;
  output(): string;
  /** JSON log lines so far. */
  lines(): Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Sends SIGTERM and returns the time it was sent. */
  terminate(): number;
}

export function assertBuilt(): void {
  if (!existsSync(ORCHESTRATOR_MAIN) || !existsSync(WORKER_MAIN)) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
}

export function startApp(script: string, env: Record<string, string | undefined>): AppProcess {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return {
    child,
    output: () => out,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
    terminate: () => {
      child.kill('SIGTERM');
      return Date.now();
    },
  };
}

/** Waits for a log line whose message contains `text`; fails early if the process exits. */
export async function waitForLog(
  proc: AppProcess,
  text: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  let exited = false;
  void proc.exited.then(() => (exited = true));
  return waitFor(
    async () => {
      if (exited) throw new Error(`process exited before logging "${text}":\n${proc.output()}`);
      return proc.lines().find((l) => String(l.message).includes(text)) ?? null;
    },
    { timeoutMs, what: `log line "${text}"` },
  );
}

/** Kills whatever is still running (after a failed assertion), without waiting long. */
export async function killAll(procs: Array<AppProcess | undefined>): Promise<void> {
  await Promise.all(
    procs.map(async (proc) => {
      if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      proc.child.kill('SIGKILL');
      await proc.exited;
    }),
  );
}
