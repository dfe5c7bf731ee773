/** The bench's knobs: command-line `--quick`, everything else from BENCH_* variables. */
export interface BenchSettings {
  mode: 'full' | 'quick';
  /** Measured window of each round and target, seconds. */
  durationS: number;
  warmupS: number;
  /** One unmeasured drive of every server before round 1, so the JIT has settled. */
  initialWarmupS: number;
  rounds: number;
  connections: number;
  /** Paced end-to-end phase: seconds, and deliveries per second (default: half the burst's). */
  e2eDurationS: number;
  e2eRate: number | undefined;
  /** Burst end-to-end phase: deliveries sent as fast as possible, then drained by the worker. */
  e2eBurst: number;
  /** Pool of the baseline (node-postgres's default, 10); the orchestrator's is its own DATABASE_POOL_SIZE (default 8). */
  baselinePoolSize: number;
  /** Where the built apps are (`npm run build` writes `dist`). */
  appDir: string;
  adminUrl: string;
  redisUrl: string;
  targets: Array<'orchestrator' | 'baseline'>;
  skipE2e: boolean;
  keepDatabase: boolean;
  /** Directory for `node --cpu-prof` profiles of the orchestrator (and baseline), if set. */
  cpuProfDir: string | undefined;
  /**
   * Other builds of the orchestrator measured in the same rounds (ablations), from
   * `BENCH_VARIANTS=name=dir,name=dir`; each gets a database migrated by its own build.
   * `env` and `nodeArgs` (NODE_FLAGS) come from the spec's `?NAME=value&…`.
   */
  variants: Array<{
    name: string;
    appDir: string;
    env: Record<string, string>;
    nodeArgs: string[];
  }>;
  /**
   * Also measure the same build with ACCESS_LOG=false (server `no_access_log`) in the same rounds,
   * so the access log's cost is visible (BENCH_ACCESS_LOG_OFF, default on).
   */
  accessLogOff: boolean;
  /** Extra environment for the orchestrator, `NAME=value,NAME=value` (experiments). */
  orchestratorEnv: Record<string, string>;
  /** Extra node arguments for the orchestrator processes (e.g. `--trace-gc`), space separated. */
  nodeArgs: string[];
  /** Overrides the compression of the orchestrator's payload column (ablation: `pglz`). */
  payloadCompression: 'pglz' | 'lz4' | undefined;
  /** Hard stop of the whole run, seconds. */
  maxSeconds: number;
  /** Update docs/performance.md (full runs only unless forced). */
  writeDocs: boolean;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function num(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}`);
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return ['1', 'true', 'yes', 'on'].includes(raw.toLowerCase());
}

/** `raw` if it points at this machine; anything else is refused (the bench never leaves it). */
export function localUrl(name: string, raw: string): string {
  const url = new URL(raw);
  if (!LOCAL_HOSTS.has(url.hostname)) {
    throw new Error(`${name} must point at this machine (127.0.0.1), got host ${url.hostname}`);
  }
  return raw;
}

function pairs(raw: string | undefined, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of (raw ?? '').split(',').filter((e) => e.trim() !== '')) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new Error(`${name} entry "${entry}" is not NAME=value`);
    out[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
  }
  return out;
}

function compression(raw: string | undefined): BenchSettings['payloadCompression'] {
  if (raw === undefined || raw === '') return undefined;
  if (raw !== 'pglz' && raw !== 'lz4') throw new Error('BENCH_PAYLOAD_COMPRESSION: pglz or lz4');
  return raw;
}

export function readSettings(
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): BenchSettings {
  const unknown = argv.filter((a) => a !== '--quick');
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')}`);
  const quick = argv.includes('--quick');
  const targets = (env.BENCH_TARGETS ?? 'orchestrator,baseline').split(',').map((t) => t.trim());
  for (const t of targets) {
    if (t !== 'orchestrator' && t !== 'baseline') throw new Error(`BENCH_TARGETS: unknown ${t}`);
  }
  const settings: BenchSettings = {
    mode: quick ? 'quick' : 'full',
    durationS: num(env, 'BENCH_DURATION', quick ? 3 : 15, 1),
    warmupS: num(env, 'BENCH_WARMUP', quick ? 1 : 5, 0),
    initialWarmupS: num(env, 'BENCH_INITIAL_WARMUP', quick ? 2 : 15, 0),
    rounds: num(env, 'BENCH_ROUNDS', quick ? 1 : 5, 1),
    connections: num(env, 'BENCH_CONNECTIONS', 50, 1),
    e2eDurationS: num(env, 'BENCH_E2E_DURATION', quick ? 2 : 10, 1),
    e2eRate: env.BENCH_E2E_RATE ? num(env, 'BENCH_E2E_RATE', 0, 1) : undefined,
    e2eBurst: num(env, 'BENCH_E2E_BURST', quick ? 200 : 2000, 1),
    baselinePoolSize: num(env, 'BENCH_BASELINE_POOL_SIZE', 10, 1),
    appDir: env.BENCH_APP_DIR ?? 'dist',
    adminUrl: localUrl(
      'BENCH_DATABASE_ADMIN_URL',
      env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    ),
    redisUrl: localUrl('BENCH_REDIS_URL', env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0'),
    targets: targets as BenchSettings['targets'],
    skipE2e: flag(env, 'BENCH_SKIP_E2E', false),
    keepDatabase: flag(env, 'BENCH_KEEP_DATABASE', false),
    cpuProfDir: env.BENCH_CPU_PROF_DIR || undefined,
    variants: Object.entries(pairs(env.BENCH_VARIANTS, 'BENCH_VARIANTS')).map(([name, spec]) => {
      if (!/^[a-z][a-z0-9_]{0,20}$/.test(name) || name === 'orchestrator' || name === 'baseline') {
        throw new Error(`BENCH_VARIANTS: bad variant name ${name} (lower case, digits, _)`);
      }
      // `dir` or `dir?NAME=value&NAME=value` for settings of that variant only.
      // NODE_FLAGS (space- or +-separated) are node flags for that variant, after the shipped ones.
      const [appDir, query = ''] = spec.split('?');
      const { NODE_FLAGS: flags = '', ...variantEnv } = Object.fromEntries(
        new URLSearchParams(query),
      );
      return {
        name,
        appDir,
        env: variantEnv,
        nodeArgs: flags.split(' ').filter((a) => a !== ''),
      };
    }),
    accessLogOff: flag(env, 'BENCH_ACCESS_LOG_OFF', targets.includes('orchestrator')),
    orchestratorEnv: pairs(env.BENCH_ORCHESTRATOR_ENV, 'BENCH_ORCHESTRATOR_ENV'),
    payloadCompression: compression(env.BENCH_PAYLOAD_COMPRESSION),
    nodeArgs: (env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
    maxSeconds: 0,
    writeDocs: flag(env, 'BENCH_WRITE_DOCS', !quick),
  };
  const perTurn = settings.warmupS + settings.durationS + 3;
  const servers =
    settings.targets.length + settings.variants.length + (settings.accessLogOff ? 1 : 0);
  settings.maxSeconds = num(
    env,
    'BENCH_MAX_SECONDS',
    Math.ceil(
      180 +
        servers * settings.initialWarmupS +
        settings.rounds * servers * perTurn +
        (settings.skipE2e ? 0 : settings.e2eDurationS + settings.e2eBurst / 5 + 180),
    ),
    10,
  );
  return settings;
}
