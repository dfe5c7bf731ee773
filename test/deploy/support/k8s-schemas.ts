import { join } from 'node:path';
import ts from 'typescript';
import type { K8sObject } from './kustomize';

const ROOT = join(__dirname, '../../..');

/** API group/version → the `kubernetes-types` module that types it. */
const TYPE_MODULES: Record<string, string> = {
  v1: 'kubernetes-types/core/v1',
  'apps/v1': 'kubernetes-types/apps/v1',
  'batch/v1': 'kubernetes-types/batch/v1',
  'policy/v1': 'kubernetes-types/policy/v1',
  'autoscaling/v2': 'kubernetes-types/autoscaling/v2',
  'networking.k8s.io/v1': 'kubernetes-types/networking/v1',
};

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

/**
 * Validates an object against the Kubernetes OpenAPI schema through its `kubernetes-models`
 * class (types, required fields, enums, formats). Throws naming the object and the problem.
 */
export function validateWithModels(object: K8sObject): void {
  // The package is laid out by API group and version, e.g. kubernetes-models/apps/v1.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const group = require(`kubernetes-models/${object.apiVersion}`) as Record<string, unknown>;
  const Model = group[object.kind] as ModelClass | undefined;
  if (typeof Model !== 'function') {
    throw new Error(`kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  }
  try {
    new Model(object).validate();
  } catch (error) {
    throw new Error(
      `${object.kind}/${object.metadata.name}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * TypeScript source declaring each object as a constant of its `kubernetes-types` type. Object
 * literals get excess-property checks, so a misspelled field anywhere is a compile error.
 */
export function typedSource(objects: K8sObject[]): string {
  const imports = new Map<string, string>();
  const declarations = objects.map((object, i) => {
    const module = TYPE_MODULES[object.apiVersion];
    if (!module) throw new Error(`no kubernetes-types module for ${object.apiVersion}`);
    const alias = `${object.apiVersion.replace(/[^A-Za-z0-9]/g, '_')}_${object.kind}`;
    imports.set(alias, `import type { ${object.kind} as ${alias} } from '${module}';`);
    return `// ${object.kind}/${object.metadata.name}\nexport const object${i}: ${alias} = ${JSON.stringify(object, null, 2)};`;
  });
  return [...imports.values(), '', ...declarations, ''].join('\n');
}

/** Compiles `source` as if it were a file of this repository; returns tsc's diagnostics. */
export function typeCheck(source: string): string[] {
  const fileName = join(ROOT, 'test/deploy/rendered-manifests.generated.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
    skipLibCheck: false,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, source, languageVersion)
      : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where =
      d.file && d.start !== undefined
        ? `${d.file.fileName === fileName ? 'rendered' : d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: `
        : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
}
