import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/** A Kubernetes object as rendered; fields are checked by the specs and the schemas. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // Every other field is checked against the Kubernetes schemas, not typed here.
  [field: string]: unknown;
}

export interface Rendering {
  objects: K8sObject[];
  /** Which renderer produced `objects`. */
  renderer: 'kubectl kustomize' | 'built-in';
  /** The built-in rendering, always made, to compare with kubectl's when kubectl exists. */
  builtIn: K8sObject[];
}

/** Reads every YAML document of a file as Kubernetes objects. */
export function readObjects(file: string): K8sObject[] {
  return parseYamlStream(readFileSync(file, 'utf8'), file);
}

function parseYamlStream(text: string, what: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${what}: ${doc.errors[0].message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
]);

/** Pod templates that kustomize's `includeTemplates` and `images` reach, by kind. */
const POD_TEMPLATE_PATHS: Record<string, string[][]> = {
  Deployment: [['spec', 'template']],
  StatefulSet: [['spec', 'template']],
  DaemonSet: [['spec', 'template']],
  ReplicaSet: [['spec', 'template']],
  Job: [['spec', 'template']],
  CronJob: [['spec', 'jobTemplate', 'spec', 'template']],
};

type Json = Record<string, unknown>;

function at(object: unknown, path: string[]): Json | undefined {
  let node: unknown = object;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Json)[key];
  }
  return node !== null && typeof node === 'object' ? (node as Json) : undefined;
}

interface LabelsEntry {
  pairs: Record<string, string>;
  includeSelectors?: boolean;
  includeTemplates?: boolean;
}

interface ImageEntry {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

const SUPPORTED_FIELDS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'labels',
  'resources',
  'images',
]);

/**
 * Renders a kustomization the way `kubectl kustomize` does, for the features this repository's
 * kustomization uses: a list of resource files, `namespace`, `labels` (without selectors) and
 * `images`. Anything else is refused, so the fallback never silently renders something else.
 */
export function renderBuiltIn(dir: string): K8sObject[] {
  const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Json;
  for (const field of Object.keys(kustomization)) {
    if (!SUPPORTED_FIELDS.has(field)) {
      throw new Error(
        `kustomization field "${field}" needs kubectl: the built-in renderer lacks it`,
      );
    }
  }
  const objects = ((kustomization.resources as string[] | undefined) ?? []).flatMap((file) =>
    readObjects(join(dir, file)),
  );
  const namespace = kustomization.namespace as string | undefined;
  const labels = (kustomization.labels as LabelsEntry[] | undefined) ?? [];
  const images = (kustomization.images as ImageEntry[] | undefined) ?? [];

  for (const object of objects) {
    if (namespace) {
      if (object.kind === 'Namespace') object.metadata.name = namespace;
      else if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = namespace;
    }
    const templates = (POD_TEMPLATE_PATHS[object.kind] ?? [])
      .map((path) => at(object, path))
      .filter((t): t is Json => t !== undefined);
    for (const entry of labels) {
      if (entry.includeSelectors) {
        throw new Error(
          'labels with includeSelectors need kubectl: the built-in renderer lacks it',
        );
      }
      object.metadata.labels = { ...object.metadata.labels, ...entry.pairs };
      if (entry.includeTemplates) {
        for (const template of templates) {
          const metadata = (template.metadata ??= {}) as Json;
          metadata.labels = { ...(metadata.labels as Json | undefined), ...entry.pairs };
        }
      }
    }
    for (const template of templates) {
      const spec = template.spec as Json | undefined;
      for (const list of ['initContainers', 'containers']) {
        for (const container of (spec?.[list] as Json[] | undefined) ?? []) {
          container.image = retag(container.image as string, images);
        }
      }
    }
  }
  return objects;
}

function retag(image: string, images: ImageEntry[]): string {
  for (const entry of images) {
    const match = /^(.*?)([:@].*)?$/.exec(image);
    if (!match || match[1] !== entry.name) continue;
    const name = entry.newName ?? entry.name;
    if (entry.digest) return `${name}@${entry.digest}`;
    if (entry.newTag) return `${name}:${entry.newTag}`;
    return `${name}${match[2] ?? ''}`;
  }
  return image;
}

/** `kubectl kustomize dir`, or null when kubectl is not installed. Throws if kubectl fails. */
export function renderWithKubectl(dir: string): K8sObject[] | null {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  if (result.status !== 0) {
    throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr || String(result.error)}`);
  }
  return parseYamlStream(result.stdout, 'kubectl kustomize');
}

/** The rendering CI checks: kubectl's when it is installed, else the built-in one. */
export function renderKustomization(dir: string): Rendering {
  const builtIn = renderBuiltIn(dir);
  const kubectl = renderWithKubectl(dir);
  return kubectl
    ? { objects: kubectl, renderer: 'kubectl kustomize', builtIn }
    : { objects: builtIn, renderer: 'built-in', builtIn };
}

/** `Kind/name`, the key objects are compared and looked up by. */
export function keyOf(object: K8sObject): string {
  return `${object.kind}/${object.metadata.name}`;
}
