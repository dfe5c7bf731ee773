import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { validate } from 'dockerfile-utils';
import { DIST, DOCKERFILE, DOCKERIGNORE, ENTRYPOINT, ROOT } from './support/paths';

/* Static checks of docker/Dockerfile, its entry point and .dockerignore: no Docker engine. */

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Dockerfile instructions, with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const result: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') start = index + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const [keyword, ...rest] = full.split(/\s+/);
    result.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: start });
  });
  return result;
}

const dockerfile = readFileSync(DOCKERFILE, 'utf8');
const all = instructions(dockerfile);
const stages: Instruction[][] = [];
for (const instruction of all) {
  if (instruction.keyword === 'FROM') stages.push([]);
  stages.at(-1)?.push(instruction);
}
const runtime = stages.at(-1) ?? [];
const args = (keyword: string, stage = runtime) =>
  stage.filter((i) => i.keyword === keyword).map((i) => i.args);

function globalArg(name: string): string | undefined {
  const declared = all.find((i) => i.keyword === 'ARG' && i.args.startsWith(`${name}=`));
  return declared?.args.slice(name.length + 1);
}

describe('docker/Dockerfile', () => {
  it('passes dockerfile-utils without an error or a warning', () => {
    const problems = validate(dockerfile).map(
      (d) =>
        `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`,
    );
    expect(problems).toEqual([]);
  });

  it('builds in stages and runs on a Node LTS (an even major, 20 or later)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const from = args('FROM')[0].split(/\s+/)[0];
    const image = from.replace(/^\$\{(\w+)\}$/, (_, name: string) => globalArg(name) ?? '');
    const major = Number(/^node:(\d+)[-.]/.exec(image)?.[1]);
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(20);
  });

  it('ships production dependencies only, and the compiled apps without their sources', () => {
    const copies = args('COPY');
    const depsStage = /--from=(\w+)\s+\/app\/node_modules/.exec(copies.join('\n'))?.[1];
    const stage = stages.find((s) => s[0].args.endsWith(` AS ${depsStage}`));
    expect(stage && args('RUN', stage).join(' ')).toMatch(/npm ci\b.*--omit=dev/);
    expect(copies.some((c) => /--from=\w+\s+\/app\/dist\s/.test(c))).toBe(true);
    expect(copies.join('\n')).not.toMatch(/\b(apps|libs|test|tsconfig[\w.]*)\b/);
    expect(args('ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
  });

  it('runs as a numeric non-root user, under tini, with the command choosing the app', () => {
    const user = args('USER').at(-1) ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    const entrypoint = JSON.parse(args('ENTRYPOINT').at(-1) ?? '[]') as string[];
    expect(entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(args('RUN').join(' ')).toMatch(/apt-get install .*\btini\b/);
    expect(JSON.parse(args('CMD').at(-1) ?? '[]')).toEqual(['orchestrator']);
  });

  it('never migrates at start by default', () => {
    expect(dockerfile).not.toMatch(/MIGRATE_ON_START/);
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(DOCKERIGNORE, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  /** Docker's matching for the patterns used here: `*`, `**`, and a directory covering its files. */
  function ignored(path: string): boolean {
    return patterns.some((pattern) => {
      const source = pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '\0')
        .replace(/\*/g, '[^/]*')
        .replace(/\0/g, '(.*/)?');
      return new RegExp(`^${source}(/.*)?$`).test(path);
    });
  }

  it('keeps secrets, dependencies and build output out of the build context', () => {
    // The matcher below has no `!` exceptions; neither may the file.
    expect(patterns.filter((p) => p.startsWith('!'))).toEqual([]);
    for (const path of [
      '.env',
      'docker/.env',
      'node_modules/typeorm/index.js',
      'libs/domain/node_modules/x',
      'dist/apps/orchestrator/src/main.js',
      '.git/HEAD',
      'test/support/harness.ts',
      'k8s/kustomization.yaml',
    ]) {
      expect({ path, ignored: ignored(path) }).toEqual({ path, ignored: true });
    }
  });

  it('keeps every file the Dockerfile copies from the context', () => {
    const sources = all
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
      expect({ source, ignored: ignored(source) }).toEqual({ source, ignored: false });
    }
    expect(ignored('apps/orchestrator/src/main.ts')).toBe(false);
    expect(ignored('libs/domain/src/index.ts')).toBe(false);
  });
});

describe('the image entry point (docker/entrypoint.sh)', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(join(DIST, 'apps/orchestrator/src/main.js'))) {
      throw new Error('dist/ is missing: run `npm run build` first');
    }
    // The same script, with the image's /app pointed at this checkout.
    dir = mkdtempSync(join(tmpdir(), 'entrypoint-'));
    const script = readFileSync(ENTRYPOINT, 'utf8');
    expect(script).toContain('cd /app\n');
    writeFileSync(join(dir, 'entrypoint.sh'), script.replace('cd /app\n', `cd '${ROOT}'\n`));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(command: string[], env: Record<string, string> = {}) {
    const result = spawnSync('sh', [join(dir, 'entrypoint.sh'), ...command], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 30_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('starts the app the command names (each one stops at its own settings check)', () => {
    const orchestrator = run(['orchestrator']);
    expect(orchestrator.status).toBe(1);
    expect(orchestrator.output).toContain('GITHUB_WEBHOOK_SECRET is required');

    const worker = run(['worker'], { NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/d' });
    expect(worker.status).toBe(1);
    expect(worker.output).toContain('CODEGEN_TOKEN is required in production');

    const migrate = run(['migrate']);
    expect(migrate.status).toBe(1);
    expect(migrate.output).toContain('DATABASE_URL is required');
    expect(migrate.output).not.toContain('GITHUB_WEBHOOK_SECRET');

    const wait = run(['wait-for-schema'], { SCHEMA_WAIT_TIMEOUT_MS: 'soon' });
    expect(wait.status).toBe(1);
    expect(wait.output).toContain('SCHEMA_WAIT_TIMEOUT_MS must be an integer');
  });

  it('runs any other command as given', () => {
    expect(run(['node', '-e', 'console.log("hello from the image")'])).toEqual({
      status: 0,
      output: 'hello from the image\n',
    });
  });
});

describe('production dependencies', () => {
  it('provide every package the compiled apps require', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
    };
    const requiredBy = new Map<string, string>();
    const walk = (path: string): void => {
      for (const entry of readdirSync(path, { withFileTypes: true })) {
        const full = join(path, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.js')) {
          for (const [, spec] of readFileSync(full, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
            if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec))
              continue;
            const name = spec.startsWith('@')
              ? spec.split('/').slice(0, 2).join('/')
              : spec.split('/')[0];
            requiredBy.set(name, relative(ROOT, full));
          }
        }
      }
    };
    // The image compiles apps/ and libs/ only (the Dockerfile copies nothing else); a local build
    // also holds scripts/ and the demo's stand-ins from test/, which run with the dev dependencies.
    walk(join(DIST, 'apps'));
    walk(join(DIST, 'libs'));
    expect(requiredBy.size).toBeGreaterThan(5);
    // `npm ci --omit=dev` installs exactly the lock entries that are not dev-only.
    const missing = [...requiredBy]
      .filter(([name]) => {
        const entry = lock.packages[`node_modules/${name}`];
        return !entry || entry.dev === true || entry.devOptional === true;
      })
      .map(([name, file]) => `${name} (required by ${file})`);
    expect(missing).toEqual([]);
  });
});
