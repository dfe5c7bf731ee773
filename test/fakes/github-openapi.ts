import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * GitHub's official OpenAPI description of api.github.com (the `@octokit/openapi` package), as a
 * checker: finds the operation of a request by method and path template, validates its path and
 * query parameters, headers and JSON body, and validates answers against the response schemas.
 * GitHub's own examples in the description are the fakes' starting point for answers.
 */

/** One operation of the description. */
export interface GithubOperationRef {
  method: string;
  /** Path template as in the description, e.g. `/repos/{owner}/{repo}/pulls/{pull_number}`. */
  template: string;
  operationId: string;
}

/** A request as the fake received it. */
export interface CheckedRequest {
  method: string;
  /** Path with query string, GHES `/api/v3` prefix allowed. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, raw text, or undefined when empty. */
  body: unknown;
}

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
}

interface Route {
  ref: GithubOperationRef;
  pattern: RegExp;
  names: string[];
  literals: number;
  operation: Json;
  parameters: Parameter[];
}

const DESCRIPTION = require.resolve('@octokit/openapi/generated/api.github.com.json');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];
const API_VERSION = '2022-11-28';

let loaded: GithubOpenApi | null = null;

/** The description and its validators, loaded once per test file (about a second). */
export class GithubOpenApi {
  private readonly routes: Route[] = [];
  private readonly ajv: Ajv;
  /** Parameters are strings on the wire: integers and booleans are coerced before checking. */
  private readonly paramsAjv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();

  /** The component schemas, `nullable` made readable for Ajv. */
  private readonly schemas: unknown;

  private constructor(private readonly spec: Json) {
    this.schemas = normalizeNullable((spec.components as Json).schemas);
    const options = { strict: false, allErrors: true } as const;
    this.ajv = new Ajv(options);
    this.paramsAjv = new Ajv({ ...options, coerceTypes: true });
    for (const ajv of [this.ajv, this.paramsAjv]) {
      addFormats(ajv);
      // Every `#/components/...` reference resolves against this schema.
      ajv.addSchema({ components: { schemas: this.schemas } }, 'gh');
    }
    const paths = spec.paths as Record<string, Record<string, Json>>;
    for (const [template, item] of Object.entries(paths)) {
      const shared = (item.parameters as unknown as Parameter[] | undefined) ?? [];
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const names: string[] = [];
        const source = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
          names.push(name);
          // A file path may span segments; every other parameter is one segment.
          return name === 'path' ? '(.+)' : '([^/]+)';
        });
        const own = (operation.parameters as Parameter[] | undefined) ?? [];
        this.routes.push({
          ref: {
            method: method.toUpperCase(),
            template,
            operationId: String(operation.operationId),
          },
          pattern: new RegExp(`^${source}$`),
          names,
          literals: template.split('/').filter((s) => s && !s.startsWith('{')).length,
          operation,
          parameters: [...shared, ...own].map((p) => this.deref(p) as Parameter),
        });
      }
    }
    // The most literal template wins (`/app/hook/deliveries` over `/app/{x}/...`).
    this.routes.sort((a, b) => b.literals - a.literals);
  }

  /** The shared instance. */
  static load(): GithubOpenApi {
    loaded ??= new GithubOpenApi(JSON.parse(readFileSync(DESCRIPTION, 'utf8')) as Json);
    return loaded;
  }

  /** The operation for `method` and `pathname` (GHES prefix allowed), or null. */
  find(method: string, pathname: string): (GithubOperationRef & { params: Json }) | null {
    const path = pathname.replace(/^\/api\/v3(?=\/)/, '');
    const route = this.route(method, path);
    if (!route) return null;
    const match = route.pattern.exec(path) as RegExpExecArray;
    const params: Json = {};
    route.names.forEach((name, i) => {
      params[name] = decodeURIComponent(match[i + 1]);
    });
    return { ...route.ref, params };
  }

  /**
   * Everything wrong with a request per the description (and GitHub's REST rules: the API
   * version, media type and User-Agent headers, at most 100 per page). Empty when valid.
   */
  checkRequest(request: CheckedRequest): string[] {
    const url = new URL(request.url, 'http://fake');
    const path = url.pathname.replace(/^\/api\/v3(?=\/)/, '');
    const route = this.route(request.method, path);
    if (!route) return [`no operation ${request.method} ${path} in GitHub's description`];
    const problems: string[] = [];
    const where = `${route.ref.method} ${route.ref.template}`;
    const headers = request.headers;
    if (headers.accept !== 'application/vnd.github+json')
      problems.push(
        `${where}: Accept is ${String(headers.accept)}, not application/vnd.github+json`,
      );
    if (headers['x-github-api-version'] !== API_VERSION)
      problems.push(`${where}: X-GitHub-Api-Version is not ${API_VERSION}`);
    if (!headers['user-agent']) problems.push(`${where}: no User-Agent`);

    const match = route.pattern.exec(path) as RegExpExecArray;
    const pathValues: Json = {};
    route.names.forEach((name, i) => {
      pathValues[name] = decodeURIComponent(match[i + 1]);
    });
    problems.push(...this.checkParams(where, route, 'path', pathValues));
    const query: Json = {};
    for (const [key, value] of url.searchParams) {
      if (key in query) problems.push(`${where}: query parameter ${key} given twice`);
      query[key] = value;
    }
    problems.push(...this.checkParams(where, route, 'query', query));
    const perPage = url.searchParams.get('per_page');
    if (perPage !== null && Number(perPage) > 100)
      problems.push(`${where}: per_page ${perPage} is over 100`);

    const requestBody = this.deref(route.operation.requestBody) as Json | undefined;
    const schema = (requestBody?.content as Record<string, Json> | undefined)?.['application/json']
      ?.schema as Json | undefined;
    if (request.body === undefined) {
      if (requestBody?.required === true) problems.push(`${where}: the body is missing`);
    } else if (!schema) {
      problems.push(`${where}: takes no body, got one`);
    } else {
      if (typeof request.body === 'string') problems.push(`${where}: the body is not JSON`);
      else {
        if (headers['content-type'] !== 'application/json')
          problems.push(`${where}: Content-Type is ${String(headers['content-type'])}`);
        const validate = this.validator(`${where} body`, schema, this.ajv);
        if (!validate(request.body)) problems.push(...errors(`${where} body`, validate));
      }
    }
    return problems;
  }

  /**
   * Everything wrong with an answer per the operation's response schema; empty when valid. An
   * error status the operation does not list (401 can come from any) is not judged; an
   * unlisted success is wrong.
   */
  checkResponse(method: string, template: string, status: number, body: unknown): string[] {
    const schema = this.responseSchema(method, template, status);
    const where = `${method.toUpperCase()} ${template} ${status}`;
    if (schema === undefined)
      return status >= 400 ? [] : [`${where}: no such answer in GitHub's description`];
    if (schema === null) return [];
    const validate = this.validator(`${where} response`, schema, this.ajv);
    return validate(body) ? [] : errors(`${where} answer`, validate);
  }

  /** GitHub's own example of an answer (a fresh copy), or undefined when it has none. */
  example(method: string, template: string, status: number, name?: string): unknown {
    const content = this.responseContent(method, template, status);
    const examples = content?.examples as Record<string, Json> | undefined;
    if (!examples) return undefined;
    const chosen = name ? examples[name] : Object.values(examples)[0];
    const value = (this.deref(chosen) as Json | undefined)?.value;
    return value === undefined ? undefined : structuredClone(value);
  }

  /**
   * Compiles the validators of these operations now (a second or two for the large schemas), so
   * that the first request a fake receives is answered as fast as any other.
   */
  prepare(operations: ReadonlyArray<readonly [method: string, template: string]>): void {
    for (const [method, template] of operations) {
      const route = this.routes.find(
        (r) => r.ref.method === method.toUpperCase() && r.ref.template === template,
      );
      if (!route) throw new Error(`no operation ${method} ${template} in GitHub's description`);
      const where = `${route.ref.method} ${route.ref.template}`;
      this.checkParams(where, route, 'path', {});
      this.checkParams(where, route, 'query', {});
      for (const status of Object.keys(route.operation.responses as Json)) {
        const schema = /^\d{3}$/.test(status)
          ? this.responseSchema(method, template, Number(status))
          : null;
        if (schema) this.validator(`${where} ${status} response`, schema, this.ajv);
      }
    }
  }

  /** Every operation with its documented statuses (for the contract test). */
  operations(): Array<GithubOperationRef & { statuses: number[] }> {
    return this.routes.map((route) => ({
      ...route.ref,
      statuses: Object.keys(route.operation.responses as Json)
        .filter((s) => /^\d{3}$/.test(s))
        .map(Number),
    }));
  }

  private route(method: string, path: string): Route | undefined {
    const upper = method.toUpperCase();
    return this.routes.find((r) => r.ref.method === upper && r.pattern.test(path));
  }

  private checkParams(where: string, route: Route, location: 'path' | 'query', values: Json) {
    const declared = route.parameters.filter((p) => p.in === location);
    const schema = {
      type: 'object',
      properties: Object.fromEntries(declared.map((p) => [p.name, rewriteRefs(p.schema ?? {})])),
      required: declared.filter((p) => p.required).map((p) => p.name),
      additionalProperties: false,
    };
    const validate = this.validator(`${where} ${location}`, schema, this.paramsAjv);
    // Coercion writes into the object: check a copy.
    return validate({ ...values }) ? [] : errors(`${where} ${location} parameters`, validate);
  }

  /** The JSON schema of an answer; null for a documented answer without a body. */
  private responseSchema(
    method: string,
    template: string,
    status: number,
  ): Json | null | undefined {
    const responses = this.operation(method, template)?.responses as Json | undefined;
    if (!responses || !(String(status) in responses)) return undefined;
    const content = this.responseContent(method, template, status);
    return (content?.schema as Json | undefined) ?? null;
  }

  private responseContent(method: string, template: string, status: number): Json | undefined {
    const responses = this.operation(method, template)?.responses as Json | undefined;
    const response = this.deref(responses?.[String(status)]) as Json | undefined;
    return (response?.content as Record<string, Json> | undefined)?.['application/json'];
  }

  private operation(method: string, template: string): Json | undefined {
    const paths = this.spec.paths as Record<string, Record<string, Json>>;
    return paths[template]?.[method.toLowerCase()];
  }

  private validator(key: string, schema: Json, ajv: Ajv): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = ajv.compile(normalizeNullable(rewriteRefs(schema)) as Json);
      this.validators.set(key, validate);
    }
    return validate;
  }

  /** Follows a local `$ref` (parameters, responses, examples). */
  private deref(value: unknown): unknown {
    let current = value;
    for (let depth = 0; depth < 10; depth++) {
      const ref = (current as Json | undefined)?.$ref;
      if (typeof ref !== 'string' || !ref.startsWith('#/')) return current;
      current = ref
        .slice(2)
        .split('/')
        .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], this.spec);
    }
    return current;
  }
}

function errors(where: string, validate: ValidateFunction): string[] {
  return (validate.errors ?? [])
    .slice(0, 10)
    .map(
      (e) =>
        `${where}: ${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    );
}

/** Points `#/components/...` references at the description added to Ajv as `gh`. */
function rewriteRefs<T>(schema: T): T {
  return JSON.parse(
    JSON.stringify(schema).replace(/"\$ref":"#\/components\//g, '"$ref":"gh#/components/'),
  ) as T;
}

/**
 * OpenAPI 3.0's `nullable` next to `allOf`/`anyOf`/`oneOf`/`$ref` without a `type` (which Ajv
 * refuses) becomes `anyOf: [schema, {type: null}]`; with a `type` Ajv reads it as is.
 */
function normalizeNullable(schema: unknown): unknown {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [key, value] of Object.entries(node as Json)) {
      // Examples are data, not schemas.
      out[key] = key === 'examples' || key === 'example' ? value : walk(value);
    }
    if (out.nullable === true && out.type === undefined) {
      const { nullable: _nullable, ...rest } = out;
      return { anyOf: [rest, { type: 'null' }] };
    }
    if (out.nullable === true && Array.isArray(out.enum) && !out.enum.includes(null)) {
      out.enum = [...(out.enum as unknown[]), null];
    }
    return out;
  };
  return walk(schema);
}

/**
 * GitHub's own example of the answer of `method template` with `status` (a fresh copy each
 * time), as an object; throws when the description has none (a fake answer needs a start).
 */
export function githubExample(
  method: string,
  template: string,
  status: number,
  name?: string,
): Record<string, unknown> {
  const value = GithubOpenApi.load().example(method, template, status, name);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(
      `GitHub's description has no object example for ${method} ${template} ${status}`,
    );
  }
  return value as Record<string, unknown>;
}

/** The first item of GitHub's example of a list answer (a fresh copy each time). */
export function githubListExample(
  method: string,
  template: string,
  status: number,
): Record<string, unknown> {
  const value = GithubOpenApi.load().example(method, template, status);
  const first: unknown = Array.isArray(value) ? value[0] : undefined;
  if (first === null || typeof first !== 'object') {
    throw new Error(`GitHub's description has no list example for ${method} ${template} ${status}`);
  }
  return first as Record<string, unknown>;
}
