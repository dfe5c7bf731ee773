import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export type Env = Record<string, string>;

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  env_file?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | Record<string, unknown>>;
  expose?: Array<string | number>;
  container_name?: string;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string };
  volumes?: Array<string | Record<string, unknown>>;
  restart?: string;
  stop_grace_period?: string;
  read_only?: boolean;
  [field: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Reads a dotenv file the way Compose does for the simple KEY=VALUE lines these files use. */
export function readEnvFile(file: string): Env {
  const env: Env = {};
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${file}: not KEY=VALUE: ${line}`);
    let value = line.slice(eq + 1);
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    env[line.slice(0, eq).trim()] = value;
  }
  return env;
}

/** Names of the variables a compose file interpolates (`${NAME...}`). */
export function interpolatedNames(text: string): Set<string> {
  return new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
}

/** Compose interpolation: ${X}, ${X:-d}, ${X-d}, ${X:?e}, ${X?e}, and $$ for a literal $. */
export function interpolate(text: string, vars: Env): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (whole: string, name?: string, colon?: string, op?: string, arg?: string) => {
      if (whole === '$$') return '$';
      const value = vars[name as string];
      const missing = value === undefined || (colon === ':' && value === '');
      if (!missing) return value;
      if (op === '?') throw new Error(`compose: required variable ${name} is missing: ${arg}`);
      return op === '-' ? (arg ?? '') : '';
    },
  );
}

/** The compose file with every `${...}` resolved from `vars`; YAML merge keys applied. */
export function loadCompose(file: string, vars: Env): ComposeFile {
  return parse(interpolate(readFileSync(file, 'utf8'), vars), { merge: true }) as ComposeFile;
}

/** What a service's container gets as its environment: env_file lines, then `environment`. */
export function serviceEnv(composeFile: string, service: ComposeService): Env {
  const env: Env = {};
  const files = service.env_file === undefined ? [] : [service.env_file].flat();
  for (const file of files) {
    Object.assign(env, readEnvFile(isAbsolute(file) ? file : join(dirname(composeFile), file)));
  }
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    for (const entry of environment) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } else {
    for (const [key, value] of Object.entries(environment)) {
      if (value !== null) env[key] = String(value);
    }
  }
  return env;
}

/** The first word of the service's command (the image's entry point picks the app by it). */
export function commandOf(service: ComposeService): string | undefined {
  const command = service.command;
  if (command === undefined) return undefined;
  return Array.isArray(command) ? command[0] : command.trim().split(/\s+/)[0];
}

/**
 * `docker-compose config` (the Debian package, no daemon needed) with `extraEnv` set, parsed;
 * null when docker-compose is not installed. Throws with its message when the file is invalid.
 */
export function composeConfig(
  composeFile: string,
  envFile: string,
  extraEnv: Env = {},
): ComposeFile | null {
  const result = spawnSync('docker-compose', ['--env-file', envFile, '-f', composeFile, 'config'], {
    encoding: 'utf8',
    env: { ...process.env, ...extraEnv },
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  if (result.status !== 0) throw new Error(`docker-compose config failed:\n${result.stderr}`);
  return parse(result.stdout) as ComposeFile;
}

/** Compose durations such as `35s`, `2m30s`, `1h` in milliseconds. */
export function durationMs(value: string): number {
  let total = 0;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.map((p) => p[0]).join('') !== value) throw new Error(`not a duration: ${value}`);
  for (const [, amount, unit] of parts) total += Number(amount) * units[unit];
  return total;
}

/**
 * docker/.env.example's placeholders (`change-me-…`), which both apps refuse, replaced as an
 * operator fills them in: each by a random value.
 */
export function fillPlaceholders(env: Env): Env {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [
      name,
      value.replace(/change-me[A-Za-z0-9-]*/g, () => randomBytes(16).toString('hex')),
    ]),
  );
}
