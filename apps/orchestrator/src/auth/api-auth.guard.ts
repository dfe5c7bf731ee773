import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AuditTrail, AuditType, DomainError, ErrorCode, LOGGER } from '@app/platform';
import type { Logger } from 'winston';
import { clientAddressOf, routeOf } from '../common/request-facts';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import { AccessClaims, inspectAccessToken, TokenPolicy } from './access-token';
import { PUBLIC_ROUTE, REQUIRED_ROLE } from './auth.decorators';
import { RevokedTokenRepository } from '@app/persistence';
import { Role, roleSatisfies } from './role';

declare module 'http' {
  interface IncomingMessage {
    /** The verified caller of an API route. */
    actor?: AccessClaims;
  }
}

/**
 * Every route needs a valid bearer token unless marked @Public(); @RequireRole raises the bar
 * from viewer to operator. Applied globally, so a new route is protected by default. A token
 * must name this deployment's audience, live no longer than TOKEN_MAX_TTL, and its id must not
 * be revoked (read from PostgreSQL on each request, so a revocation holds on every replica at
 * once).
 */
@Injectable()
export class ApiAuthGuard implements CanActivate {
  private readonly policy: TokenPolicy;

  constructor(
    private readonly reflector: Reflector,
    @Inject(ORCHESTRATOR_CONFIG) config: OrchestratorConfig,
    private readonly audit: AuditTrail,
    private readonly revoked: RevokedTokenRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.policy = {
      secret: config.secretKey,
      audience: config.tokenAudience,
      maxTtlSeconds: config.tokenMaxTtlSeconds,
    };
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    const match =
      typeof header === 'string' ? /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(header.trim()) : null;
    if (!match) {
      this.refused(req, AuditType.ApiAuthFailure, header === undefined ? 'missing' : 'malformed');
      throw new DomainError(ErrorCode.Unauthenticated, 'a bearer token is required');
    }
    const check = inspectAccessToken(this.policy, match[1]);
    if (!check.ok) {
      this.refused(req, AuditType.ApiAuthFailure, check.reason, { sub: check.subject });
      throw new DomainError(ErrorCode.Unauthenticated, 'invalid or expired token');
    }
    const claims = check.claims;
    if (await this.isRevoked(claims.jti)) {
      this.refused(req, AuditType.ApiAuthFailure, 'revoked', claims);
      throw new DomainError(ErrorCode.Unauthenticated, 'token revoked');
    }
    const required = this.reflector.getAllAndOverride<Role>(REQUIRED_ROLE, targets) ?? Role.Viewer;
    if (!roleSatisfies(claims.role, required)) {
      this.refused(req, AuditType.ApiForbidden, `needs_${required}`, claims);
      throw new DomainError(ErrorCode.Forbidden, `this action needs the ${required} role`);
    }
    req.actor = claims;
    return true;
  }

  /** Unknown is not "not revoked": without PostgreSQL the answer is 503, never a pass. */
  private async isRevoked(tokenId: string): Promise<boolean> {
    try {
      return await this.revoked.isRevoked(tokenId);
    } catch (error) {
      this.logger.error('could not check token revocation', { error: String(error) });
      throw new DomainError(ErrorCode.Unavailable, 'storage unavailable', [], 5);
    }
  }

  private refused(
    req: Request,
    type: AuditType,
    reason: string,
    actor: { sub?: string; role?: string } = {},
  ): void {
    this.audit.record({
      type,
      outcome: 'denied',
      reason,
      actor: actor.sub ?? null,
      role: actor.role ?? null,
      clientAddress: clientAddressOf(req),
      target: routeOf(req),
      correlationId: req.correlationId ?? null,
    });
  }
}
