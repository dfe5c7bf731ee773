import { LoggerService } from '@nestjs/common';
import { createLogger, format, Logger, transports } from 'winston';
import type { LogLevel } from '../config/common.config';
import { logContextFormat } from './log-context';

/** Fields that must never reach a log line, whatever a caller passes. */
const REDACTED_KEYS =
  /^(authorization|cookie|x-hub-signature(-256)?|token|secret|password|codegen_token|github_token)$/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string | symbol, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = REDACTED_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
  }
  // winston keeps the level and message under symbols; they must survive the copy.
  for (const sym of Object.getOwnPropertySymbols(value)) {
    out[sym] = (value as Record<symbol, unknown>)[sym];
  }
  return out;
}

/** Secret values (tokens, webhook secrets) of this process, never written whatever the field. */
const secretValues = new Set<string>();
/** Shorter values would match ordinary words. */
const MIN_SECRET_LENGTH = 8;
// winston keeps the serialized line under this symbol (triple-beam's MESSAGE).
const SERIALIZED = Symbol.for('message');

/**
 * Registers secret values to cut out of every serialized log line, whatever field or message
 * carries them (an upstream error echoing a token, say). Key-based redaction covers the rest.
 */
export function registerLogSecrets(values: ReadonlyArray<string | undefined>): void {
  for (const value of values) {
    if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) {
      secretValues.add(value);
      // The same value as it appears inside a JSON string.
      const escaped = JSON.stringify(value).slice(1, -1);
      if (escaped !== value) secretValues.add(escaped);
    }
  }
}

/**
 * `line` with every registered secret value cut out: what the logger does to each serialized
 * line, for the few lines written without it (the access log's pre-serialised line).
 */
export function scrubLogSecrets(line: string): string {
  let clean = line;
  for (const secret of secretValues) {
    if (clean.includes(secret)) clean = clean.split(secret).join('[redacted]');
  }
  return clean;
}

const scrubSecretValues = format((info) => {
  const line = (info as Record<symbol, unknown>)[SERIALIZED];
  if (typeof line !== 'string' || secretValues.size === 0) return info;
  (info as Record<symbol, unknown>)[SERIALIZED] = scrubLogSecrets(line);
  return info;
});

/** Creates the process logger: one JSON object per line on stdout. */
export function createJsonLogger(service: string, level: LogLevel): Logger {
  return createLogger({
    level,
    defaultMeta: { service },
    format: format.combine(
      // correlation_id, delivery_id, task_id, execution_id, trace_id of the current request/job.
      logContextFormat(),
      format((info) => redact(info) as typeof info)(),
      format.timestamp(),
      format.errors({ stack: true }),
      format.json(),
      scrubSecretValues(),
    ),
    transports: [new transports.Console()],
  });
}

/**
 * Nest's start-up chatter: a line per module initialised and per route mapped (about 60), which
 * buried the lines an operator needs. Kept at `debug` (LOG_LEVEL=debug shows them).
 */
const STARTUP_DETAIL_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** Lets Nest's own messages go through the same JSON logger. */
export class NestJsonLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    const level = context && STARTUP_DETAIL_CONTEXTS.has(context) ? 'debug' : 'info';
    this.write(level, message, context);
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error(String(message), { context, stack: trace });
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }

  private write(level: string, message: unknown, context?: string): void {
    if (typeof message === 'object' && message !== null) {
      this.logger.log(level, 'event', { context, ...(message as Record<string, unknown>) });
    } else {
      this.logger.log(level, String(message), { context });
    }
  }
}

/** Injection token of the process's winston logger. */
export const LOGGER = Symbol('LOGGER');
