import { ChildProcess, spawn } from 'node:child_process';
import type { Env } from './settings';

export interface AppExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface RunningApp {
  name: string;
  child: ChildProcess;
  exited: Promise<AppExit>;
  done: boolean;
}

/**
 * A copy of one Ctrl-C reaches this process more than once: from the terminal (it signals the
 * whole foreground process group) and from npm, which passes signals on to its script.
 */
const SAME_SIGNAL_MS = 1000;

/**
 * Runs the apps, each in a process group of its own, so a Ctrl-C in the terminal reaches only
 * this supervisor, which passes it on exactly once: the apps drain and log one clean shutdown.
 * (When the terminal signalled them directly and this script passed the signal on too, each app
 * saw two signals within milliseconds and took the second as "stop now".)
 * A later second Ctrl-C is passed on too: the apps then stop at once.
 */
export class Supervisor {
  private readonly apps: RunningApp[] = [];
  private stoppingSince: number | null = null;
  private readonly say: (line: string) => void;
  private markStopRequested: () => void = () => undefined;
  /** Resolves (with null) once a signal has asked the apps to stop. */
  readonly stopRequested = new Promise<null>((resolve) => {
    this.markStopRequested = () => resolve(null);
  });

  constructor(say: (line: string) => void) {
    this.say = say;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => this.onSignal(signal));
    }
  }

  start(name: string, args: string[], env: Env): void {
    const child = spawn(process.execPath, args, {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(process.stdout, { end: false });
    child.stderr?.pipe(process.stderr, { end: false });
    const app: RunningApp = {
      name,
      child,
      done: false,
      exited: new Promise<AppExit>((resolve) => {
        child.once('exit', (code, signal) => {
          app.done = true;
          resolve({ name, code, signal });
        });
        child.once('error', () => {
          app.done = true;
          resolve({ name, code: 1, signal: null });
        });
      }),
    };
    this.apps.push(app);
  }

  /** Resolves with the first app that exits. */
  firstExit(): Promise<AppExit> {
    return Promise.race(this.apps.map((a) => a.exited));
  }

  /** Asks every running app to stop (once), then waits for all of them. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<AppExit[]> {
    if (this.stoppingSince === null) {
      this.stoppingSince = Date.now();
      this.signalAll(signal);
    }
    return Promise.all(this.apps.map((a) => a.exited));
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.stoppingSince === null) {
      this.say(
        `\n${signal}: stopping both apps; they finish the work in hand (Ctrl-C again forces it)`,
      );
      void this.stop(signal);
      this.markStopRequested();
      return;
    }
    if (Date.now() - this.stoppingSince < SAME_SIGNAL_MS) return;
    this.say(`${signal} again: stopping now, work in hand is left unfinished`);
    this.signalAll('SIGTERM');
  }

  private signalAll(signal: NodeJS.Signals): void {
    for (const app of this.apps) {
      if (!app.done) app.child.kill(signal);
    }
  }
}
