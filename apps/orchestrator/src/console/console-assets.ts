import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';

/** What the console's files are served as; anything else in the folder is not served. */
const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
};

export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

/**
 * The console's built files, read once at start and served from memory. Their URLs carry a hash
 * of the whole set (`/console/assets/<version>/main.js`), so they can be cached for a year: a new
 * build has a new version, and the page shell (never cached) names it.
 */
export class ConsoleAssets {
  readonly version: string;
  readonly shell: Buffer;
  private readonly files: Map<string, ConsoleAsset>;

  constructor(directory: string) {
    this.files = new Map();
    const hash = createHash('sha256');
    for (const name of listFiles(directory)) {
      const contentType = CONTENT_TYPES[extname(name)];
      if (!contentType) continue;
      const body = readFileSync(join(directory, name));
      hash.update(name).update('\0').update(body);
      if (name !== 'index.html') this.files.set(name, { body, contentType });
    }
    this.version = hash.digest('hex').slice(0, 16);
    const template = readFileSync(join(directory, 'index.html'), 'utf8');
    this.shell = Buffer.from(template.replaceAll('{{ASSETS}}', this.assetBase()));
  }

  /** `/console/assets/<version>`; module imports inside the scripts are relative to it. */
  assetBase(): string {
    return `/console/assets/${this.version}`;
  }

  /** A file by its path below the version, or undefined (unknown, or a path that climbs). */
  file(path: string): ConsoleAsset | undefined {
    return this.files.get(path);
  }
}

/** Relative paths of the files below `directory`, with `/` separators. */
function listFiles(directory: string, prefix = ''): string[] {
  const names: string[] = [];
  for (const entry of readdirSync(join(directory, prefix)).sort()) {
    const relative = prefix ? `${prefix}/${entry}` : entry;
    if (statSync(join(directory, relative)).isDirectory()) {
      names.push(...listFiles(directory, relative));
    } else {
      names.push(relative);
    }
  }
  return names;
}

/**
 * Where the built console lives: beside the compiled app in `dist/` (production), or, when the
 * app runs from its TypeScript sources (tests, ts-node), in the `dist/` that `npm run build` made.
 */
export function consoleDirectory(): string | null {
  const candidates = [
    resolve(__dirname, '..', '..', 'console'),
    resolve(__dirname, '..', '..', '..', '..', 'dist', 'apps', 'orchestrator', 'console'),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? null;
}
