import { Controller, Get, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { DomainError, ErrorCode } from '@app/platform';
import { ApiErrors } from '../docs/api-errors.decorator';
import { TokenInfoDto } from './dto/token-info.dto';

@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/v1/auth')
export class TokenInfoController {
  @Get('whoami')
  @ApiOperation({
    summary: 'The caller’s token: subject, role, id and expiry',
    description: 'Lets a client (the operator console) check a token and show who is signed in.',
  })
  @ApiOkResponse({ type: TokenInfoDto })
  @ApiErrors(401, 429, 503)
  whoami(@Req() req: Request): TokenInfoDto {
    return tokenInfoOf(req);
  }
}

/** What the guard verified about the caller's token. */
function tokenInfoOf(req: Request): TokenInfoDto {
  const actor = req.actor;
  if (!actor) throw new DomainError(ErrorCode.Unauthenticated, 'a bearer token is required');
  return {
    subject: actor.sub,
    role: actor.role,
    token_id: actor.jti,
    expires_at: new Date(actor.exp * 1000).toISOString(),
  };
}
