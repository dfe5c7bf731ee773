import { ApiProperty } from '@nestjs/swagger';
import { Role } from '../role';

export class TokenInfoDto {
  @ApiProperty({ example: 'alice', description: 'The token’s subject' }) subject!: string;
  @ApiProperty({ enum: Role }) role!: Role;
  @ApiProperty({ nullable: true, type: String, description: 'When the token was minted' })
  issued_at!: string | null;
  @ApiProperty({ example: '2024-01-01T10:30:00.000Z', description: 'When the token stops working' })
  expires_at!: string;
}
