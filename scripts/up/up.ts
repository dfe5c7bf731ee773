/**
 * `npm run up`: brings the orchestrator and the worker up on this machine: a local .env (random
 * development secrets on first use), the database, a build when the sources changed, the
 * migrations, then both apps. Prints the ready block only once both answer their readiness
 * probes. Ctrl-C stops both, once, cleanly.
 *
 * Options: --demo (local GitHub and Codegen stand-ins and sample deliveries; see demo.ts),
 * --env-file FILE (default .env), --no-build (use dist/ as it is).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readyBlock } from './ready-block';
import { Env, loadSettings, reachableHost } from './settings';
import { Supervisor } from './supervisor';

const ROOT = resolve(__dirname, '../..');
const ORCHESTRATOR_MAIN = 'dist/apps/orchestrator/src/main.js';
// The node flags (young-generation size, GC settings) are measured intake settings
// (docs/performance.md); check-deploy holds them equal to npm run start:orchestrator and the
// image's.
const ORCHESTRATOR_ARGS = [
  '--max-semi-space-size=32',
  '--no-memory-reducer',
  '--no-allocation-site-pretenuring',
  ORCHESTRATOR_MAIN,
];
const WORKER_MAIN = 'dist/apps/worker/src/main.js';
const READY_TIMEOUT_MS = 180_000;

interface Options {
  demo: boolean;
  envFile: string;
  build: boolean;
}

const say = (line: string): void => void process.stdout.write(line + '\n');

function parseArgs(argv: string[]): Options {
  const options: Options = { demo: false, envFile: join(ROOT, '.env'), build: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--demo') options.demo = true;
    else if (arg === '--no-build') options.build = false;
    else if (arg === '--env-file' && argv[i + 1]) options.envFile = resolve(argv[++i]);
    else if (arg === '--help' || arg === '-h') {
      say('npm run up [-- --demo] [-- --env-file FILE] [-- --no-build]');
      process.exit(0);
    } else {
      process.stderr.write(`up: unknown option ${arg} (try --help)\n`);
      process.exit(64);
    }
  }
  return options;
}

/** Runs a step to its end with the given settings; stops `up` when it fails. */
function step(what: string, command: string, args: string[], env: Env): void {
  const result = spawnSync(command, args, { cwd: ROOT, env, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`up: ${what} failed (${command} ${args.join(' ')})\n`);
    process.exit(result.status ?? 1);
  }
}

/** True when dist/ is missing or a source file is newer than it. */
function buildIsStale(): boolean {
  const marker = join(ROOT, ORCHESTRATOR_MAIN);
  if (!existsSync(marker) || !existsSync(join(ROOT, WORKER_MAIN))) return true;
  const builtAt = statSync(marker).mtimeMs;
  const newer = (path: string): boolean => {
    const stat = statSync(path);
    if (!stat.isDirectory()) return stat.mtimeMs > builtAt;
    return readdirSync(path).some((name) => name !== 'node_modules' && newer(join(path, name)));
  };
  return ['apps', 'libs', 'package.json', 'tsconfig.json', 'tsconfig.build.json'].some((p) =>
    newer(join(ROOT, p)),
  );
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  process.chdir(ROOT);
  let env: Env;
  let secretSource: string;
  let demo: typeof import('./demo') | null = null;
  if (options.demo) {
    demo = await import('./demo');
    env = demo.demoSettings(process.env);
    secretSource = 'this demo run only';
    await demo.resetDemo(env);
  } else {
    const loaded = loadSettings(options.envFile, true);
    env = loaded.env;
    secretSource = options.envFile === join(ROOT, '.env') ? '.env' : options.envFile;
    if (loaded.created) {
      say(
        `Created ${secretSource} with random development secrets (GITHUB_WEBHOOK_SECRET, SECRET_KEY).`,
      );
    }
  }

  step('preparing the database', process.execPath, ['scripts/ensure-database.js'], env);
  if (options.build && buildIsStale()) {
    say('Building (dist/ is missing or older than the sources)...');
    step('the build', 'npm', ['run', '-s', 'build'], env);
  }
  step('the migrations', 'npm', ['run', '-s', 'migration:run'], env);

  const supervisor = new Supervisor(say);
  const started = Date.now();
  const demoRun = demo ? await demo.startStandIns(env, say) : null;
  supervisor.start('orchestrator', ORCHESTRATOR_ARGS, env);
  supervisor.start('worker', [WORKER_MAIN], env);

  const baseUrl = `http://${reachableHost(env.HOST ?? '')}:${env.PORT}`;
  const workerUrl = `http://${reachableHost(env.WORKER_HEALTH_HOST ?? '')}:${env.WORKER_HEALTH_PORT}`;
  // Whichever comes first: a signal starts the stop, or an app exits on its own.
  const ended = Promise.race([supervisor.firstExit(), supervisor.stopRequested]);
  let over = false;
  void ended.then(() => (over = true));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let ready = false;
  while (!ready && !over && Date.now() < deadline) {
    const [orchestrator, worker] = await Promise.all([
      answers(`${baseUrl}/health/ready`),
      answers(`${workerUrl}/health/ready`),
    ]);
    ready = orchestrator && worker;
    if (!ready) await new Promise((r) => setTimeout(r, 250));
  }

  if (ready && !over) {
    say(
      readyBlock({
        baseUrl,
        workerUrl,
        secretSource,
        secret: (env.GITHUB_WEBHOOK_SECRET ?? '').split(',')[0].trim(),
        consoleAvailable: await answers(`${baseUrl}/console`),
        seconds: (Date.now() - started) / 1000,
        demo: options.demo,
      }),
    );
    if (demoRun) await demoRun.play(baseUrl);
  } else if (!over) {
    process.stderr.write(
      `up: the apps did not answer ${baseUrl}/health/ready and ${workerUrl}/health/ready ` +
        `within ${READY_TIMEOUT_MS / 1000} s; stopping\n`,
    );
    await supervisor.stop('SIGTERM');
    await demoRun?.stop();
    process.exit(1);
  }

  const first = await ended;
  const exits = await supervisor.stop('SIGTERM');
  await demoRun?.stop();
  if (first === null) {
    const unclean = exits.filter((e) => e.code !== 0);
    if (unclean.length === 0) say('up: both apps stopped cleanly');
    for (const e of unclean) {
      process.stderr.write(`up: the ${e.name} stopped with ${e.signal ?? `code ${e.code}`}\n`);
    }
    process.exit(unclean.length === 0 ? 0 : 1);
  }
  process.stderr.write(
    `up: the ${first.name} exited on its own (${first.signal ?? `code ${first.code}`}); ` +
      'the other app was stopped\n',
  );
  process.exit(first.code || 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`up: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
