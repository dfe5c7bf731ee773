import { Controller, Get, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { decode } from 'jsonwebtoken';
import { DomainError, ErrorCode } from '@app/platform';
import { ApiErrors } from '../docs/api-errors.decorator';
import { TokenInfoDto } from './dto/token-info.dto';

@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/v1/auth')
export class TokenInfoController {
  @Get('whoami')
  @ApiOperation({
    summary: 'The caller’s token: subject, role and expiry',
    description: 'Lets a client (the operator console) check a token and show who is signed in.',
  })
  @ApiOkResponse({ type: TokenInfoDto })
  @ApiErrors(401, 429)
  whoami(@Req() req: Request): TokenInfoDto {
    return tokenInfoOf(req);
  }
}

/** The guard verified the token before this runs; its times are read from the same token. */
function tokenInfoOf(req: Request): TokenInfoDto {
  const actor = req.actor;
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization?.trim() ?? '')?.[1];
  const claims = token === undefined ? null : decode(token, { json: true });
  if (!actor || typeof claims?.exp !== 'number') {
    throw new DomainError(ErrorCode.Unauthenticated, 'a bearer token is required');
  }
  return {
    subject: actor.sub,
    role: actor.role,
    issued_at: typeof claims.iat === 'number' ? new Date(claims.iat * 1000).toISOString() : null,
    expires_at: new Date(claims.exp * 1000).toISOString(),
  };
}
