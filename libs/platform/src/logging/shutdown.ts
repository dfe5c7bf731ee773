import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { lifecycle } from './lifecycle';

/** The documented default of `SHUTDOWN_GRACE_MS`. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;

export interface ShutdownOptions {
  /** Deadline from the first signal; past it the process exits 1 whatever is still running. */
  graceMs: number;
  /**
   * How long the process keeps serving after readiness turns 503 and before `close` starts, so
   * a load balancer that polls readiness stops sending first. 0 closes at once.
   */
  drainDelayMs?: number;
  /** `service` field of the log lines. */
  service?: string;
  /** Where the signals come from (tests pass an emitter of their own). */
  signals?: EventEmitter;
  /** How to end the process (tests record the code instead). */
  exit?: (code: number) => void;
  /** Where the JSON log lines go. */
  write?: (line: string) => void;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: readiness turns 503 at once (`lifecycle.draining`), the
 * process keeps serving for `drainDelayMs`, then `close` runs (the listener stops accepting,
 * in-flight requests and jobs finish, pools close) and the process exits 0. A close that fails,
 * a close still running `graceMs` after the signal, or a second signal exits 1 at once.
 *
 * Returns a function that removes the handlers (for tests).
 */
export function closeOnSignals(
  close: () => Promise<void>,
  options: ShutdownOptions | number = DEFAULT_SHUTDOWN_GRACE_MS,
): () => void {
  const settings = typeof options === 'number' ? { graceMs: options } : options;
  const { graceMs, drainDelayMs = 0, service } = settings;
  const source: EventEmitter = settings.signals ?? process;
  const exit = settings.exit ?? ((code: number) => process.exit(code));
  const write = settings.write ?? ((line: string) => void process.stdout.write(line));
  const log = (level: string, message: string, fields: Record<string, unknown> = {}): void =>
    write(
      JSON.stringify({
        level,
        message,
        ...(service ? { service } : {}),
        ...fields,
        timestamp: new Date().toISOString(),
      }) + '\n',
    );

  let startedAt: number | null = null;
  let finished = false;
  const finish = (code: number): void => {
    if (finished) return;
    finished = true;
    exit(code);
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (startedAt !== null) {
      log('warn', `received ${signal} again, exiting now`);
      finish(1);
      return;
    }
    startedAt = Date.now();
    lifecycle.startDraining();
    log('info', `received ${signal}, shutting down`, {
      grace_ms: graceMs,
      drain_delay_ms: drainDelayMs,
    });
    const deadline = setTimeout(() => {
      log('error', 'shutdown grace period exceeded, exiting with work unfinished', {
        grace_ms: graceMs,
      });
      finish(1);
    }, graceMs);
    deadline.unref();

    const drained = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, drainDelayMs);
      timer.unref();
    });
    drained
      .then(() => {
        if (drainDelayMs > 0) log('info', 'drain delay over, closing');
        return close();
      })
      .then(
        () => {
          clearTimeout(deadline);
          log('info', 'shutdown complete', { duration_ms: Date.now() - (startedAt ?? 0) });
          finish(0);
        },
        (error: unknown) => {
          clearTimeout(deadline);
          log('error', 'shutdown failed', { error: String(error) });
          finish(1);
        },
      );
  };

  source.on('SIGTERM', onSignal);
  source.on('SIGINT', onSignal);
  return () => {
    source.off('SIGTERM', onSignal);
    source.off('SIGINT', onSignal);
  };
}

/**
 * HTTP middleware: a response whose headers go out while the process drains carries
 * `Connection: close` (also for a request that arrived before the signal), so keep-alive clients
 * send their next request elsewhere and the listener can close without waiting for idle sockets.
 */
export function closeConnectionsWhileDraining(
  _req: IncomingMessage,
  res: ServerResponse,
  next: () => void,
): void {
  const writeHead = res.writeHead;
  // Every way of sending headers (send, end, pipe) goes through writeHead.
  res.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
    if (lifecycle.draining && !this.headersSent) this.setHeader('Connection', 'close');
    return writeHead.apply(this, args);
  } as typeof writeHead;
  next();
}
