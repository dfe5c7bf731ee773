import { ApiProperty } from '@nestjs/swagger';
import { Role } from '../role';

export class TokenInfoDto {
  @ApiProperty({ example: 'alice', description: 'The token’s subject' }) subject!: string;
  @ApiProperty({ enum: Role }) role!: Role;
  @ApiProperty({
    format: 'uuid',
    description: 'The token’s id: what POST /api/v1/admin/tokens/revoke takes',
  })
  token_id!: string;
  @ApiProperty({ example: '2024-01-01T10:30:00.000Z', description: 'When the token stops working' })
  expires_at!: string;
}
