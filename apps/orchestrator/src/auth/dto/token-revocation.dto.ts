import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

export class RevokeTokenRequestDto {
  @ApiProperty({
    description: 'The id (`jti`) of the token to refuse; `npm run token` prints it',
    example: '3f0f7c1e-2a4b-4c6d-8e9f-0a1b2c3d4e5f',
  })
  @Matches(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
    message: 'token_id must be a token id (a uuid)',
  })
  token_id!: string;
}

export class TokenRevokedDto {
  @ApiProperty({ example: '3f0f7c1e-2a4b-4c6d-8e9f-0a1b2c3d4e5f' }) token_id!: string;
  @ApiProperty({ example: true }) revoked!: boolean;
  @ApiProperty({ description: 'When the id was first revoked' }) revoked_at!: string;
  @ApiProperty({
    description: 'Until when the id is refused: the longest a token with it could still live',
  })
  kept_until!: string;
}
