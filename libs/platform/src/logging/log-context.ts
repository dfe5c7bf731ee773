import { AsyncLocalStorage } from 'node:async_hooks';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { format } from 'winston';

/** Ids a log line carries once they are known for the request or job it belongs to. */
export interface LogContextFields {
  correlation_id?: string;
  delivery_id?: string;
  task_id?: string;
  task_type?: string;
  execution_id?: number;
  attempt?: number;
}

const storage = new AsyncLocalStorage<LogContextFields>();

/**
 * Runs `fn` with these fields attached to every log line it (and whatever it awaits) writes.
 * Nested scopes inherit the outer fields.
 */
export function runWithLogContext<T>(fields: LogContextFields, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...defined(fields) }, fn);
}

/** Adds fields to the current scope (e.g. the execution id once the task is claimed). */
export function annotateLogContext(fields: LogContextFields): void {
  const store = storage.getStore();
  if (store) Object.assign(store, defined(fields));
}

/** The fields of the current scope, if any. */
export function currentLogContext(): Readonly<LogContextFields> | undefined {
  return storage.getStore();
}

/**
 * Winston format: copies the scope's ids and the active trace/span ids onto the line. Fields the
 * caller passed explicitly win.
 */
export const logContextFormat = format((info) => {
  const fields = storage.getStore();
  if (fields) {
    for (const [key, value] of Object.entries(fields)) {
      if (info[key] === undefined) info[key] = value;
    }
  }
  const span = trace.getActiveSpan();
  if (span) {
    const spanContext = span.spanContext();
    if (isSpanContextValid(spanContext) && info.trace_id === undefined) {
      info.trace_id = spanContext.traceId;
      info.span_id = spanContext.spanId;
    }
  }
  return info;
});

function defined(fields: LogContextFields): LogContextFields {
  const out: LogContextFields = {};
  for (const key of Object.keys(fields) as Array<keyof LogContextFields>) {
    if (fields[key] !== undefined) Object.assign(out, { [key]: fields[key] });
  }
  return out;
}
