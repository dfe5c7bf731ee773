import {
  applyDecorators,
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Observable, tap } from 'rxjs';
import {
  AuditDetails,
  AuditEvent,
  AuditOutcome,
  AuditTrail,
  AuditType,
  DomainError,
  ErrorCode,
} from '@app/platform';
import { clientAddressOf } from '../common/request-facts';

const AUDITED_ACTION = 'audit:action';

export interface AuditedActionOptions {
  type: AuditType;
  /** What the action is about: the path id, or something from the result (a new task id). */
  target: (req: Request, result?: unknown) => string | undefined;
  /** Facts of a successful result worth keeping, e.g. the ids of the tasks it created. */
  details?: (result: unknown) => AuditDetails;
}

/**
 * Marks a state-changing operator route: each call is recorded once it ends, with the verified
 * actor and role, the target, the outcome and the correlation id. Forbidden and unauthenticated
 * attempts never reach the handler; the auth guard records those.
 */
export const AuditedAction = (options: AuditedActionOptions): MethodDecorator =>
  applyDecorators(SetMetadata(AUDITED_ACTION, options), UseInterceptors(AuditActionInterceptor));

@Injectable()
export class AuditActionInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly trail: AuditTrail,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<AuditedActionOptions | undefined>(
      AUDITED_ACTION,
      context.getHandler(),
    );
    if (!options) return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    const base: Omit<AuditEvent, 'outcome'> = {
      type: options.type,
      actor: req.actor?.sub ?? null,
      role: req.actor?.role ?? null,
      clientAddress: clientAddressOf(req),
      correlationId: req.correlationId ?? null,
    };
    const force = req.query.force === 'true';
    return next.handle().pipe(
      tap({
        next: (result: unknown) =>
          this.trail.record({
            ...base,
            outcome: 'succeeded',
            target: safely(() => options.target(req, result)),
            details: { force, ...(safely(() => options.details?.(result)) ?? {}) },
          }),
        error: (error: unknown) =>
          this.trail.record({
            ...base,
            outcome: outcomeOf(error),
            target: safely(() => options.target(req)),
            reason: error instanceof DomainError ? error.code : ErrorCode.Internal,
            details: {
              force,
              error: error instanceof DomainError ? error.message : 'internal error',
            },
          }),
      }),
    );
  }
}

function outcomeOf(error: unknown): AuditOutcome {
  if (error instanceof DomainError && error.code === ErrorCode.NotFound) return 'not_found';
  if (error instanceof DomainError && error.code === ErrorCode.InvalidInput) return 'refused';
  return 'failed';
}

/** Describing the action must never turn its answer into an error. */
function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
