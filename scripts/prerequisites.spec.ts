import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCRIPT = resolve(__dirname, 'prerequisites.sh');
/** What the script itself needs to run; everything else is left out of PATH on purpose. */
const BASE_COMMANDS = ['bash', 'dirname', 'sort', 'id', 'node'];

/**
 * Runs the script with a PATH holding only the base commands plus stand-ins for `present`, and no
 * apt-get: the "cannot install" branch, whatever machine the test runs on.
 */
function runWith(present: string[], args: string[] = ['--tools-only']) {
  const bin = mkdtempSync(join(tmpdir(), 'prerequisites-'));
  try {
    for (const command of BASE_COMMANDS) {
      const found = spawnSync('bash', ['-c', `command -v ${command}`], { encoding: 'utf8' });
      symlinkSync(found.stdout.trim(), join(bin, command));
    }
    for (const tool of present) {
      writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n');
      chmodSync(join(bin, tool), 0o755);
    }
    const started = Date.now();
    const result = spawnSync(join(bin, 'bash'), [SCRIPT, ...args], {
      env: { PATH: bin },
      encoding: 'utf8',
      timeout: 20_000,
    });
    return { ...result, ms: Date.now() - started };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

/** The commands the script's list names, read from the script itself. */
const ALL_TOOLS = [...readFileSync(SCRIPT, 'utf8').matchAll(/^\s+"([\w.-]+) [\w.+-]+"/gm)].map(
  (m) => m[1],
);

describe('scripts/prerequisites.sh (the first step of npm test and of CI)', () => {
  it('passes at once when every tool is there', () => {
    expect(ALL_TOOLS).toEqual(expect.arrayContaining(['promtool', 'docker-compose', 'yamllint']));
    const run = runWith(ALL_TOOLS);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('stops at once with the exact install command when it cannot install', () => {
    const run = runWith(ALL_TOOLS.filter((t) => t !== 'docker-compose' && t !== 'yamllint'));
    expect(run.status).toBe(2);
    // Missing: docker-compose and yamllint, named as the Debian packages, in one command.
    expect(run.stderr).toContain('missing Debian packages: docker-compose yamllint');
    expect(run.stderr).toMatch(
      /apt-get update && (sudo )?apt-get install -y --no-install-recommends docker-compose yamllint\n/,
    );
    expect(run.ms).toBeLessThan(10_000);
  });

  it('names the package of each missing tool (promtool comes with prometheus)', () => {
    const run = runWith(
      ALL_TOOLS.filter((t) => t !== 'promtool'),
      ['--check', '--tools-only'],
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('missing Debian packages: prometheus\n');
  });

  it('refuses an option it does not know', () => {
    const run = runWith(ALL_TOOLS, ['--instal']);
    expect(run.status).toBe(64);
    expect(run.stderr).toContain('unknown option --instal');
  });
});
