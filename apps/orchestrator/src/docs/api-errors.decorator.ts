import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorBodyDto } from '../common/error-body.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; `details` lists each problem',
  401: 'Missing, invalid or expired bearer token (or, on the webhook route, signature)',
  403: 'The token’s role is too weak for this action',
  404: 'No such resource',
  409: 'Duplicate delivery (replay guard)',
  413: 'Body larger than the limit',
  429: 'Rate limited; see Retry-After',
  503: 'A dependency (PostgreSQL) is unavailable',
};

/** Documents error responses in the common error format. */
export function ApiErrors(...statuses: number[]): MethodDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorBodyDto }),
    ),
  );
}
