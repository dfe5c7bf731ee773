import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
/**
 * The build the process suites start: `dist/` (what `npm run build` writes) unless TEST_DIST
 * names a copy, so a rebuild during a long run cannot pull the floor away.
 */
export const DIST = process.env.TEST_DIST ?? join(ROOT, 'dist');
export const ORCHESTRATOR_MAIN = join(DIST, 'apps/orchestrator/src/main.js');
export const WORKER_MAIN = join(DIST, 'apps/worker/src/main.js');

/** Log lines are asserted field by field, so they are loosely typed. */
type LogLine = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above
type Env = Record<string, string | undefined>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When the exit was seen (ms since the epoch). */
  at: number;
}

export interface AppProcessOptions {
  /** A log message (or a part of it) that marks the process as ready. */
  ready?: string;
  cwd?: string;
  /** Keeps only the last 10–20 MB of output, for long runs whose reports need the tail. */
  boundOutput?: boolean;
  /** Its own process group, as a terminal runs a foreground command ({@link signalGroup}). */
  detached?: boolean;
}

export function assertBuilt(): void {
  if (!existsSync(ORCHESTRATOR_MAIN) || !existsSync(WORKER_MAIN)) {
    throw new Error(`${DIST} is missing: run \`npm run build\` first (npm test does)`);
  }
}

/**
 * A program (by default one of the built apps, exactly as `npm run start:*` runs it) as a child
 * process, which a test can start, wait for, signal (SIGTERM, SIGKILL, SIGSTOP/SIGCONT), restart
 * and measure. Its stdout and stderr are kept (bounded) for assertions and reports; the process
 * gets PATH and NODE_PATH (so a build outside the repository finds node_modules) besides `env`.
 */
export class AppProcess {
  private child: ChildProcess | null = null;
  private lastChild: ChildProcess | undefined;
  private output = '';
  private readyLine: LogLine | undefined;
  private current: Promise<Exit> = Promise.resolve({ code: null, signal: null, at: 0 });
  /** Exit codes of every run so far. */
  readonly exits: Array<number | null> = [];
  starts = 0;

  constructor(
    readonly name: string,
    /** A script run by this Node.js, or a whole command line. */
    private readonly program: string | string[],
    private readonly env: Env,
    private readonly options: AppProcessOptions = {},
  ) {}

  /** Starts the process and, with a `ready` message, waits for it. */
  static async start(
    program: string | string[],
    env: Env,
    options: AppProcessOptions = {},
    timeoutMs?: number,
  ): Promise<AppProcess> {
    const proc = new AppProcess(nameOf(program), program, env, options);
    await proc.start(timeoutMs);
    return proc;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Everything the process wrote to stdout and stderr, across restarts. */
  get log(): string {
    return this.output;
  }

  /** The output's lines that are JSON (the apps' log lines). */
  lines(): LogLine[] {
    return this.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as LogLine];
        } catch {
          return []; // a line still being written
        }
      });
  }

  /** Every non-empty line of the output, JSON or not. */
  rawLines(): string[] {
    return this.output.split('\n').filter((l) => l.length > 0);
  }

  /** The exit of the current (or last) run. */
  get exited(): Promise<Exit> {
    return this.current;
  }

  /** The address its ready line names (the orchestrator's "orchestrator listening"). */
  get url(): string {
    const port = this.readyLine?.port as number | undefined;
    if (port === undefined) throw new Error(`${this.name} has logged no ready line with a port`);
    return `http://127.0.0.1:${String(port)}`;
  }

  /** Spawns the process without waiting for anything. */
  spawn(): void {
    const { cwd, detached } = this.options;
    const [file, ...args] =
      typeof this.program === 'string' ? [process.execPath, this.program] : this.program;
    const child = spawn(file, args, {
      env: { PATH: process.env.PATH, NODE_PATH: join(ROOT, 'node_modules'), ...this.env },
      cwd,
      detached,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.lastChild = child;
    this.starts++;
    const append = (chunk: Buffer): void => {
      this.output += chunk.toString();
      if (this.options.boundOutput && this.output.length > 20_000_000)
        this.output = this.output.slice(-10_000_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.current = new Promise<Exit>((resolve) =>
      child.once('exit', (code, signal) => {
        this.exits.push(code);
        if (this.child === child) this.child = null;
        resolve({ code, signal, at: Date.now() });
      }),
    );
  }

  /** Spawns the process and waits for its `ready` message, if it has one. */
  async start(timeoutMs = 30_000): Promise<void> {
    const mark = this.output.length;
    this.spawn();
    const ready = this.options.ready;
    if (ready === undefined) return;
    try {
      this.readyLine = await this.waitForLog(ready, timeoutMs, mark);
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  /**
   * Waits for a log line whose message contains `text` (a raw line containing it, for programs
   * that do not log JSON), written after `from` characters of output; fails early on an exit.
   */
  async waitForLog(text: string, timeoutMs = 20_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const since = this.output.slice(from);
      for (const line of since.split('\n')) {
        if (!line.includes(text)) continue;
        if (!line.startsWith('{')) return { message: line };
        try {
          const parsed = JSON.parse(line) as LogLine;
          if (String(parsed.message).includes(text)) return parsed;
        } catch {
          // not complete yet
        }
      }
      if (!this.child) {
        throw new Error(`${this.name} exited before logging "${text}":\n${tail(since)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`${this.name} did not log "${text}" in ${timeoutMs} ms:\n${tail(since)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends SIGTERM and returns the time it was sent. */
  terminate(): number {
    this.child?.kill('SIGTERM');
    return Date.now();
  }

  /** Sends a signal and, for SIGKILL/SIGTERM, waits for the exit. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      child.kill(signal);
      return;
    }
    const exited = this.current;
    child.kill(signal);
    await exited;
  }

  /** Sends a signal to the process's whole group (started `detached`), even after it exited. */
  signalGroup(signal: NodeJS.Signals | 0): void {
    const pid = this.lastChild?.pid;
    if (pid === undefined) throw new Error(`${this.name} was never started`);
    process.kill(-pid, signal);
  }

  /** SIGTERM, SIGKILL after 15 s without an exit; the exit code of the last run. */
  async stop(): Promise<number | null> {
    if (this.child) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.signal('SIGTERM'),
        new Promise((r) => (timer = setTimeout(r, 15_000))),
      ]);
      clearTimeout(timer);
      if (this.child) await this.signal('SIGKILL');
    }
    return (await this.current).code;
  }

  /** Stops reading its output (a program whose descendants may keep the pipes open). */
  closeOutput(): void {
    this.lastChild?.stdout?.destroy();
    this.lastChild?.stderr?.destroy();
  }

  /** SIGKILL (after a failed assertion, say), without a grace period. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Resident set size now and its peak since the last {@link resetPeak}, in KiB (Linux /proc). */
  memory(): { rssKb: number; peakKb: number } {
    const status = readFileSync(`/proc/${this.requirePid()}/status`, 'utf8');
    const field = (name: string): number =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
  }

  /** Resets VmHWM to the current RSS (writing 5 to clear_refs), so the next peak is this phase's. */
  resetPeak(): void {
    writeFileSync(`/proc/${this.requirePid()}/clear_refs`, '5');
  }

  private requirePid(): number {
    if (this.pid === undefined) throw new Error(`${this.name} is not running`);
    return this.pid;
  }
}

/** Spawns `program` without waiting for anything: the test waits for what it needs. */
export function startApp(
  program: string | string[],
  env: Env,
  options: AppProcessOptions = {},
): AppProcess {
  const proc = new AppProcess(nameOf(program), program, env, options);
  proc.spawn();
  return proc;
}

/** Kills whatever is still running (after a failed assertion), without waiting long. */
export async function killAll(procs: Array<AppProcess | undefined | null>): Promise<void> {
  await Promise.all(procs.map((p) => p?.kill() ?? Promise.resolve()));
}

/** `orchestrator` for dist/apps/orchestrator/src/main.js, `migrate` for …/migrate.js. */
function nameOf(program: string | string[]): string {
  if (typeof program !== 'string') return program.join(' ');
  const parts = program.replace(/\.js$/, '').split('/');
  return parts.at(-1) === 'main' ? (parts.at(-3) ?? program) : (parts.at(-1) ?? program);
}

function tail(text: string): string {
  return text.length > 4000 ? `…${text.slice(-4000)}` : text;
}
