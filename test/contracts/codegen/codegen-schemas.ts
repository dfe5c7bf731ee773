import Ajv, { ValidateFunction } from 'ajv';

/**
 * JSON schemas of the parts of Codegen's published API description (its `openapi3.json`) the
 * service uses, written from the published facts: `AgentRunResponse`, `CreateAgentRunInput`, the
 * runs and repositories pages, the error bodies. The Codegen fake validates what it receives and
 * what it sends against these; the contract tests validate the client's requests with them.
 */

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });

export const SOURCE_TYPES = [
  'LOCAL',
  'SLACK',
  'GITHUB',
  'GITHUB_CHECK_SUITE',
  'GITHUB_PR_REVIEW',
  'LINEAR',
  'API',
  'CHAT',
  'JIRA',
  'CLICKUP',
  'MONDAY',
  'SETUP_COMMANDS',
] as const;

/** `github_pull_requests[]`: there is no `number` field. */
export const githubPullRequestSchema = {
  type: 'object',
  required: ['id', 'created_at'],
  properties: {
    id: { type: 'integer' },
    created_at: { type: 'string' },
    title: nullable({ type: 'string' }),
    url: nullable({ type: 'string' }),
    head_branch_name: nullable({ type: 'string' }),
  },
  not: { required: ['number'] },
} as const;

/** `AgentRunResponse`: only `id` and `organization_id` are required; every other field is nullable. */
export const agentRunResponseSchema = {
  $id: 'AgentRunResponse',
  type: 'object',
  required: ['id', 'organization_id'],
  properties: {
    id: { type: 'integer' },
    organization_id: { type: 'integer' },
    // Published as a free string.
    status: nullable({ type: 'string' }),
    created_at: nullable({ type: 'string' }),
    web_url: nullable({ type: 'string' }),
    result: nullable({ type: 'string' }),
    summary: nullable({ type: 'string' }),
    source_type: nullable({ enum: [...SOURCE_TYPES] }),
    github_pull_requests: nullable({ type: 'array', items: githubPullRequestSchema }),
    metadata: nullable({ type: 'object' }),
  },
} as const;

/**
 * `CreateAgentRunInput`. Codegen ignores unknown fields; this schema refuses them, so a misspelt
 * field (which Codegen would silently drop) fails the test that sent it.
 */
export const createAgentRunInputSchema = {
  $id: 'CreateAgentRunInput',
  type: 'object',
  required: ['prompt'],
  additionalProperties: false,
  properties: {
    prompt: { type: 'string' },
    images: nullable({ type: 'array', items: { type: 'string' } }),
    metadata: nullable({ type: 'object' }),
    repo_id: nullable({ type: 'integer' }),
    model: nullable({ type: 'string' }),
    agent_type: nullable({ enum: ['codegen', 'claude_code'] }),
  },
} as const;

/** Body of `POST .../agent/run/remove-from-pr` and `.../ban`. */
export const agentRunIdInputSchema = {
  $id: 'AgentRunIdInput',
  type: 'object',
  required: ['agent_run_id'],
  properties: { agent_run_id: { type: 'integer' } },
} as const;

/** Body of `POST .../agent/run/resume`. */
export const resumeAgentRunInputSchema = {
  $id: 'ResumeAgentRunInput',
  type: 'object',
  required: ['agent_run_id', 'prompt'],
  properties: {
    agent_run_id: { type: 'integer' },
    prompt: { type: 'string' },
    images: nullable({ type: 'array', items: { type: 'string' } }),
  },
} as const;

const page = (id: string, items: Record<string, unknown>) => ({
  $id: id,
  type: 'object',
  required: ['items', 'total', 'page', 'size', 'pages'],
  properties: {
    items: { type: 'array', items },
    total: { type: 'integer' },
    page: { type: 'integer' },
    size: { type: 'integer' },
    pages: { type: 'integer' },
  },
});

export const agentRunsPageSchema = page('AgentRunsPage', agentRunResponseSchema);

export const repositorySchema = {
  type: 'object',
  required: ['id', 'name', 'full_name'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    full_name: { type: 'string' },
    github_id: nullable({ type: ['integer', 'string'] }),
    organization_id: { type: 'integer' },
    visibility: nullable({ type: 'string' }),
    archived: nullable({ type: 'boolean' }),
    setup_status: nullable({ type: 'string' }),
    language: nullable({ type: 'string' }),
    description: nullable({ type: 'string' }),
  },
} as const;

export const repositoriesPageSchema = page('RepositoriesPage', repositorySchema);

/** 402, 403, 404, 429 (and the fake's 401). */
export const errorBodySchema = {
  $id: 'ErrorBody',
  type: 'object',
  required: ['message', 'status_code'],
  properties: { message: { type: 'string' }, status_code: { type: 'integer' } },
} as const;

/** FastAPI's 422. */
export const validationErrorSchema = {
  $id: 'HTTPValidationError',
  type: 'object',
  required: ['detail'],
  properties: {
    detail: {
      type: 'array',
      items: {
        type: 'object',
        required: ['loc', 'msg', 'type'],
        properties: {
          loc: { type: 'array', items: { type: ['string', 'integer'] } },
          msg: { type: 'string' },
          type: { type: 'string' },
        },
      },
    },
  },
} as const;

/** Names of the schemas {@link codegenContract} checks against. */
export type CodegenSchemaName =
  | 'AgentRunResponse'
  | 'CreateAgentRunInput'
  | 'AgentRunIdInput'
  | 'ResumeAgentRunInput'
  | 'AgentRunsPage'
  | 'RepositoriesPage'
  | 'ErrorBody'
  | 'HTTPValidationError';

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<CodegenSchemaName, ValidateFunction>();
for (const schema of [
  agentRunResponseSchema,
  createAgentRunInputSchema,
  agentRunIdInputSchema,
  resumeAgentRunInputSchema,
  agentRunsPageSchema,
  repositoriesPageSchema,
  errorBodySchema,
  validationErrorSchema,
]) {
  validators.set(schema.$id as CodegenSchemaName, ajv.compile(schema));
}

/** Checks `value` against a published schema; returns the problems (empty when it matches). */
export function codegenContract(name: CodegenSchemaName, value: unknown): string[] {
  const validate = validators.get(name);
  if (!validate) throw new Error(`no schema ${name}`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (e) => `${name}${e.instancePath || ''} ${e.message ?? 'is invalid'}`,
  );
}
