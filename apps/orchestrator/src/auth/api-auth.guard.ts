import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DomainError, ErrorCode } from '@app/domain';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import { AccessClaims, verifyAccessToken } from './access-token';
import { PUBLIC_ROUTE, REQUIRED_ROLE } from './auth.decorators';
import { Role, roleSatisfies } from './role';

declare module 'http' {
  interface IncomingMessage {
    /** The verified caller of an API route. */
    actor?: AccessClaims;
  }
}

/**
 * Every route needs a valid bearer token unless marked @Public(); @RequireRole raises the bar
 * from viewer to operator. Applied globally, so a new route is protected by default.
 */
@Injectable()
export class ApiAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(ORCHESTRATOR_CONFIG) private readonly config: OrchestratorConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    const match =
      typeof header === 'string' ? /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(header.trim()) : null;
    if (!match) throw new DomainError(ErrorCode.Unauthenticated, 'a bearer token is required');
    const claims = verifyAccessToken(this.config.secretKey, match[1]);
    if (!claims) throw new DomainError(ErrorCode.Unauthenticated, 'invalid or expired token');
    const required = this.reflector.getAllAndOverride<Role>(REQUIRED_ROLE, targets) ?? Role.Viewer;
    if (!roleSatisfies(claims.role, required)) {
      throw new DomainError(ErrorCode.Forbidden, `this action needs the ${required} role`);
    }
    req.actor = claims;
    return true;
  }
}
