import { transports } from 'winston';

/**
 * Values too short or too uniform (`000000000000`, twelve blanks) would match ordinary text by
 * chance; generated garbage headers are like that, real credentials never are.
 */
function looksSecret(value: string): boolean {
  return value.length >= 12 && new Set(value).size >= 8;
}

export interface Leak {
  secret: string;
  where: string;
  excerpt: string;
}

/**
 * Remembers every secret a suite handles (webhook secrets, SECRET_KEY, minted tokens, every
 * Authorization value sent) and every text the app gave back (response bodies, log lines), and
 * reports each text that contains one. Texts are checked as they arrive, and logs again at the
 * end, so a secret registered later is still looked for in everything logged.
 */
export class LeakWatch {
  private readonly secrets = new Map<string, string>();
  private readonly leaks: Leak[] = [];
  private checked = 0;

  /** Registers a value no response or log line may contain. */
  secret(label: string, value: string): string {
    if (looksSecret(value)) this.secrets.set(value, label);
    // Authorization values: the credential alone must not leak either.
    const credential = /^\S+\s+(\S+)$/.exec(value)?.[1];
    if (credential && looksSecret(credential))
      this.secrets.set(credential, `${label} (credential part)`);
    return value;
  }

  /** Checks one text the app produced; returns how many secrets it holds. */
  check(where: string, text: string): number {
    this.checked += 1;
    let found = 0;
    for (const [value, label] of this.secrets) {
      const at = text.indexOf(value);
      if (at >= 0) {
        found += 1;
        this.leaks.push({
          secret: label,
          where,
          excerpt: text.slice(Math.max(0, at - 80), at + value.length + 80),
        });
      }
    }
    return found;
  }

  get textsChecked(): number {
    return this.checked;
  }

  get secretCount(): number {
    return this.secrets.size;
  }

  found(): Leak[] {
    return [...this.leaks];
  }
}

export interface LogCapture {
  lines(): string[];
  /** Detaches the capture and gives the console back its output. */
  stop(): void;
}

// winston keeps the serialized line under this symbol (triple-beam's MESSAGE).
const MESSAGE = Symbol.for('message');

/**
 * Captures every log line the in-process apps write, from start-up to shutdown: winston's
 * console transport is where each serialized line (after the logger's redaction) is printed, so
 * the capture sits there and sees exactly what production would print. Lines are kept instead
 * of printed, so debug logging does not flood jest's output (HOSTILE_ECHO_LOGS=1 prints them
 * too). The apps' loggers are not changed.
 */
export function captureConsoleLogs(): LogCapture {
  type Log = (this: unknown, info: Record<symbol, unknown>, next: () => void) => void;
  const proto = transports.Console.prototype as unknown as { log: Log };
  const original = proto.log;
  const echo = process.env.HOSTILE_ECHO_LOGS === '1';
  const captured: string[] = [];
  proto.log = function capture(this: unknown, info, next) {
    captured.push(String(info[MESSAGE]));
    if (echo) original.call(this, info, next);
    else next();
  };
  return {
    lines: () => captured,
    stop: () => {
      proto.log = original;
    },
  };
}
