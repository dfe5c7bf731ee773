import { Body, Controller, HttpCode, Inject, Post, Req, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditType } from '@app/platform';
import { AuditedAction } from '../audit/audited-action';
import { apiValidationPipe } from '../common/validation';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import { ApiErrors } from '../docs/api-errors.decorator';
import { RequireRole } from './auth.decorators';
import { RevokeTokenRequestDto, TokenRevokedDto } from './dto/token-revocation.dto';
import { RevokedTokenRepository } from '@app/persistence';
import { Role } from './role';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('api/v1/admin/tokens')
@UsePipes(apiValidationPipe)
export class TokensController {
  constructor(
    private readonly revoked: RevokedTokenRepository,
    @Inject(ORCHESTRATOR_CONFIG) private readonly config: OrchestratorConfig,
  ) {}

  @Post('revoke')
  @HttpCode(200)
  @RequireRole(Role.Operator)
  @AuditedAction({
    type: AuditType.TokenRevoke,
    target: (req) => `token:${String((req.body as { token_id?: unknown } | undefined)?.token_id)}`,
  })
  @ApiOperation({
    summary: 'Revoke an API token by its id',
    description:
      'Every replica refuses the token from the next request on (401). The id is kept for TOKEN_MAX_TTL, ' +
      'the longest any token can live. Revoking an id again is harmless; ids are not checked against ' +
      'minted tokens (none are stored).',
  })
  @ApiOkResponse({ type: TokenRevokedDto })
  @ApiErrors(400, 401, 403, 413, 429, 503)
  async revoke(@Body() body: RevokeTokenRequestDto, @Req() req: Request): Promise<TokenRevokedDto> {
    const revocation = await this.revoked.revoke(
      body.token_id.toLowerCase(),
      req.actor?.sub ?? 'unknown',
      this.config.tokenMaxTtlSeconds,
    );
    return {
      token_id: revocation.tokenId,
      revoked: true,
      revoked_at: revocation.revokedAt.toISOString(),
      kept_until: revocation.keptUntil.toISOString(),
    };
  }
}
