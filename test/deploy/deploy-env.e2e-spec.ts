import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, EnvReader } from '@app/platform';
import { loadOrchestratorConfig } from '../../apps/orchestrator/src/config/orchestrator.config';
import { loadWorkerConfig } from '../../apps/worker/src/config/worker.config';
import {
  commandOf,
  composeConfig,
  durationMs,
  Env,
  fillPlaceholders,
  interpolatedNames,
  loadCompose,
  readEnvFile,
  serviceEnv,
} from './support/compose';
import { K8sObject, readObjects, renderKustomization } from './support/kustomize';
import { COMPOSE_FILE, ENV_EXAMPLE, K8S_DIR, SECRET_EXAMPLE } from './support/paths';

/*
 * Every environment variable an app requires must reach every compose service and Kubernetes
 * container that runs it. The required set is not listed here: each container's environment is
 * handed to the app's own config loader, which throws ConfigError naming what is missing.
 */

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- manifests are read field by field

type Role = 'orchestrator' | 'worker' | 'migrate' | 'wait-for-schema';

/** The settings step of each entry point the image runs, reading `env` and nothing else. */
const LOADERS: Record<Role, (env: Env) => unknown> = {
  orchestrator: (env) => loadOrchestratorConfig(env),
  worker: (env) => loadWorkerConfig(env),
  // The migration CLIs (libs/persistence/src/database/migrate.ts, wait-for-schema.ts) validate their
  // settings with the same EnvReader before connecting.
  migrate: (env) => {
    const reader = new EnvReader(env);
    reader.url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']);
    reader.done();
  },
  'wait-for-schema': (env) => {
    const reader = new EnvReader(env);
    reader.url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']);
    reader.int('SCHEMA_WAIT_TIMEOUT_MS', 600_000, 1000, 86_400_000);
    reader.done();
  },
};

/** Runs a loader on `env`, recording every variable it reads. */
function load(role: Role, env: Env): { config: Any; read: Set<string> } {
  const read = new Set<string>();
  const tracked = new Proxy(env, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
  });
  return { config: LOADERS[role](tracked), read };
}

/** Problems the loader reports for `env` (empty when it starts). */
function problems(role: Role, env: Env): string[] {
  try {
    load(role, env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

/** The variables whose absence would stop the app: derived by removing each in turn. */
function requiredIn(role: Role, env: Env): string[] {
  return Object.keys(env)
    .filter((name) => {
      const without = { ...env };
      delete without[name];
      return problems(role, without).some((p) => p.includes(name));
    })
    .sort();
}

/** Every variable any entry point reads, found by running each loader once. */
const KNOWN = new Set(
  (Object.keys(LOADERS) as Role[]).flatMap((role) => {
    const read = new Set<string>();
    try {
      load(role, {
        DATABASE_URL: 'postgres://u@h/d',
        GITHUB_WEBHOOK_SECRET: 's',
        SECRET_KEY: 'k',
      }).read.forEach((n) => read.add(n));
    } catch {
      // Reads happen before the loader throws; they are what counts here.
    }
    return [...read];
  }),
);
function unknownSettings(env: Env, alsoAllowed: Set<string> = new Set()): string[] {
  return Object.keys(env).filter((name) => !KNOWN.has(name) && !alsoAllowed.has(name));
}

// --- docker compose -----------------------------------------------------------------------------

const composeVars = { ...readEnvFile(ENV_EXAMPLE), APP_ENV_FILE: '.env.example' };
const compose = loadCompose(COMPOSE_FILE, composeVars);
const composeOnly = interpolatedNames(readFileSync(COMPOSE_FILE, 'utf8'));
const composeApps = Object.entries(compose.services)
  .map(([name, service]) => ({ name, service, role: commandOf(service) as Role }))
  .filter(({ role }) => role in LOADERS);

describe('docker/docker-compose.yml gives each app what it requires', () => {
  it('runs the migration step, the orchestrator and the worker from the app image', () => {
    expect(composeApps.map(({ name, role }) => `${name}:${role}`).sort()).toEqual([
      'migrate:migrate',
      'orchestrator:orchestrator',
      'worker:worker',
    ]);
  });

  it('resolves the environment exactly as docker-compose does (when it is installed)', () => {
    const resolved = composeConfig(COMPOSE_FILE, ENV_EXAMPLE, { APP_ENV_FILE: '.env.example' });
    if (!resolved) return;
    for (const { name, service } of composeApps) {
      expect({ name, env: serviceEnv(COMPOSE_FILE, service) }).toEqual({
        name,
        env: resolved.services[name].environment,
      });
    }
  });

  it.each(composeApps.map((a) => [a.name, a] as const))(
    '%s starts with the example settings filled in, and every setting it gets is one the apps read',
    (_name, { service, role }) => {
      const env = fillPlaceholders(serviceEnv(COMPOSE_FILE, service));
      expect(problems(role, env)).toEqual([]);
      // The loader is not vacuous: without the file's values the same app refuses to start.
      expect(problems(role, { NODE_ENV: env.NODE_ENV ?? '' }).length).toBeGreaterThan(0);
      expect(requiredIn(role, env)).toContain('DATABASE_URL');
      expect(unknownSettings(env, composeOnly)).toEqual([]);
      expect(load(role, env).config?.migrateOnStart ?? false).toBe(false);
    },
  );

  it('refuses to start either app on the example settings as they are, naming what to fill in', () => {
    // Every change-me line of the example that is a secret (they all are).
    const placeholders = Object.entries(readEnvFile(ENV_EXAMPLE))
      .filter(([, value]) => value.includes('change-me'))
      .map(([name]) => name);
    expect(placeholders.length).toBeGreaterThanOrEqual(4);
    for (const { name, service, role } of composeApps) {
      if (role !== 'orchestrator' && role !== 'worker') continue;
      const named = problems(role, serviceEnv(COMPOSE_FILE, service))
        .filter((p) => p.includes('from docker/.env.example: fill it in'))
        .map((p) => p.split(' ')[0])
        .sort();
      // DATABASE_URL too: compose builds it from POSTGRES_PASSWORD.
      expect({ name, named }).toEqual({ name, named: [...placeholders, 'DATABASE_URL'].sort() });
    }
  });

  it('gives each app time to stop gracefully before Docker kills it', () => {
    for (const { name, service, role } of composeApps) {
      if (role !== 'orchestrator' && role !== 'worker') continue;
      const { config } = load(role, fillPlaceholders(serviceEnv(COMPOSE_FILE, service)));
      const stopGrace = durationMs(service.stop_grace_period ?? '10s');
      expect({ name, longer: stopGrace > config.shutdownGraceMs }).toEqual({ name, longer: true });
      if (role === 'worker') {
        // A task that is running at shutdown always finishes.
        expect(config.shutdownGraceMs).toBeGreaterThan(config.task.timeoutMs);
      }
    }
  });
});

// --- Kubernetes ---------------------------------------------------------------------------------

const rendered = renderKustomization(K8S_DIR).objects;
/**
 * The Secret example as an operator fills it in: every REPLACE_ME becomes a random value (an id,
 * such as Codegen's organization id, a positive integer).
 */
const secrets = readObjects(SECRET_EXAMPLE).map((secret: Any) => {
  const filled = structuredClone(secret);
  for (const [key, value] of Object.entries<string>(filled.stringData ?? {})) {
    filled.stringData[key] = value.replace(/REPLACE_ME/g, () =>
      key.endsWith('_ID')
        ? String(1 + randomBytes(3).readUIntBE(0, 3))
        : randomBytes(32).toString('hex'),
    );
  }
  return filled as K8sObject;
});

function dataOf(kind: 'ConfigMap' | 'Secret', name: string): Env | undefined {
  const source: K8sObject[] = kind === 'Secret' ? [...rendered, ...secrets] : rendered;
  const object = source.find((o) => o.kind === kind && o.metadata.name === name) as Any;
  if (!object) return undefined;
  const decoded = Object.fromEntries(
    Object.entries((object.data ?? {}) as Env).map(([k, v]) => [
      k,
      kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v,
    ]),
  );
  return { ...decoded, ...(object.stringData ?? {}) };
}

/** A container's environment as the kubelet builds it: envFrom first, then env. */
function containerEnv(container: Any): { env: Env; missing: string[] } {
  const env: Env = {};
  const missing: string[] = [];
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const data = dataOf(from.configMapRef ? 'ConfigMap' : 'Secret', ref.name);
    if (!data) {
      if (!ref.optional) missing.push(`envFrom ${ref.name}`);
      continue;
    }
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) {
      env[entry.name] = String(entry.value);
      continue;
    }
    const ref = entry.valueFrom?.secretKeyRef ?? entry.valueFrom?.configMapKeyRef;
    if (ref) {
      const value = dataOf(entry.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap', ref.name)?.[
        ref.key
      ];
      if (value !== undefined) env[entry.name] = value;
      else if (!ref.optional) missing.push(`${entry.name} from ${ref.name}/${ref.key}`);
      continue;
    }
    if (entry.valueFrom?.fieldRef) env[entry.name] = `field:${entry.valueFrom.fieldRef.fieldPath}`;
  }
  return { env, missing };
}

const k8sContainers = rendered
  .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
  .flatMap((workload: Any) => {
    const pod = workload.spec.template.spec;
    return [...(pod.initContainers ?? []), ...pod.containers].map((container: Any) => ({
      where: `${workload.kind}/${workload.metadata.name} ${container.name}`,
      workload,
      container,
      role: (container.args ?? [])[0] as Role,
    }));
  });

describe('k8s/ gives each app what it requires (with secret.example.yaml filled in as the Secret)', () => {
  it('runs every entry point of the image', () => {
    expect(k8sContainers.map((c) => `${c.where}:${c.role}`).sort()).toEqual([
      'Deployment/orchestrator orchestrator:orchestrator',
      'Deployment/orchestrator wait-for-schema:wait-for-schema',
      'Deployment/worker wait-for-schema:wait-for-schema',
      'Deployment/worker worker:worker',
      'Job/migrate migrate:migrate',
    ]);
  });

  it.each(k8sContainers.map((c) => [c.where, c] as const))(
    '%s starts with the ConfigMap and the Secret, and gets only settings the apps read',
    (_where, { container, role }) => {
      const { env, missing } = containerEnv(container);
      expect(missing).toEqual([]);
      expect(problems(role, env)).toEqual([]);
      expect(problems(role, { NODE_ENV: env.NODE_ENV ?? '' }).length).toBeGreaterThan(0);
      expect(requiredIn(role, env)).toContain('DATABASE_URL');
      expect(unknownSettings(env)).toEqual([]);
    },
  );

  it('runs production settings: live agent runs, no migrations at start', () => {
    for (const { where, container, role } of k8sContainers) {
      if (role !== 'orchestrator' && role !== 'worker') continue;
      const { config } = load(role, containerEnv(container).env);
      expect({
        where,
        isProduction: config.isProduction,
        migrateOnStart: config.migrateOnStart,
      }).toEqual({ where, isProduction: true, migrateOnStart: false });
      if (role === 'worker') expect(config.codegen.dryRun).toBe(false);
    }
  });

  it('gives each app its grace period before the kubelet kills it', () => {
    for (const { where, workload, container, role } of k8sContainers) {
      if (role !== 'orchestrator' && role !== 'worker') continue;
      const { config } = load(role, containerEnv(container).env);
      const preStop = container.lifecycle?.preStop?.exec?.command;
      const preStopMs = preStop?.[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
      const budgetMs = workload.spec.template.spec.terminationGracePeriodSeconds * 1000;
      expect({ where, fits: budgetMs > preStopMs + config.shutdownGraceMs }).toEqual({
        where,
        fits: true,
      });
      if (role === 'worker') expect(config.shutdownGraceMs).toBeGreaterThan(config.task.timeoutMs);
    }
  });
});
