import { Writable } from 'node:stream';
import type { INestApplicationContext } from '@nestjs/common';
import { Logger, transports } from 'winston';
import { LOGGER } from '@app/platform';
import { WorkerListener } from '../../apps/worker/src/listener/worker-listener';
import type { RunningWorker } from './harness';

/** The worker's health/metrics listener, as a base URL. */
export function listenerUrl(worker: RunningWorker): string {
  const address = worker.app.get(WorkerListener).address();
  if (!address) throw new Error('the worker listener is not listening');
  return `http://127.0.0.1:${address.port}`;
}

/** Response bodies are asserted field by field, so they are loosely typed. */
type Body = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above

/** GET a path and return status, parsed JSON (or text) and headers. */
export async function get(
  url: string,
): Promise<{ status: number; body: Body; text: string; headers: Headers }> {
  const res = await fetch(url);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Prometheus text, not JSON.
  }
  return { status: res.status, body, text, headers: res.headers };
}

/** A Prometheus scrape of `url`. */
export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`scrape of ${url} answered ${res.status}`);
  return res.text();
}

/** The value of one series (`name{labels}` exactly as exposed), undefined when absent. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * Captures an app's log lines from now on (parsed JSON), at `level`, instead of printing them.
 */
export function captureLogs(
  app: INestApplicationContext,
  level = 'debug',
): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  const logger = app.get<Logger>(LOGGER, { strict: false });
  logger.clear();
  logger.level = level;
  logger.add(
    new transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) {
            lines.push(JSON.parse(line) as Record<string, unknown>);
          }
          done();
        },
      }),
    }),
  );
  return lines;
}
