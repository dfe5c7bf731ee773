import { applyDecorators } from '@nestjs/common';
import { ApiResponse, type OpenAPIObject } from '@nestjs/swagger';
import { ErrorBodyDto } from '../common/error-body.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; `details` lists each problem',
  401: 'Missing, invalid or expired bearer token (or, on the webhook route, signature)',
  403: 'The token’s role is too weak for this action',
  404: 'No such resource',
  409: 'Duplicate delivery (replay guard)',
  413: 'Body larger than the limit',
  429: 'Rate limited; see Retry-After',
  503: 'A dependency (PostgreSQL) is unavailable; see Retry-After',
};

/** What the API answers for each status, as it answers it (the path is filled in per route). */
const EXAMPLES: Record<number, { error: string; details?: string[] }> = {
  400: { error: 'invalid request', details: ['limit must not be greater than 1000'] },
  401: { error: 'a bearer token is required' },
  403: { error: 'this action needs the operator role' },
  404: { error: 'task 6f1c7a52-1f0e-4f65-9d7e-1b1a6c0e8a11 not found' },
  409: { error: 'delivery 72d3162e-cc78-11e3-81ab-4c9367dc0958 was already received' },
  413: { error: 'request body too large' },
  429: { error: 'too many requests' },
  503: { error: 'storage unavailable' },
};

/** A status with its own example message, for a route whose answer differs from the common one. */
export interface ErrorExample {
  status: number;
  error: string;
  details?: string[];
  description?: string;
}

/** Stands in for the route's path in the examples until buildOpenApiDocument fills it in. */
export const ROUTE_PATH = '{route}';
const CORRELATION_ID = '6f1c7a52-1f0e-4f65-9d7e-1b1a6c0e8a11';

/**
 * Documents error responses in the common error format, each status with an example body of its
 * own (a 401 shows a 401's message, not the 400 body's), so "Try it out" users and client authors
 * see what each answer looks like.
 */
export function ApiErrors(...statuses: Array<number | ErrorExample>): MethodDecorator {
  return applyDecorators(
    ...statuses.map((entry) => {
      const given = typeof entry === 'number' ? { status: entry } : entry;
      const { error, details } = 'error' in given ? given : EXAMPLES[given.status];
      return ApiResponse({
        status: given.status,
        description:
          ('description' in given ? given.description : undefined) ?? DESCRIPTIONS[given.status],
        type: ErrorBodyDto,
        example: {
          error,
          status_code: given.status,
          path: ROUTE_PATH,
          correlation_id: CORRELATION_ID,
          ...(details ? { details } : {}),
        },
      });
    }),
  );
}

/** Puts each operation's own path into its error examples (`/api/v1/tasks/{task_id}`). */
export function fillErrorExamplePaths(document: OpenAPIObject): OpenAPIObject {
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const operation of Object.values(operations as Record<string, unknown>)) {
      const responses = (operation as { responses?: Record<string, unknown> } | null)?.responses;
      for (const response of Object.values(responses ?? {})) {
        const content = (response as { content?: Record<string, { example?: unknown }> }).content;
        for (const media of Object.values(content ?? {})) {
          const example = media.example as { path?: unknown } | undefined;
          if (example && example.path === ROUTE_PATH) example.path = path;
        }
      }
    }
  }
  return document;
}
