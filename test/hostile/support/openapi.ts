import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** The parts of an OpenAPI 3.0 document the suite reads. */
export type Schema = Record<string, unknown>;

export interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

interface MediaTypes {
  content?: Record<string, { schema?: Schema }>;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: MediaTypes & { required?: boolean };
  responses: Record<string, MediaTypes>;
  security?: Array<Record<string, string[]>>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes?: Record<string, unknown> };
  security?: Array<Record<string, string[]>>;
}

/** One documented operation, as the generators and the checks need it. */
export interface ApiOperation {
  id: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The templated path, `/api/v1/tasks/{task_id}`. */
  path: string;
  pathParams: Parameter[];
  queryParams: Parameter[];
  bodySchema: Schema | undefined;
  /** Every documented status. */
  statuses: Set<number>;
  /** Needs a bearer token (a 401 without one). */
  bearer: boolean;
  /** Documents a 403: a viewer token is too weak. */
  operatorOnly: boolean;
}

const DOC_ID = 'openapi.json';
const REF_PREFIX = '#/components/schemas/';

/**
 * Validates bodies against the document's own schemas: `$ref`s resolve to components.schemas,
 * OpenAPI's `nullable` is understood, `example` and `description` are annotations.
 */
export class ResponseSchemas {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly doc: OpenApiDocument) {
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: DOC_ID, components: { schemas: doc.components.schemas } });
  }

  /** The validator of one response (status) of one operation; undefined when it has no schema. */
  forResponse(op: ApiOperation, status: number): ValidateFunction | undefined {
    const key = `${op.id} ${status}`;
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const media = this.operation(op).responses[String(status)]?.content;
    const schema = media?.['application/json']?.schema;
    if (!schema) return undefined;
    const validate = this.ajv.compile(absoluteRefs(schema) as Schema);
    this.compiled.set(key, validate);
    return validate;
  }

  /** The documented error body `{error, status_code, path, correlation_id, details?}`. */
  errorBody(): ValidateFunction {
    const cached = this.compiled.get('error body');
    if (cached) return cached;
    const validate = this.ajv.compile({ $ref: `${DOC_ID}${REF_PREFIX}ErrorBodyDto` });
    this.compiled.set('error body', validate);
    return validate;
  }

  errorsText(validate: ValidateFunction): string {
    return this.ajv.errorsText(validate.errors, { separator: '; ' });
  }

  private operation(op: ApiOperation): Operation {
    return this.doc.paths[op.path][op.method.toLowerCase()];
  }
}

function absoluteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(absoluteRefs);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === '$ref' && typeof v === 'string' && v.startsWith(REF_PREFIX)
        ? `${DOC_ID}${v}`
        : absoluteRefs(v);
  }
  return out;
}

/** Resolves a `$ref` to components.schemas (one level is all the request schemas use). */
export function resolveSchema(
  doc: OpenApiDocument,
  schema: Schema | undefined,
): Schema | undefined {
  const ref = schema?.$ref;
  if (typeof ref === 'string' && ref.startsWith(REF_PREFIX)) {
    return resolveSchema(doc, doc.components.schemas[ref.slice(REF_PREFIX.length)]);
  }
  return schema;
}

/** The operations of the document, minus those excluded (the webhook has its own suite). */
export function operationsOf(
  doc: OpenApiDocument,
  include: (path: string) => boolean,
): ApiOperation[] {
  const ops: ApiOperation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!include(path)) continue;
    for (const [method, op] of Object.entries(methods)) {
      const security = op.security ?? doc.security ?? [];
      const params = op.parameters ?? [];
      const statuses = new Set(Object.keys(op.responses).map(Number));
      ops.push({
        id: op.operationId,
        method: method.toUpperCase() as ApiOperation['method'],
        path,
        pathParams: params.filter((p) => p.in === 'path'),
        queryParams: params.filter((p) => p.in === 'query'),
        bodySchema: resolveSchema(doc, op.requestBody?.content?.['application/json']?.schema),
        statuses,
        bearer: security.some((s) => 'bearer' in s),
        operatorOnly: statuses.has(403),
      });
    }
  }
  return ops;
}
