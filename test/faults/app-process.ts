import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

// FAULT_DIST points at a copy of dist/ so a rebuild during a long run cannot pull the floor away.
const DIST = process.env.FAULT_DIST ?? join(__dirname, '..', '..', 'dist');
export const ORCHESTRATOR_MAIN = join(DIST, 'apps/orchestrator/src/main.js');
export const WORKER_MAIN = join(DIST, 'apps/worker/src/main.js');

/**
 * One of the built apps as a real process, which a scenario can SIGKILL, SIGSTOP or restart.
 * Output is kept (bounded) for the report and for secret scans.
 */
export class AppProcess {
  private child: ChildProcess | null = null;
  private output = '';
  readonly exits: Array<number | null> = [];
  starts = 0;

  constructor(
    readonly name: string,
    private readonly script: string,
    private readonly env: Record<string, string | undefined>,
    private readonly readyLine: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get log(): string {
    return this.output;
  }

  async start(timeoutMs = 20_000): Promise<void> {
    const child = spawn(process.execPath, [this.script], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts++;
    const mark = this.output.length;
    const append = (chunk: Buffer): void => {
      this.output += chunk.toString();
      // Keep memory bounded on long runs: the tail is what a report needs.
      if (this.output.length > 20_000_000) this.output = this.output.slice(-10_000_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.once('exit', (code) => {
      this.exits.push(code);
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + timeoutMs;
    while (!this.output.slice(mark).includes(this.readyLine)) {
      if (!this.child)
        throw new Error(
          `${this.name} exited during start:\n${this.output.slice(mark, mark + 4000)}`,
        );
      if (Date.now() > deadline)
        throw new Error(`${this.name} did not start:\n${this.output.slice(mark, mark + 4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends a signal and, for SIGKILL/SIGTERM, waits for the exit. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      child.kill(signal);
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  get running(): boolean {
    return this.child !== null;
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    await Promise.race([this.signal('SIGTERM'), new Promise((r) => setTimeout(r, 15_000))]);
    if (this.child) await this.signal('SIGKILL');
  }
}
