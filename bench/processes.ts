import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';

/** CPU time and memory of one process, from /proc (Linux). */
export interface ProcSample {
  /** user + system CPU time, milliseconds. */
  cpuMs: number;
  /** The system (kernel) part of cpuMs: syscalls, loopback TCP. */
  sysMs: number;
  /** Peak resident set size so far (VmHWM), MiB. */
  peakRssMb: number;
  /** Current resident set size (VmRSS), MiB. */
  rssMb: number;
}

let ticksPerSecond = 0;

function clockTicks(): number {
  if (ticksPerSecond === 0) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export function sampleProcess(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  const userTicks = Number(fields[11]);
  const sysTicks = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return {
    cpuMs: ((userTicks + sysTicks) * 1000) / clockTicks(),
    sysMs: (sysTicks * 1000) / clockTicks(),
    peakRssMb: kb('VmHWM') / 1024,
    rssMb: kb('VmRSS') / 1024,
  };
}

/** Summed CPU time (ms) of several processes; those that are gone count as 0. */
export function cpuOfPids(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      out.set(pid, sampleProcess(pid).cpuMs);
    } catch {
      // The process ended between listing and reading.
    }
  }
  return out;
}

/** CPU (ms) spent between two cpuOfPids samples; a process new in `after` counts from 0. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** Busy and total jiffies of the whole machine, to show how much else was running. */
export function sampleMachine(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A node process the bench started; its output goes to a log file. */
export class ChildApp {
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? null : 0);
        resolve(this.exitCode);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  static start(
    name: string,
    args: string[],
    env: Record<string, string>,
    logFile: string,
  ): ChildApp {
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(process.execPath, args, {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', fd, fd],
      });
      return new ChildApp(name, child, logFile);
    } finally {
      closeSync(fd);
    }
  }

  /** Waits until the app answers HTTP on `port` (any status), or fails after `timeoutMs`. */
  async waitForHttp(port: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited during start; see ${this.logFile}`);
      if (await answers(port)) return;
      await sleep(100);
    }
    throw new Error(`${this.name} did not answer on port ${port}; see ${this.logFile}`);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves with the exit code. */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Last resort on a crash of the bench itself: synchronous, no waiting. */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', method: 'GET', timeout: 1000 },
      (res) => {
        res.resume();
        resolve(true);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
