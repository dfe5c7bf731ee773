import { keyOf, K8sObject, readObjects, renderKustomization } from './support/kustomize';
import { typeCheck, typedSource, validateWithModels } from './support/k8s-schemas';
import { K8S_DIR, SECRET_EXAMPLE } from './support/paths';
import { itWithTool } from './support/required-tool';

/* Static checks of k8s/: no cluster and no network needed. Fields are read loosely typed and
   asserted one by one; the schema and type checks below cover their shapes. */
type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above

const rendering = renderKustomization(K8S_DIR);
const objects = rendering.objects;
const NAMESPACE = 'webhook-orchestrator';

function find(kind: string, name: string): Any {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`the rendering has no ${kind}/${name}`);
  return found;
}

const orchestrator = find('Deployment', 'orchestrator');
const worker = find('Deployment', 'worker');
const job = find('Job', 'migrate');
const configMap = find('ConfigMap', 'orchestrator-config');

function mainContainer(workload: Any): Any {
  return workload.spec.template.spec.containers[0];
}

/** The container port a probe or Service names (by port name or number). */
function containerPort(container: Any, port: string | number): number | undefined {
  const ports: Any[] = container.ports ?? [];
  return ports.find((p) => p.name === port || p.containerPort === port)?.containerPort;
}

function matches(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const workloads: Any[] = objects.filter((o) => ['Deployment', 'Job'].includes(o.kind));

describe('k8s/ (kustomize base)', () => {
  it('renders offline into every object a cluster needs', () => {
    // Says in the CI log which renderer ran.
    console.log(`k8s/ rendered with ${rendering.renderer}: ${objects.map(keyOf).join(', ')}`);
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of [
      'Namespace',
      'ConfigMap',
      'Deployment',
      'Service',
      'Ingress',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'Job',
      'NetworkPolicy',
    ]) {
      expect(kinds).toContain(kind);
    }
    // The Secret is created by the operator, never by `kubectl apply -k` (it would overwrite it).
    expect(kinds).not.toContain('Secret');
    expect(new Set(objects.map(keyOf)).size).toBe(objects.length);
  });

  // Without kubectl there is nothing to compare with (the rendering above is the built-in one):
  // skipped on a developer machine, a failure under CI.
  itWithTool(rendering.renderer === 'kubectl kustomize', 'kubectl')(
    'renders the same with the built-in renderer as with kubectl',
    () => {
      const byKey = (list: K8sObject[]) =>
        Object.fromEntries(list.map((o) => [keyOf(o), o] as const));
      expect(byKey(rendering.builtIn)).toEqual(byKey(objects));
    },
  );

  it('passes the Kubernetes schemas (kubernetes-models), the Secret example included', () => {
    const secret = readObjects(SECRET_EXAMPLE);
    expect(secret.map((o) => o.kind)).toEqual(['Secret']);
    const failures: string[] = [];
    for (const object of [...objects, ...secret]) {
      try {
        validateWithModels(object);
      } catch (error) {
        failures.push(String(error));
      }
    }
    expect(failures).toEqual([]);
  });

  it('compiles as kubernetes-types objects, which catches a misspelled field anywhere', () => {
    const all = [...objects, ...readObjects(SECRET_EXAMPLE)];
    expect(typeCheck(typedSource(all))).toEqual([]);

    // The same check on a copy with typos in two objects must fail, naming both.
    const broken = structuredClone(all) as Any[];
    broken.find(
      (o) => o.kind === 'Deployment',
    ).spec.template.spec.containers[0].readinessProbe.httpGet.paht = '/health/ready';
    broken.find((o) => o.kind === 'HorizontalPodAutoscaler').spec.minReplica = 2;
    const diagnostics = typeCheck(typedSource(broken)).join('\n');
    expect(diagnostics).toMatch(/'"?paht"?' does not exist in type 'HTTPGetAction'/);
    expect(diagnostics).toMatch(/'"?minReplica"?' does not exist/);
  });

  it('puts everything in one namespace, labelled, on the released image (never :latest)', () => {
    for (const object of objects) {
      if (object.kind === 'Namespace') expect(object.metadata.name).toBe(NAMESPACE);
      else expect(object.metadata.namespace).toBe(NAMESPACE);
      expect(object.metadata.labels?.['app.kubernetes.io/part-of']).toBe(NAMESPACE);
    }
    for (const workload of workloads) {
      const spec = workload.spec.template.spec;
      for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
        expect(container.image).toMatch(/^[a-z0-9.-]+(:\d+)?\/[a-z0-9/_.-]+:[\w.-]+$/);
        expect(container.image).not.toMatch(/:latest$/);
      }
    }
    const images = new Set(
      workloads.flatMap((w) => w.spec.template.spec.containers.map((c: Any) => c.image)),
    );
    expect(images.size).toBe(1);
  });

  it('runs every pod as non-root on a read-only root filesystem with limits', () => {
    for (const workload of workloads) {
      const pod = workload.spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const where = `${keyOf(workload)} ${container.name}`;
        expect({ where, ...container.securityContext }).toMatchObject({
          where,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        for (const kind of ['requests', 'limits']) {
          expect({ where, kind, ...container.resources?.[kind] }).toEqual({
            where,
            kind,
            cpu: expect.any(String),
            memory: expect.any(String),
          });
        }
      }
    }
  });

  it('probes the orchestrator on its HTTP port and drains it before SIGTERM', () => {
    const container = mainContainer(orchestrator);
    const port = Number(configMap.data.PORT);
    expect(container.args).toEqual(['orchestrator']);
    expect(containerPort(container, container.readinessProbe.httpGet.port)).toBe(port);
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(containerPort(container, container.livenessProbe.httpGet.port)).toBe(port);
    expect(container.startupProbe.httpGet.path).toBe('/health/live');
    expect(containerPort(container, container.startupProbe.httpGet.port)).toBe(port);
    // Startup gets a minute before liveness can restart a slow boot.
    expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBe(60);

    const preStop: string[] = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('sleep');
    const preStopSeconds = Number(preStop[1]);
    expect(preStopSeconds).toBeGreaterThanOrEqual(5);
    // The kubelet's clock includes preStop: it must leave the whole grace period to the app.
    const graceSeconds =
      (Number(configMap.data.SHUTDOWN_GRACE_MS) + Number(configMap.data.SHUTDOWN_DRAIN_DELAY_MS)) /
      1000;
    expect(orchestrator.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(
      preStopSeconds + graceSeconds,
    );
    // Rollouts never drop below current capacity.
    expect(orchestrator.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('probes the worker on its listener port 9100', () => {
    const container = mainContainer(worker);
    expect(container.args).toEqual(['worker']);
    expect(Number(configMap.data.WORKER_HEALTH_PORT)).toBe(9100);
    for (const [probe, path] of [
      ['readinessProbe', '/health/ready'],
      ['livenessProbe', '/health/live'],
      ['startupProbe', '/health/live'],
    ] as const) {
      expect(container[probe].httpGet.path).toBe(path);
      expect(containerPort(container, container[probe].httpGet.port)).toBe(9100);
    }
  });

  it('selects its own pods everywhere: Deployments, Services, PDBs, HPAs, NetworkPolicy', () => {
    for (const deployment of [orchestrator, worker]) {
      expect(
        matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels),
      ).toBe(true);
    }
    const podsOf = (selector: Record<string, string>) =>
      [orchestrator, worker].filter((d) => matches(selector, d.spec.template.metadata.labels));

    for (const service of objects.filter((o) => o.kind === 'Service') as Any[]) {
      const [target, ...others] = podsOf(service.spec.selector);
      expect({ service: service.metadata.name, others: others.length }).toEqual({
        service: service.metadata.name,
        others: 0,
      });
      for (const port of service.spec.ports) {
        expect(containerPort(mainContainer(target), port.targetPort)).toBeDefined();
      }
    }
    for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget') as Any[]) {
      expect(podsOf(pdb.spec.selector.matchLabels)).toHaveLength(1);
    }
    const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler') as Any[];
    expect(hpas.map((h) => h.spec.scaleTargetRef.name).sort()).toEqual(['orchestrator', 'worker']);
    for (const hpa of hpas) {
      const target = find('Deployment', hpa.spec.scaleTargetRef.name);
      const pdb = objects.find(
        (o: Any) =>
          o.kind === 'PodDisruptionBudget' &&
          matches(o.spec.selector.matchLabels, target.spec.template.metadata.labels),
      ) as Any;
      // A node drain can always evict one pod: the budget stays below the smallest size.
      expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
      // Replicas belong to the HPA; a fixed count would fight it on every apply.
      expect(target.spec.replicas).toBeUndefined();
    }
    const policy = find('NetworkPolicy', 'webhook-orchestrator');
    expect(podsOf(policy.spec.podSelector.matchLabels)).toHaveLength(2);
    const allowedPorts = policy.spec.ingress.flatMap((rule: Any) =>
      rule.ports.map((p: Any) => p.port),
    );
    expect(containerPort(mainContainer(orchestrator), allowedPorts[0])).toBe(8000);
    expect(allowedPorts.some((p: Any) => containerPort(mainContainer(worker), p) === 9100)).toBe(
      true,
    );
  });

  it('lets pods out only to DNS, PostgreSQL, Redis and the trace collector; HTTPS for the worker alone', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as Any[];
    const egressPolicies = (pod: Any): Any[] =>
      policies.filter(
        (p) =>
          (p.spec.policyTypes ?? []).includes('Egress') &&
          matches(p.spec.podSelector.matchLabels ?? {}, pod.spec.template.metadata.labels),
      );
    /** Whether any egress rule of a policy selecting the pod lets `port`/`protocol` out. */
    const allows = (pod: Any, port: number, protocol = 'TCP'): boolean =>
      egressPolicies(pod).some((policy) =>
        (policy.spec.egress ?? []).some(
          (rule: Any) =>
            !rule.ports ||
            rule.ports.length === 0 ||
            rule.ports.some(
              (p: Any) =>
                (p.protocol ?? 'TCP') === protocol &&
                (p.port === undefined ||
                  p.port === port ||
                  (typeof p.port === 'number' && p.endPort >= port && p.port <= port)),
            ),
        ),
      );
    const portOf = (url: string, fallback: number) => Number(new URL(url).port || fallback);
    const secret: Any = readObjects(SECRET_EXAMPLE)[0];
    const database = portOf(secret.stringData.DATABASE_URL, 5432);
    const redis = portOf(secret.stringData.REDIS_URL, 6379);
    const traces = portOf(configMap.data.JAEGER_ENDPOINT, 80);
    const outside = [configMap.data.GITHUB_API_URL, configMap.data.CODEGEN_BASE_URL].map((u) =>
      portOf(u, new URL(u).protocol === 'https:' ? 443 : 80),
    );
    expect(outside).toEqual([443, 443]);

    for (const pod of [orchestrator, worker, job]) {
      const name = keyOf(pod);
      // Restricted at all: a pod no Egress policy selects may send anywhere.
      expect({ name, policies: egressPolicies(pod).length > 0 }).toEqual({ name, policies: true });
      for (const [port, protocol] of [
        [53, 'UDP'],
        [53, 'TCP'],
        [database, 'TCP'],
        [redis, 'TCP'],
        [traces, 'TCP'],
      ] as const) {
        expect({ name, port, protocol, allowed: allows(pod, port, protocol) }).toEqual({
          name,
          port,
          protocol,
          allowed: true,
        });
      }
      // Nothing else: not HTTP, not an arbitrary port, not SSH.
      for (const port of [80, 8080, 22, 25]) {
        expect({ name, port, allowed: allows(pod, port) }).toEqual({ name, port, allowed: false });
      }
    }
    for (const port of outside) expect(allows(worker, port)).toBe(true);
    // The orchestrator and the migration step have no way out to the internet.
    expect(allows(orchestrator, 443)).toBe(false);
    expect(allows(job, 443)).toBe(false);
    // DNS goes to the cluster's DNS pods only.
    const dnsRules = policies.flatMap((p) =>
      (p.spec.egress ?? []).filter((r: Any) => (r.ports ?? []).some((x: Any) => x.port === 53)),
    );
    expect(dnsRules.length).toBeGreaterThan(0);
    for (const rule of dnsRules) {
      expect(rule.to).toEqual([
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ]);
    }
  });

  it('routes the webhook and API paths, and nothing else, to the orchestrator Service', () => {
    const ingress = find('Ingress', 'orchestrator');
    const paths: Any[] = ingress.spec.rules.flatMap((r: Any) => r.http.paths);
    const service = find('Service', 'orchestrator');
    for (const path of paths) {
      expect(path.backend.service.name).toBe('orchestrator');
      expect(service.spec.ports.map((p: Any) => p.name)).toContain(path.backend.service.port.name);
      expect(path.path.startsWith('/api')).toBe(true);
    }
    const routed = (url: string) =>
      paths.some((p) => url === p.path || url.startsWith(`${p.path.replace(/\/$/, '')}/`));
    expect(routed('/api/v1/webhooks/github')).toBe(true);
    expect(routed('/api/v1/tasks')).toBe(true);
    expect(routed('/metrics')).toBe(false);
    expect(routed('/health/ready')).toBe(false);
    expect(ingress.spec.tls[0].hosts).toEqual(ingress.spec.rules.map((r: Any) => r.host));
  });

  it('migrates in a Job that the app pods wait for', () => {
    const pod = job.spec.template.spec;
    expect(pod.containers.map((c: Any) => c.args)).toEqual([['migrate']]);
    expect(pod.restartPolicy).toBe('Never');
    expect(job.spec.backoffLimit).toBeGreaterThan(0);
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    for (const deployment of [orchestrator, worker]) {
      const init = deployment.spec.template.spec.initContainers;
      expect(init.map((c: Any) => c.args)).toEqual([['wait-for-schema']]);
      expect(init[0].image).toBe(mainContainer(deployment).image);
    }
    expect(configMap.data.MIGRATE_ON_START).toBe('false');
  });
});
