import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parse } from 'yaml';
import { loadOrchestratorConfig } from '../../apps/orchestrator/src/config/orchestrator.config';
import { loadWorkerConfig } from '../../apps/worker/src/config/worker.config';
import {
  ComposeFile,
  ComposeService,
  composeConfig,
  Env,
  fillPlaceholders,
  loadCompose,
  readEnvFile,
  serviceEnv,
} from './support/compose';
import { COMPOSE_FILE, ENV_EXAMPLE, ROOT } from './support/paths';
import { itWithTool } from './support/required-tool';

/* Static checks of docker/docker-compose.yml: no Docker engine needed. */
type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- YAML read field by field

const vars: Env = { ...readEnvFile(ENV_EXAMPLE), APP_ENV_FILE: '.env.example' };
const compose = loadCompose(COMPOSE_FILE, vars);
const services = compose.services;
const COMPOSE_DIR = dirname(COMPOSE_FILE);

function dockerCompose(args: string[], env: Record<string, string> = {}) {
  return spawnSync('docker-compose', ['-f', COMPOSE_FILE, ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
}
const hasDockerCompose = !dockerCompose(['version']).error;

/** `host:container` bind mounts of a service, with the host side resolved like Compose does. */
function binds(service: ComposeService): Array<{ source: string; target: string }> {
  return (service.volumes ?? [])
    .filter((v): v is string => typeof v === 'string' && v.startsWith('.'))
    .map((v) => {
      const [source, target] = v.split(':');
      return { source: join(COMPOSE_DIR, source), target };
    });
}

function dependsOn(service: ComposeService): Record<string, string | undefined> {
  const deps = service.depends_on ?? {};
  return Array.isArray(deps)
    ? Object.fromEntries(deps.map((d) => [d, undefined]))
    : Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v.condition]));
}

/** The port a healthcheck's URL probes. */
function healthcheckPort(service: ComposeService): number {
  const test = [service.healthcheck?.test ?? []].flat().join(' ');
  const match = /http:\/\/127\.0\.0\.1:(\d+)\/health\/live/.exec(test);
  if (!match) throw new Error(`no /health/live healthcheck in: ${test}`);
  return Number(match[1]);
}

const orchestratorConfig = loadOrchestratorConfig(
  fillPlaceholders(serviceEnv(COMPOSE_FILE, services.orchestrator)),
);
const workerConfig = loadWorkerConfig(fillPlaceholders(serviceEnv(COMPOSE_FILE, services.worker)));

describe('docker/docker-compose.yml', () => {
  itWithTool(hasDockerCompose, 'docker-compose')(
    'passes `docker-compose config` with the example settings, and says what is missing without them',
    () => {
      const ok = dockerCompose(['--env-file', ENV_EXAMPLE, 'config', '-q'], {
        APP_ENV_FILE: '.env.example',
      });
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      // Without the settings (a fresh clone has no docker/.env) the error says what to do.
      const empty = join(mkdtempSync(join(tmpdir(), 'compose-')), 'empty.env');
      writeFileSync(empty, '');
      const bare = dockerCompose(['--env-file', empty, 'config', '-q']);
      rmSync(dirname(empty), { recursive: true });
      expect(bare.status).not.toBe(0);
      expect(bare.stderr).toContain('copy docker/.env.example to docker/.env');
    },
  );

  it('keeps PostgreSQL and Redis on named volumes, with healthchecks the apps wait for', () => {
    for (const name of ['postgres', 'redis']) {
      const service = services[name];
      expect(service.healthcheck?.test).toBeDefined();
      const volume = (service.volumes ?? []).map(String)[0].split(':')[0];
      expect(Object.keys(compose.volumes ?? {})).toContain(volume);
    }
    expect(dependsOn(services.migrate)).toEqual({ postgres: 'service_healthy' });
    for (const app of ['orchestrator', 'worker']) {
      expect(dependsOn(services[app])).toEqual({
        migrate: 'service_completed_successfully',
        redis: 'service_healthy',
      });
    }
  });

  it('runs migrations once, as a one-shot service, from the same image as the apps', () => {
    expect(services.migrate.command).toEqual(['migrate']);
    expect(services.migrate.restart).toBe('no');
    const images = new Set(['migrate', 'orchestrator', 'worker'].map((s) => services[s].image));
    expect(images.size).toBe(1);
    for (const name of ['migrate', 'orchestrator', 'worker']) {
      expect(services[name].build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
      expect(services[name].read_only).toBe(true);
    }
  });

  it('lets `--scale worker=4` work: no container name or host port on the worker', () => {
    for (const [name, service] of Object.entries(services)) {
      expect({ name, container_name: service.container_name }).toEqual({
        name,
        container_name: undefined,
      });
    }
    expect(services.worker.ports).toBeUndefined();
    expect(services.worker.expose?.map(String)).toContain(String(workerConfig.listener.port));
  });

  it('publishes the orchestrator and probes both apps where they listen', () => {
    const published = (services.orchestrator.ports ?? []).map(String);
    expect(published).toEqual([`${vars.ORCHESTRATOR_PORT}:${orchestratorConfig.port}`]);
    expect(healthcheckPort(services.orchestrator)).toBe(orchestratorConfig.port);
    expect(healthcheckPort(services.worker)).toBe(workerConfig.listener.port);
  });

  it('publishes Prometheus, Grafana and Jaeger on 127.0.0.1 only, unless told otherwise', () => {
    /** Published ports of every service but the orchestrator (GitHub must reach that one). */
    const monitoring = (file: ComposeFile) =>
      Object.entries(file.services)
        .filter(([name]) => name !== 'orchestrator')
        .flatMap(([name, service]) =>
          // Long-syntax entries (objects) are shown whole, so they fail the comparison visibly.
          (service.ports ?? []).map(
            (p) => `${name} ${typeof p === 'string' ? p : JSON.stringify(p)}`,
          ),
        )
        .sort();
    const loopback = [
      'grafana 127.0.0.1:3000:3000',
      'jaeger 127.0.0.1:16686:16686',
      'prometheus 127.0.0.1:9090:9090',
    ];
    // With the example settings, and with a docker/.env that predates the setting.
    expect(monitoring(compose)).toEqual(loopback);
    const older = { ...vars };
    delete older.MONITORING_BIND_ADDRESS;
    expect(monitoring(loadCompose(COMPOSE_FILE, older))).toEqual(loopback);
    // Opening them is one setting.
    expect(
      monitoring(loadCompose(COMPOSE_FILE, { ...vars, MONITORING_BIND_ADDRESS: '0.0.0.0' })),
    ).toEqual(loopback.map((p) => p.replace('127.0.0.1', '0.0.0.0')));
    // docker-compose's own reading of the file agrees (when it is installed).
    const resolved = composeConfig(COMPOSE_FILE, ENV_EXAMPLE, { APP_ENV_FILE: '.env.example' });
    if (resolved) {
      expect(monitoring(resolved)).toEqual(loopback.map((p) => `${p}/tcp`));
    }
  });

  it('wires Prometheus, Grafana and Jaeger to the observability files and the apps', () => {
    const prometheus = binds(services.prometheus).map((b) => b.source.slice(ROOT.length + 1));
    expect(prometheus).toEqual([
      'docker/prometheus/prometheus.yml',
      'docker/prometheus/alerts.yml',
    ]);
    const grafana = binds(services.grafana).map((b) => b.source.slice(ROOT.length + 1));
    expect(grafana).toEqual(['docker/grafana/provisioning', 'docker/grafana/dashboards']);

    const traces = new URL(orchestratorConfig.jaegerEndpoint ?? '');
    expect(traces.hostname).toBe('jaeger');
    expect(services.jaeger.expose?.map(String)).toContain(traces.port);
    expect(workerConfig.jaegerEndpoint).toBe(orchestratorConfig.jaegerEndpoint);
  });

  const prometheusFile = join(COMPOSE_DIR, 'prometheus/prometheus.yml');
  it('has Prometheus scrape the orchestrator and the workers, with the mounted rules', () => {
    const config: Any = parse(readFileSync(prometheusFile, 'utf8'));
    const jobs: Any[] = config.scrape_configs ?? [];
    const staticTargets = jobs.flatMap((j) =>
      (j.static_configs ?? []).flatMap((s: Any) => s.targets as string[]),
    );
    expect(staticTargets).toContain(`orchestrator:${orchestratorConfig.port}`);
    // The worker by its service name: statically, or one A record per `--scale` replica.
    const port = workerConfig.listener.port;
    const dns = jobs.flatMap((j) => (j.dns_sd_configs ?? []) as Any[]);
    expect(
      staticTargets.includes(`worker:${port}`) ||
        dns.some((d) => (d.names as string[]).includes('worker') && d.port === port),
    ).toBe(true);
    const mounted = binds(services.prometheus).map((b) => b.target);
    for (const rules of (config.rule_files ?? []) as string[]) {
      expect(mounted).toContain(posix.resolve('/etc/prometheus', rules));
    }
    expect((config.rule_files ?? []).length).toBeGreaterThan(0);
  });

  const provisioning = join(COMPOSE_DIR, 'grafana/provisioning');
  it('has Grafana provisioned with the Prometheus datasource and the mounted dashboards', () => {
    const read = (sub: string): Any[] =>
      existsSync(join(provisioning, sub))
        ? readdirSync(join(provisioning, sub))
            .filter((f) => /\.ya?ml$/.test(f))
            .map((f): Any => parse(readFileSync(join(provisioning, sub, f), 'utf8')))
        : [];
    const datasources = read('datasources').flatMap((f) => f.datasources ?? []);
    expect(datasources.map((d: Any) => d.url)).toContain('http://prometheus:9090');
    const dashboardsMount = binds(services.grafana).find((b) =>
      b.source.endsWith('grafana/dashboards'),
    )?.target;
    const providers = read('dashboards').flatMap((f) => f.providers ?? []);
    expect(providers.length).toBeGreaterThan(0);
    for (const provider of providers) {
      expect(String(provider.options?.path)).toMatch(new RegExp(`^${dashboardsMount}(/|$)`));
    }
  });
});
