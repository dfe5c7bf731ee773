import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { Logger } from 'winston';
import { currentLogContext, scrubLogSecrets } from '@app/platform';

/** The shapes the intake accepts; any other header value is left out of the line, not echoed. */
const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const EVENT_NAME = /^[a-z0-9_]{1,64}$/;
const MAX_PATH = 256;

/** The route a request was served by, as a pattern (`/api/v1/tasks/:task_id`), if one matched. */
export type RouteOf = (req: IncomingMessage) => string | null;

/**
 * ACCESS_LOG: one `info` line per request once its answer is written (or the client went away
 * first): method, route (the matched pattern, so ids do not multiply), path (without the query
 * string, which may carry filters), status, duration in ms, and for deliveries the delivery id and
 * event, plus the correlation id an operator can search both apps' logs for. Headers, bodies and
 * query strings are never written. Installed as the server's first `request` listener, so the
 * webhook lane (served ahead of Express) and every Express route are logged alike.
 *
 * The line is the one the process logger would write for `logger.info('http request', fields)`
 * (same fields, the log context's ids and the active trace's, the timestamp, the service, and
 * registered secret values cut out), serialised here in one step and handed to the logger's
 * transports (stdout), a turn's lines in one write (`infoLineWriter`): the logger's generic
 * pipeline (copies for key redaction, format chain, streams) cost about twice the line itself per
 * request (docs/performance.md). None of its fields is a redacted key.
 */
export function accessLog(
  logger: Logger,
  routeOf: RouteOf,
): (req: IncomingMessage, res: ServerResponse) => void {
  const out = infoLineWriter(logger);
  const service = (logger.defaultMeta as { service?: unknown } | undefined)?.service;
  return (req, res) => {
    const started = performance.now();
    let written = false;
    const write = (): void => {
      if (written) return;
      written = true;
      res.off('finish', write);
      res.off('close', write);
      if (logger.silent || !logger.isInfoEnabled()) return;
      const line: Record<string, unknown> = {
        level: 'info',
        message: 'http request',
        service,
        timestamp: new Date().toISOString(),
        method: req.method,
        route: routeOf(req),
        path: pathOf(req.url),
        status: res.statusCode,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
        correlation_id: req.correlationId ?? null,
      };
      const delivery = header(req, 'x-github-delivery', DELIVERY_ID);
      if (delivery !== undefined) line.delivery_id = delivery;
      const event = header(req, 'x-github-event', EVENT_NAME);
      if (event !== undefined) line.event = event;
      // 'close' before 'finish': the client went away before the whole answer was written.
      if (!res.writableFinished) line.aborted = true;
      addContext(line);
      out(scrubLogSecrets(JSON.stringify(line)));
    };
    res.once('finish', write);
    res.once('close', write);
  };
}

/** What the logger's context format adds: the scope's ids and the active trace's, if unset. */
function addContext(line: Record<string, unknown>): void {
  const fields = currentLogContext();
  if (fields) {
    for (const [key, value] of Object.entries(fields)) {
      if (line[key] === undefined) line[key] = value;
    }
  }
  const span = trace.getActiveSpan();
  if (span) {
    const context = span.spanContext();
    if (isSpanContextValid(context)) {
      line.trace_id = context.traceId;
      line.span_id = context.spanId;
    }
  }
}

// winston's keys (triple-beam) for a line's level and its serialized text.
const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

/** A turn's lines are written at once; a turn that finishes more requests writes in parts. */
const MAX_BATCH = 256;

/**
 * Hands serialized `info` lines to the logger's transports (stdout in production), as the
 * logger's own stream would after its formats: each transport's level and silence are honoured,
 * and a transport with a format of its own gets each line through its usual path.
 *
 * The lines of the requests that finish in one event-loop turn go out as one write, at the end of
 * that turn (`setImmediate`), not one write each: stdout to a file or a pipe is a synchronous
 * write on Linux, one system call per line while other requests wait (docs/performance.md). Lines
 * still pending when the process exits are written by its `exit` listener, so none is lost to an
 * orderly stop or `process.exit`.
 */
export function infoLineWriter(logger: Logger): (line: string) => void {
  let pending: string[] = [];
  let scheduled: NodeJS.Immediate | null = null;
  const flush = (): void => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = null;
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    writeToTransports(logger, lines);
  };
  flushAtExit(flush);
  return (line) => {
    pending.push(line);
    if (pending.length >= MAX_BATCH) flush();
    else scheduled ??= setImmediate(flush);
  };
}

/** Each transport appends its own end of line, so the lines are joined by newlines only. */
function writeToTransports(logger: Logger, lines: string[]): void {
  for (const transport of logger.transports) {
    if (transport.silent) continue;
    const level = transport.level ?? logger.level;
    if ((logger.levels[level] ?? -1) < logger.levels.info) continue;
    // A transport that formats a line itself gets each one on its own.
    if (transport.format) for (const line of lines) transport.write(info(line));
    else transport.log?.(info(lines.join('\n')), noop);
  }
}

/** One `exit` listener for every writer (tests make many), each writer's flush kept in a set. */
const exitFlushes = new Set<() => void>();
function flushAtExit(flush: () => void): void {
  if (exitFlushes.size === 0) {
    process.on('exit', () => {
      for (const f of exitFlushes) f();
    });
  }
  exitFlushes.add(flush);
}

function info(text: string): Record<string | symbol, string> {
  return { level: 'info', message: 'http request', [LEVEL]: 'info', [MESSAGE]: text };
}

function noop(): void {
  return undefined;
}

function header(req: IncomingMessage, name: string, shape: RegExp): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && shape.test(value) ? value : undefined;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path;
}
